"""``masker audit verify <dir-or-files>``: check an audit log's HMAC chain from the command line.

Exit codes: 0 chain intact, 1 tampering or damage found (the first bad file:line is printed),
2 usage or key error. Output names files, line numbers, seq numbers and request ids only, never
record contents, so it can be pasted into a ticket. Imports nothing heavier than the stdlib.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from .audit import HEAD_FILE, audit_files, chain_directories, load_hmac_key, verify_paths

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="masker audit", description="Audit log tools.")
    sub = parser.add_subparsers(dest="command", required=True)
    verify = sub.add_parser("verify", help="verify the HMAC chain of audit files or directories")
    verify.add_argument("paths", nargs="+", type=Path, help="audit directories and/or audit-*.jsonl files")
    verify.add_argument(
        "--key-env",
        default="MASKER_AUDIT_HMAC_KEY",
        help="environment variable holding the base64 key (default: MASKER_AUDIT_HMAC_KEY)",
    )
    verify.add_argument("--key-file", type=Path, help="file holding the base64 key (wins over --key-env)")
    verify.add_argument(
        "--partial",
        action="store_true",
        help="accept a chain that starts after seq 0 (older files removed by retention)",
    )
    return parser


def _key(args: argparse.Namespace) -> bytes:
    if args.key_file is not None:
        raw = args.key_file.read_text()
    else:
        raw = os.environ.get(args.key_env, "")
        if not raw:
            raise ValueError(f"{args.key_env} is not set")
    return load_hmac_key(raw)


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    try:
        args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    except SystemExit as exc:  # argparse exits 2 on usage errors, 0 on --help
        return int(exc.code or 0)
    try:
        key = _key(args)
    except (OSError, ValueError) as exc:
        print(f"masker audit: {exc}", file=sys.stderr)
        return 2
    missing = [str(p) for p in args.paths if not p.exists()]
    if missing:
        print(f"masker audit: no such file or directory: {', '.join(missing)}", file=sys.stderr)
        return 2
    # A directory holds one chain per writer process (``writer-N`` beside the first); files given
    # one by one are a single chain.
    files = [p for p in args.paths if not p.is_dir()]
    chains = [[d] for p in args.paths if p.is_dir() for d in chain_directories(p) if _has_records(d)]
    if files:
        chains.append(files)
    if not chains:
        print("FAIL: no audit records found", file=sys.stderr)
        return 1
    for chain in chains:
        report = verify_paths(chain, key, partial=args.partial)
        if report.failure is not None:
            f = report.failure
            rid = f" request_id={f.request_id}" if f.request_id else ""
            print(f"FAIL {f.path}:{f.line}: {f.reason}{rid}")
            print(
                f"  {report.records} record(s) verified before the failure, last good seq={report.last_seq}"
            )
            return 1
        if report.records == 0:
            print("FAIL: no audit records found", file=sys.stderr)
            return 1
        where = f" ({chain[0]})" if len(chains) > 1 else ""
        print(
            f"OK {report.records} record(s) in {report.files} file(s), chain intact, "
            f"last seq={report.last_seq}{where}"
        )
    return 0


def _has_records(directory: Path) -> bool:
    return bool(audit_files(directory)) or (directory / HEAD_FILE).exists()


if __name__ == "__main__":
    raise SystemExit(main())
