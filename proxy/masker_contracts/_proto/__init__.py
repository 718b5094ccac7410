"""Generated protobuf modules (``scripts/gen_proto.sh``); gitignored, never edited by hand."""
