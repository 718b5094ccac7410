"""Rehydration: tokens in the upstream's answer become the caller's values again.

Works on whole texts and on streams. In a stream a token may arrive split across chunks, down to
one character per chunk, so the rehydrator holds back the tail of its buffer only while that tail
could still grow into a token (``regex`` partial matching answers exactly that question), and
never more than ``MAX_TOKEN_CHARS``. Everything else is emitted at once.

A token that cannot be resolved (mangled beyond its check symbol, unknown, expired) is never
passed through raw — a voice agent's TTS would read "M S K V one" aloud — but replaced by a
neutral, speakable phrase and counted.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import regex

from ..detect.types import ENTITY_BY_LABEL, Entity
from .codec import TokenSession
from .grammar import MAX_TOKEN_CHARS, TOKEN_PATTERN, normalize_body

# A token prefix left at the very end of a stream: "MSKV1", maybe a separator and a partial label.
_CUT_TOKEN = regex.compile(r"(?i)(?<![0-9a-z])MSKV1(?:\s*\\?[._:/-]?\s*([a-z]{2,12})?(?:\s*\\?[._:/-]\s*[0-9a-z ]*)?)?$")

_SPOKEN: dict[Entity, str] = {
    Entity.PERSON: "the person",
    Entity.PHONE: "the phone number",
    Entity.FAX: "the fax number",
    Entity.EMAIL: "the email address",
    Entity.ADDRESS: "the address",
    Entity.LOCATION: "the place",
    Entity.DATE: "the date",
    Entity.SSN: "the social security number",
    Entity.CREDIT_CARD: "the card number",
}
DEFAULT_FALLBACK = "the withheld detail"


def fallback_phrase(label: str) -> str:
    entity = ENTITY_BY_LABEL.get(label.upper())
    if entity is None:
        return DEFAULT_FALLBACK
    return _SPOKEN.get(entity, "the " + entity.value.lower().replace("_", " "))


def json_escape(value: str) -> str:
    """Escape for insertion inside a JSON string literal (tool-call arguments)."""
    return json.dumps(value, ensure_ascii=False)[1:-1]


class StreamRehydrator:
    """Feed text chunks in order; get back text that is safe to emit now."""

    def __init__(
        self,
        session: TokenSession,
        *,
        escape: Callable[[str], str] | None = None,
        on_unresolved: Callable[[str], None] | None = None,
    ) -> None:
        self._session = session
        self._escape = escape
        self._on_unresolved = on_unresolved
        self._buffer = ""
        self.resolved = 0
        self.unresolved = 0

    async def _replacement(self, match: regex.Match[str]) -> str:
        body = normalize_body(match.group(2))
        value = await self._session.resolve(body) if body is not None else None
        if value is None:
            self.unresolved += 1
            if self._on_unresolved is not None:
                self._on_unresolved(match.group(1).upper())
            value = fallback_phrase(match.group(1))
        else:
            self.resolved += 1
        return self._escape(value) if self._escape else value

    async def feed(self, text: str, *, final: bool = False) -> str:
        buf = self._buffer + text
        if not buf:
            return ""
        out: list[str] = []
        pos = 0
        while pos < len(buf):
            m = TOKEN_PATTERN.search(buf, pos, partial=not final)
            if m is None:
                out.append(buf[pos:])
                pos = len(buf)
                break
            open_ended = m.partial or (m.end() == len(buf) and not final)
            if open_ended:
                if m.start() == len(buf):  # empty partial at the very end: nothing to hold
                    out.append(buf[pos:])
                    pos = len(buf)
                    break
                if len(buf) - m.start() > MAX_TOKEN_CHARS:
                    # Too long to be a token: release one character and look again.
                    out.append(buf[pos : m.start() + 1])
                    pos = m.start() + 1
                    continue
                out.append(buf[pos : m.start()])
                pos = m.start()
                break
            out.append(buf[pos : m.start()])
            out.append(await self._replacement(m))
            pos = m.end()
        self._buffer = buf[pos:]
        return "".join(out)

    async def finish(self) -> str:
        """Flush what is held back (end of stream): complete tokens resolve, the rest is text —
        except a cut-off token (``MSKV1`` and more), which becomes a fallback phrase, never raw."""
        out = await self.feed("", final=True)
        cut = _CUT_TOKEN.search(out)
        if cut is not None:
            self.unresolved += 1
            if self._on_unresolved is not None:
                self._on_unresolved(cut.group(1).upper() if cut.group(1) else "")
            phrase = fallback_phrase(cut.group(1) or "")
            out = out[: cut.start()] + (self._escape(phrase) if self._escape else phrase)
        return out

    @property
    def pending(self) -> str:
        return self._buffer


async def rehydrate_text(
    session: TokenSession,
    text: str,
    *,
    escape: Callable[[str], str] | None = None,
    on_unresolved: Callable[[str], None] | None = None,
) -> str:
    if "mskv1" not in text.lower():
        return text
    return await StreamRehydrator(session, escape=escape, on_unresolved=on_unresolved).feed(text, final=True)
