"""Build the compact given-name and family-name lexicon shipped as package data.

The source is the ``names-dataset`` wheel (pinned below; Apache-2.0): given and family names of 100+
countries with a popularity rank per country. Loading it takes ~13 s and ~2 GB, so the proxy ships
only what recognizers need: every single-word name ranked in the top ``--top`` of any country,
case-folded, one per line, gzipped. Run once when the pin changes; the output is deterministic.

Usage: pip download names-dataset==3.3.1 --no-deps -d /tmp/nd && \
       python scripts/build_name_lexicon.py /tmp/nd/names_dataset-3.3.1-py3-none-any.whl
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import pickle
import sys
import zipfile
from pathlib import Path

PINNED_SHA256 = "9fb1b60a82de8bea004e7755b6133df0b4a029f93b9ee18bfa37f356f2b8c75e"
OUT_DIR = Path(__file__).resolve().parents[1] / "proxy" / "masker" / "detect" / "data"


def _names(wheel: zipfile.ZipFile, member: str, top: int) -> list[str]:
    with wheel.open(member) as raw:
        table = pickle.load(gzip.GzipFile(fileobj=io.BytesIO(raw.read())))
    out: set[str] = set()
    for name, attrs in table.items():
        ranks = attrs.get("rank") or {}
        if not ranks or min(ranks.values()) > top:
            continue
        word = name.strip().casefold()
        if len(word) < 2 or " " in word or not word.replace("-", "").replace("'", "").isalpha():
            continue
        out.add(word)
    return sorted(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("wheel", type=Path)
    ap.add_argument("--top", type=int, default=1000, help="keep names ranked at most this in a country")
    args = ap.parse_args(argv)
    data = args.wheel.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if digest != PINNED_SHA256:
        print(f"unexpected wheel (sha256 {digest})", file=sys.stderr)
        return 1
    with zipfile.ZipFile(io.BytesIO(data)) as wheel:
        for member, out in (
            ("names_dataset/v3/first_names.pkl.gz", "given_names.txt.gz"),
            ("names_dataset/v3/last_names.pkl.gz", "family_names.txt.gz"),
        ):
            names = _names(wheel, member, args.top)
            body = ("\n".join(names) + "\n").encode()
            # mtime=0: the same input gives the same bytes
            with open(OUT_DIR / out, "wb") as fh, gzip.GzipFile(fileobj=fh, mode="wb", mtime=0) as gz:
                gz.write(body)
            print(f"{out}: {len(names)} names")
    return 0


if __name__ == "__main__":
    sys.exit(main())
