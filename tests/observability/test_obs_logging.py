"""JSON logs with request ids, and the scrubbing filter as defence in depth."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import Iterator

import pytest
from faker import Faker
from hypothesis import given, settings
from hypothesis import strategies as st

from masker.observability.logging import (
    bind_request_id,
    configure_logging,
    request_context,
    reset_request_id,
    scrub,
)

fake = Faker(["en_US", "en_GB", "en_CA"])
Faker.seed(8)


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level
    configure_logging("DEBUG", stream=stream)
    yield stream
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in saved_handlers:
        root.addHandler(handler)
    root.setLevel(saved_level)


def records(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_json_line_with_request_id(captured: io.StringIO) -> None:
    log = logging.getLogger("masker.test")
    with request_context("req-abc123"):
        log.info("upstream answered", extra={"status": 200, "agent": "front-desk"})
    log.info("outside")
    first, second = records(captured)
    assert first["msg"] == "upstream answered" and first["request_id"] == "req-abc123"
    assert first["status"] == 200 and first["agent"] == "front-desk"
    assert first["level"] == "INFO" and first["logger"] == "masker.test"
    assert "request_id" not in second


async def test_request_id_is_per_task(captured: io.StringIO) -> None:
    log = logging.getLogger("masker.test")

    async def handle(rid: str) -> None:
        token = bind_request_id(rid)
        try:
            await asyncio.sleep(0)
            log.info("done")
        finally:
            reset_request_id(token)

    await asyncio.gather(*(handle(f"req-{i}") for i in range(5)))
    ours = [r for r in records(captured) if r["logger"] == "masker.test"]
    assert sorted(str(r["request_id"]) for r in ours) == [f"req-{i}" for i in range(5)]


SYNTHETIC = {
    "email": "jane.roe@example.org",
    "phone": "(415) 555-0134",
    "phone_intl": "+1 415.555.0134",
    "ssn": "123-45-6789",
    "card": "4111 1111 1111 1111",
    "card_dashes": "4111-1111-1111-1111",
    "token": "MSKV1.PHONE.7XK2M9QDRT",
    "token_mangled": "mskv1_phone_7xk2m9qdrt",
    "aead_token": "MSKV1.NAME.0123456789ABCDEFGHJKMNPQRSTV",
    "agent_id_in_path": "/proxy/agt_01JD8X3Q4R5S6T7V8W9XAYBZC0/v1/chat/completions",
}


@pytest.mark.parametrize("kind", sorted(SYNTHETIC))
def test_scrubbed_in_message_args_extra_and_traceback(captured: io.StringIO, kind: str) -> None:
    value = SYNTHETIC[kind]
    log = logging.getLogger("masker.test")
    log.warning(f"inline {value} in an f-string")
    log.warning("as arg %s and %r", value, {"nested": [value]})
    log.warning("extra field", extra={"detail": value, "items": [value]})
    try:
        raise ValueError(f"could not parse {value}")
    except ValueError:
        log.exception("failed")
    output = captured.getvalue()
    assert value not in output
    assert value.lower() not in output.lower()
    assert len(records(captured)) == 4


def test_token_label_kept_body_dropped() -> None:
    assert scrub("see MSKV1.PHONE.7XK2M9QDRT now") == "see MSKV1.PHONE.[REDACTED] now"


def test_benign_text_untouched() -> None:
    for text in (
        "listening on 127.0.0.1:8080",
        "request took 1234.5 ms, status 200",
        "request_id=0af7651916cd43dd8448eb211c80319c",
        "policy healthcare v1 loaded with 27 entities",
        "2025-03-01T23:00:00.000Z rotated",
        "vault size 12345678 bytes",
    ):
        assert scrub(text) == text, text


def test_scrub_is_idempotent() -> None:
    text = " ".join(SYNTHETIC.values())
    assert scrub(scrub(text)) == scrub(text)


@settings(max_examples=200)
@given(st.integers(min_value=0, max_value=10_000))
def test_faker_values_always_scrubbed(seed: int) -> None:
    fake.seed_instance(seed)
    for value in (fake.email(), fake["en_US"].ssn(), fake.credit_card_number(), fake.phone_number()):
        cleaned = scrub(f"patient said {value} on the call")
        assert value not in cleaned, value
