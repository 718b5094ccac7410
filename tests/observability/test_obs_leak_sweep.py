"""The end-of-suite leak sweep finds PHI in files, directories and in-memory texts, in all its forms."""

from __future__ import annotations

import json
from pathlib import Path

from tests.leak_sweep import LeakHit, format_hits, sweep, sweep_texts

NAME = "José Álvarez"
PHONE = "(415) 555-0134"
SSN = "123-45-6789"


def test_finds_literal_json_escaped_case_and_digit_forms(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "proxy.log").write_text('{"msg": "ok"}\n{"msg": "caller jOSÉ álvarez"}\n')
    audit = tmp_path / "audit"
    (audit / "nested").mkdir(parents=True)
    (audit / "nested" / "audit-2025-03-01.jsonl").write_text(json.dumps({"note": NAME}) + "\n")
    spans = tmp_path / "spans.json"
    spans.write_text(json.dumps([{"attributes": {"x": "call 4155550134 back"}}]))
    hits = sweep([NAME, PHONE, SSN], [logs, audit, spans, tmp_path / "does-not-exist"])
    assert hits == sorted(
        [
            LeakHit(str(logs / "proxy.log"), 2, NAME, "literal"),
            LeakHit(str(audit / "nested" / "audit-2025-03-01.jsonl"), 1, NAME, "json-escaped"),
            LeakHit(str(spans), 1, PHONE, "digits"),
        ]
    )
    assert "proxy.log:2" in format_hits(hits)


def test_clean_artefacts_have_no_hits(tmp_path: Path) -> None:
    (tmp_path / "metrics.txt").write_text('masker_requests_total{agent="front-desk",status="200"} 3.0\n')
    (tmp_path / "log").write_text('{"msg": "caller [PHONE] MSKV1.NAME.[REDACTED]"}\n')
    assert sweep([NAME, PHONE, SSN], [tmp_path]) == []


def test_in_memory_texts_and_short_values_skipped() -> None:
    text = "a\nssn 123456789 here\n"
    assert sweep_texts([SSN, "Al"], {"metrics": text}) == [LeakHit("metrics", 2, SSN, "digits")]
    assert sweep_texts(["Al"], {"metrics": "Alice"}) == []  # too short to search meaningfully
