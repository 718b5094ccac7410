"""``python -m masker_ner serve ...``: the same as ``masker ner serve ...``."""

from masker_ner.cli import main

raise SystemExit(main())
