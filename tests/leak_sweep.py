"""End-of-suite PHI leak sweep: search every artefact the suite produced for the synthetic PHI it used.

The issue's promise is "after the whole test suite, every synthetic PHI value is searched for in
the captured logs, audit files, metrics output and exported spans: zero hits". This module is the
search; a session-finish fixture collects the values (every Faker value the tests fed in) and the
places (log captures, audit dirs, a metrics scrape saved to a file, spans dumped as JSON) and
fails the session on any hit.

Besides the literal value it looks for the forms a value takes after passing through a JSON
encoder (``\\u00e9`` escapes, escaped quotes and slashes), any letter case, and — for values
that are mostly digits such as phone, SSN or card numbers — the bare digit run, since
``415-555-2671`` leaks just as well as ``4155552671``.

    hits = sweep(values, [log_dir, audit_dir, "metrics.txt", "spans.json"])
    assert not hits, format_hits(hits)
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

__all__ = ["LeakHit", "format_hits", "sweep", "sweep_texts"]

# Values shorter than this would match by accident ("Al", "12") and are skipped.
MIN_LEN = 4
_MAX_FILE_BYTES = 256 * 1024 * 1024
_NON_DIGIT = re.compile(r"\D")


@dataclass(frozen=True, order=True)
class LeakHit:
    """One occurrence: where (file or in-memory name, 1-based line) and which value, in what form."""

    source: str
    line: int
    value: str
    form: str  # "literal" | "json-escaped" | "digits"


def _variants(value: str) -> list[tuple[str, str]]:
    """(form, needle) pairs, needles lower-cased for a case-insensitive search."""
    out: list[tuple[str, str]] = [("literal", value.lower())]
    escaped = json.dumps(value, ensure_ascii=True)[1:-1]
    if escaped != value:
        out.append(("json-escaped", escaped.lower()))
    unicode_escaped = json.dumps(value, ensure_ascii=False)[1:-1]
    if unicode_escaped not in (value, escaped):
        out.append(("json-escaped", unicode_escaped.lower()))
    digits = _NON_DIGIT.sub("", value)
    if len(digits) >= 7 and len(digits) >= 0.6 * len(value.replace(" ", "")) and digits != value:
        out.append(("digits", digits))
    return out


def _digit_lines(text: str) -> list[str]:
    # Per line, digit runs joined across separators (space, dash, dot, parentheses, '+'), so a
    # phone written "(415) 555-2671" is found as "4155552671".
    return [re.sub(r"(?<=\d)[\s().+\-]+(?=[\d(])", "", line) for line in text.split("\n")]


def sweep_texts(values: Iterable[str], texts: Mapping[str, str]) -> list[LeakHit]:
    """Search in-memory texts (e.g. a metrics scrape, spans JSON) named by ``texts``' keys."""
    prepared = [(v, _variants(v)) for v in dict.fromkeys(values) if len(v.strip()) >= MIN_LEN]
    hits: list[LeakHit] = []
    for source, text in texts.items():
        lowered_lines = text.lower().split("\n")
        digit_lines: list[str] | None = None
        for value, variants in prepared:
            for form, needle in variants:
                if form == "digits":
                    if digit_lines is None:
                        digit_lines = _digit_lines(text)
                    lines = digit_lines
                else:
                    lines = lowered_lines
                for number, line in enumerate(lines, start=1):
                    if needle in line:
                        hits.append(LeakHit(source, number, value, form))
                        break  # one hit per (source, value, form) is enough to fail
    return sorted(set(hits))


def _files(targets: Iterable[str | os.PathLike[str]]) -> Iterable[Path]:
    for target in targets:
        path = Path(target)
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.is_file())
        elif path.is_file():
            yield path
        # A target that does not exist is skipped: e.g. no audit dir when audit is off.


def sweep(values: Iterable[str], targets: Iterable[str | os.PathLike[str]]) -> list[LeakHit]:
    """Every occurrence of any of ``values`` in the files and directories (recursive) ``targets``."""
    value_list = list(values)
    hits: list[LeakHit] = []
    for path in _files(targets):
        if path.stat().st_size > _MAX_FILE_BYTES:
            raise ValueError(f"leak sweep: {path} is larger than {_MAX_FILE_BYTES} bytes")
        text = path.read_bytes().decode("utf-8", errors="replace")
        hits.extend(sweep_texts(value_list, {str(path): text}))
    return sorted(set(hits))


def format_hits(hits: Iterable[LeakHit]) -> str:
    return "\n".join(f"{h.source}:{h.line}: {h.form} {h.value!r}" for h in hits)
