"""The end-of-suite leak sweep finds PHI in files, directories and in-memory texts, in all its forms."""

from __future__ import annotations

import json
from pathlib import Path

from tests.leak_sweep import LeakHit, format_hits, sweep, sweep_texts

# Values and file names of their own: these files are *meant* to leak, so they must not be what the
# session-end sweep (tests/conftest.py, which globs *.log, audit*/, spans*.json) looks at.
NAME = "José Álvarez-Planted"
PHONE = "(212) 555-0199"
SSN = "078-05-1120"


def test_finds_literal_json_escaped_case_and_digit_forms(tmp_path: Path) -> None:
    logs = tmp_path / "planted-logs"
    logs.mkdir()
    (logs / "proxy.out").write_text('{"msg": "ok"}\n{"msg": "caller jOSÉ álvarez-planted"}\n')
    audit = tmp_path / "planted-records"
    (audit / "nested").mkdir(parents=True)
    (audit / "nested" / "records.txt").write_text(json.dumps({"note": NAME}) + "\n")
    spans = tmp_path / "planted-spans.txt"
    spans.write_text(json.dumps([{"attributes": {"x": "call 2125550199 back"}}]))
    hits = sweep([NAME, PHONE, SSN], [logs, audit, spans, tmp_path / "does-not-exist"])
    assert hits == sorted(
        [
            LeakHit(str(logs / "proxy.out"), 2, NAME, "literal"),
            LeakHit(str(audit / "nested" / "records.txt"), 1, NAME, "json-escaped"),
            LeakHit(str(spans), 1, PHONE, "digits"),
        ]
    )
    assert "proxy.out:2" in format_hits(hits)


def test_clean_artefacts_have_no_hits(tmp_path: Path) -> None:
    (tmp_path / "scrape.out").write_text('masker_requests_total{agent="front-desk",status="200"} 3.0\n')
    (tmp_path / "log.out").write_text('{"msg": "caller [PHONE] MSKV1.NAME.[REDACTED]"}\n')
    assert sweep([NAME, PHONE, SSN], [tmp_path]) == []


def test_in_memory_texts_and_short_values_skipped() -> None:
    text = "a\nssn 078051120 here\n"
    assert sweep_texts([SSN, "Al"], {"metrics": text}) == [LeakHit("metrics", 2, SSN, "digits")]
    assert sweep_texts(["Al"], {"metrics": "Alice"}) == []  # too short to search meaningfully
