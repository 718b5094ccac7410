"""JSON logs on stdout, one object per line, with the request id, and a PHI-scrubbing filter.

The rule is that no code logs request text. The scrubber is defence in depth for when someone
does anyway (an f-string with a message, a third-party library echoing a body, an exception
message): it rewrites e-mail addresses, phone numbers, SSNs, card-like digit runs, agent ids (the
secret in the proxy URL, which access logs print) and the body of anything shaped like a Masker
token, in the message, its arguments, extra fields and tracebacks.
It is installed on the *handler*, so it sees records from every logger that propagates to root.

    configure_logging()                   once at start-up
    token = bind_request_id(rid)          per request (contextvars, safe across tasks)
    reset_request_id(token)               when the request ends
"""

from __future__ import annotations

import json
import logging
import re
import sys
import traceback
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from datetime import UTC, datetime
from typing import IO, Any, Final

__all__ = [
    "JsonFormatter",
    "ScrubbingFilter",
    "bind_request_id",
    "configure_logging",
    "current_request_id",
    "new_request_id",
    "request_context",
    "reset_request_id",
    "scrub",
]

_request_id: ContextVar[str | None] = ContextVar("masker_request_id", default=None)

REDACTED: Final = "[REDACTED]"

# Order matters: tokens first (their body may contain digit runs), then the specific shapes.
_PATTERNS: Final[tuple[tuple[re.Pattern[str], str], ...]] = (
    # MSKV1.<LABEL>.<BODY>: keep the label (an entity type), drop the body.
    # Separators and case as forgiving as the token grammar (LLMs rewrite tokens).
    (
        re.compile(
            r"(?i)(?<![0-9a-z])(MSKV1(?:\s*\\?[._:/-]\s*|\s+)[a-z]{2,12}(?:\s*\\?[._:/-]\s*|\s+))"
            r"(?:[0-9a-z]{20,}|(?:[0-9a-z] ?){9}[0-9a-z]|[0-9a-z]+)(?![0-9a-z])"
        ),
        r"\1" + REDACTED,
    ),
    # Agent ids are the secret in the proxy URL; access logs and client libraries print URLs.
    (re.compile(r"(?i)\bagt_[0-9A-HJKMNP-TV-Z]{26}\b"), "agt_" + REDACTED),
    (re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}"), "[EMAIL]"),
    (re.compile(r"\b\d{3}[- ]\d{2}[- ]\d{4}\b"), "[SSN]"),
    # 13-19 digits, optionally grouped by spaces or dashes (card numbers, long account numbers).
    (re.compile(r"\b\d(?:[ \-]?\d){12,18}\b"), "[CARD]"),
    # Phone shapes: +1 (415) 555-2671, 415.555.2671, +44 20 7946 0958, (01632) 960 857, x123
    (
        re.compile(
            # The area code is parenthesised or followed by a separator, so plain counts
            # ("12345678 bytes") are left alone; unseparated runs fall to the 9+-digit rule.
            r"(?<![\w])(?:\+\d{1,3}[\s.\-]?)?(?:\(\d{2,5}\)[\s.\-]?|\d{2,5}[\s.\-])\d{3,4}[\s.\-]?\d{2,4}(?!\d)"
            r"(?:\s*(?:x|ext\.?)\s*\d{1,6})?"
        ),
        "[PHONE]",
    ),
    # 9 or more digits in a row that none of the above took (SSN without dashes, MRNs).
    (re.compile(r"\b\d{9,}\b"), "[NUMBER]"),
)


def scrub(text: str) -> str:
    """Replace PHI-shaped substrings of ``text``; idempotent."""
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def _scrub_value(value: Any) -> Any:
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, bool | int | float) or value is None:
        # Bare numbers can be PHI too (an SSN passed as int); scrub their text form.
        return value if isinstance(value, bool) or value is None else _scrub_number(value)
    if isinstance(value, dict):
        return {scrub(str(k)): _scrub_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_scrub_value(v) for v in value]
    return scrub(str(value))


def _scrub_number(value: int | float) -> int | float | str:
    text = str(value)
    cleaned = scrub(text)
    return value if cleaned == text else cleaned


_STANDARD_ATTRS: Final = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "taskName"}


class ScrubbingFilter(logging.Filter):
    """Rewrites a record's message, args and extra fields through :func:`scrub`. Never drops."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # bad format args: keep the template only, never the args
            message = str(record.msg)
        record.msg = scrub(message)
        record.args = None
        for key, value in list(record.__dict__.items()):
            if key not in _STANDARD_ATTRS:
                record.__dict__[key] = _scrub_value(value)
        if record.exc_info and record.exc_info[1] is not None:
            # Render the traceback now and scrub it; the exception message may quote input.
            record.exc_text = scrub("".join(traceback.format_exception(*record.exc_info)).rstrip())
            record.exc_info = None
        elif record.exc_text:
            record.exc_text = scrub(record.exc_text)
        if record.stack_info:
            record.stack_info = scrub(record.stack_info)
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, msg, request_id, extra fields, exc."""

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        rid = getattr(record, "request_id", None) or _request_id.get()
        if rid:
            payload["request_id"] = rid
        for key, value in record.__dict__.items():
            if key not in _STANDARD_ATTRS and key != "request_id" and not key.startswith("_"):
                payload[key] = value
        if record.exc_info:
            payload["exc"] = self.formatException(record.exc_info)
        elif record.exc_text:
            payload["exc"] = record.exc_text
        if record.stack_info:
            payload["stack"] = record.stack_info
        return json.dumps(payload, default=str, ensure_ascii=False)


def configure_logging(level: str | int = "INFO", stream: IO[str] | None = None) -> logging.Handler:
    """Replace root handlers with one JSON handler (scrubbing) on ``stream`` (stdout by default).

    Returns the handler so tests and shutdown code can remove it.
    """
    handler = logging.StreamHandler(stream if stream is not None else sys.stdout)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(ScrubbingFilter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level if isinstance(level, int) else level.upper())
    # httpx/httpcore log every request URL at INFO; the upstream's is not ours to publish.
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.WARNING)
    # Hypercorn/Quart attach their own handlers; make them propagate to ours instead.
    for name in ("hypercorn.error", "hypercorn.access", "quart.app", "quart.serving"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    return handler


def new_request_id() -> str:
    """A fresh request id (32 hex chars); carries no request content."""
    return uuid.uuid4().hex


def bind_request_id(request_id: str) -> Token[str | None]:
    """Make ``request_id`` appear on every log line of the current task; returns a reset token."""
    return _request_id.set(request_id)


def reset_request_id(token: Token[str | None]) -> None:
    _request_id.reset(token)


def current_request_id() -> str | None:
    return _request_id.get()


@contextmanager
def request_context(request_id: str | None = None) -> Iterator[str]:
    """``with request_context() as rid:`` binds a (new) request id for the block."""
    rid = request_id or new_request_id()
    token = bind_request_id(rid)
    try:
        yield rid
    finally:
        reset_request_id(token)
