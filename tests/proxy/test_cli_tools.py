"""``masker redact`` and ``masker policy check``, run as the console script runs them: a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]


def masker(
    *args: str, stdin: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "masker", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env={**os.environ, "MASKER_POLICIES_DIR": str(REPO / "policies"), **(env or {})},
        timeout=120,
        check=False,
        cwd=REPO,
    )


def as_json(proc: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert proc.returncode == 0, proc.stderr
    data: dict[str, Any] = json.loads(proc.stdout)
    return data


def test_redact_text_argument_reports_each_finding() -> None:
    out = as_json(
        masker("redact", "--no-ner", "--json", "Patient Wilma Quist, SSN 512-44-7781, cell 415-555-2671")
    )
    upstream = out["upstream"]
    assert "Wilma" not in upstream and "512-44-7781" not in upstream and "415-555-2671" not in upstream
    assert "MSKV1.SSN." in upstream
    found = {(f["value"], f["entity"]) for f in out["findings"]}
    assert {("Wilma Quist", "PERSON"), ("512-44-7781", "SSN"), ("415-555-2671", "PHONE")} <= found
    for f in out["findings"]:
        assert f["recognizer"] and 0 < f["score"] <= 1 and f["action"] == "tokenize"


def test_redact_chat_body_on_stdin_keeps_its_shape() -> None:
    body = {
        "model": "gpt-4o-mini",
        "messages": [
            {"role": "system", "content": "You help Dr. Halvorsen's clinic."},
            {"role": "user", "content": "email me at wilma.quist@example.org"},
        ],
    }
    out = as_json(masker("redact", "--no-ner", "--json", stdin=json.dumps(body)))
    sent = out["upstream"]
    assert sent["model"] == "gpt-4o-mini" and [m["role"] for m in sent["messages"]] == ["system", "user"]
    assert "Halvorsen" not in json.dumps(sent) and "wilma.quist" not in json.dumps(sent)
    assert {f["text"] for f in out["findings"]} == {0, 1}


def test_redact_file_with_policy_by_name_and_human_output(tmp_path: Path) -> None:
    note = tmp_path / "note.txt"
    note.write_text("Contact: AKIAIOSFODNN7EXAMPLE and MRN 00482913.\n", encoding="utf-8")
    proc = masker("redact", "--no-ner", "--file", str(note), "--policy", "healthcare")
    assert proc.returncode == 0, proc.stderr
    assert "AKIAIOSFODNN7EXAMPLE" not in proc.stdout.splitlines()[0]
    assert "<SECRET>" in proc.stdout  # the healthcare policy's placeholder action, not a token
    assert "policy 'healthcare'" in proc.stdout
    assert "\tSECRET\t" in proc.stdout and "\tplaceholder\t" in proc.stdout


def test_redact_policy_file_keep_action_forwards_value(tmp_path: Path) -> None:
    policy = tmp_path / "p.yaml"
    policy.write_text("version: 1\ncategories:\n  PHONE: keep\n", encoding="utf-8")
    out = as_json(masker("redact", "--no-ner", "--json", "--policy", str(policy), "call 415-555-2671"))
    assert out["upstream"] == "call 415-555-2671"
    assert [f["action"] for f in out["findings"]] == ["keep"]


def test_redact_unknown_policy_is_a_clear_error() -> None:
    proc = masker("redact", "--no-ner", "--policy", "no-such-policy", "hello")
    assert proc.returncode == 2 and "no-such-policy" in proc.stderr and proc.stdout == ""


def test_redact_with_ner_finds_an_uncued_name() -> None:
    # no cue and not in the name lexicon: only the model can find it, and only without --no-ner
    text = "Yesterday Zorblax Quimbo drove to the pharmacy."
    out = as_json(masker("redact", "--json", text))
    assert "Quimbo" not in out["upstream"]
    assert any(f["recognizer"].startswith("ner") for f in out["findings"])
    assert as_json(masker("redact", "--json", "--no-ner", text))["upstream"] == text


def test_redact_with_ner_keeps_words_the_model_needs() -> None:
    # "my zip is" is not a name, a symptom is not an organisation (the lexicon filters the model)
    out = as_json(masker("redact", "--json", "my zip is nine four one one zero. Patient reports Chest Pain."))
    assert {f["entity"] for f in out["findings"]} == {"ZIP"}
    assert out["upstream"].startswith("my zip is MSKV1.ZIP.")


def test_policy_check_lists_actions() -> None:
    proc = masker("policy", "check", str(REPO / "policies" / "healthcare.yaml"))
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == "policy 'healthcare' (version 1) is valid"
    assert any(line.split()[:3] == ["PERSON", "tokenize", "0.45"] for line in lines)
    assert any(line.split()[:2] == ["SECRET", "placeholder"] for line in lines)
    assert "forwarded raw (keep): ORGANIZATION" in lines


@pytest.mark.parametrize(
    ("yaml_text", "message"),
    [
        ("version: 1\ncategories:\n  PHONEZ: keep\n", "unknown entity type"),
        ("version: 1\ncategories:\n  PHONE: shred\n", "PHONE"),
        ("version: 2\n", "unsupported version"),
        ("version: 1\nfail_mod: open\n", "unknown keys"),
    ],
)
def test_policy_check_rejects_invalid(tmp_path: Path, yaml_text: str, message: str) -> None:
    policy = tmp_path / "bad.yaml"
    policy.write_text(yaml_text, encoding="utf-8")
    proc = masker("policy", "check", str(policy))
    assert proc.returncode == 1 and message in proc.stderr and proc.stdout == ""


def test_policy_check_missing_file() -> None:
    proc = masker("policy", "check", "/nonexistent/policy.yaml")
    assert proc.returncode == 2
