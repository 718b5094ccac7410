"""Rehydration: tokens in the upstream's answer become the caller's values again.

Works on whole texts and on streams. In a stream a token may arrive split across chunks, down to
one character per chunk, so the rehydrator holds back the tail of its buffer only while that tail
could still grow into a token (``regex`` partial matching answers exactly that question), and
never more than ``MAX_TOKEN_CHARS``. Everything else is emitted at once.

Only tokens in the request's ``AnswerTokens`` resolve: those its own redaction issued from text the
caller sent in plain. Any other token-shaped text in an answer — one the caller typed (the token
shield wrapped it, so it comes back as typed), one from another conversation, one the model made
up — is treated as unresolvable.

A token that cannot be resolved (mangled beyond its check symbol, unknown, expired, not this
request's) is never passed through raw — a voice agent's TTS would read "M S K V one" aloud — but
replaced by a neutral, speakable phrase and counted.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterable

from ..detect.types import ENTITY_BY_LABEL, Entity
from .codec import TokenSession
from .grammar import (
    MAX_TOKEN_CHARS,
    TOKEN_PATTERN,
    TokenMatch,
    canonical_matches,
    could_contain_token,
    could_extend,
    could_start_token,
    find_canonical,
    parse_match,
)

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
_SLICE = 1024  # tokens of one text restored between two returns to the event loop
_LONG = 65_536  # characters: a text this long is scanned for tokens in slices


def fallback_phrase(label: str) -> str:
    """A neutral phrase for an unresolvable token; the label may have been rewritten by the model."""
    words = [w for w in label.upper().replace("-", "_").replace(" ", "_").split("_") if w]
    for candidate in ["".join(words), *words]:
        entity = ENTITY_BY_LABEL.get(candidate) or Entity.__members__.get(candidate)
        if entity is not None:
            return _SPOKEN.get(entity, "the " + entity.value.lower().replace("_", " "))
    return DEFAULT_FALLBACK


class AnswerTokens:
    """The tokens one request's answer may turn back into values.

    By default exactly the tokens the request's ``TokenSession`` issued (``issued``: its own
    findings, the token shield's, and history tokens taken from the memo once settled). ``admit``
    is the hook for shapes whose earlier turns are not resent (the Responses API's
    ``previous_response_id``): bodies admitted there resolve through the session (vault or
    decryption) although this request did not issue them.
    """

    def __init__(self, session: TokenSession) -> None:
        self.session = session
        self._admitted: set[str] = set()

    def admit(self, bodies: Iterable[str]) -> None:
        self._admitted.update(bodies)

    async def resolve(self, body: str) -> str | None:
        value = self.session.issued.get(body)
        if value is not None or body not in self._admitted:
            return value
        return await self.session.resolve(body)

    async def restore(self, token: TokenMatch) -> str | None:
        """The value behind a found token, or None (invalid body, or not this answer's)."""
        return None if token.body is None else await self.resolve(token.body)


def answer_tokens(tokens: AnswerTokens | TokenSession) -> AnswerTokens:
    return tokens if isinstance(tokens, AnswerTokens) else AnswerTokens(tokens)


def json_escape(value: str) -> str:
    """Escape for insertion inside a JSON string literal (tool-call arguments)."""
    return json.dumps(value, ensure_ascii=False)[1:-1]


class StreamRehydrator:
    """Feed text chunks in order; get back text that is safe to emit now."""

    def __init__(
        self,
        tokens: AnswerTokens | TokenSession,
        *,
        escape: Callable[[str], str] | None = None,
        on_unresolved: Callable[[str], None] | None = None,
    ) -> None:
        self._tokens = answer_tokens(tokens)
        self._escape = escape
        self._on_unresolved = on_unresolved
        self._buffer = ""
        self._context = ""
        self.resolved = 0
        self.unresolved = 0

    async def _replacement(self, token: TokenMatch) -> str:
        value = await self._tokens.restore(token)
        if value is None:
            self.unresolved += 1
            if self._on_unresolved is not None:
                self._on_unresolved(token.label)
            value = fallback_phrase(token.label)
        else:
            self.resolved += 1
        return self._escape(value) if self._escape else value

    async def feed(self, text: str, *, final: bool = False) -> str:
        # The last character already emitted is kept as context: the pattern's look-behind must
        # see it, or a stream split right before "MSKV1" would match where the whole text does not.
        if not self._buffer and not could_start_token(text):
            # Nothing held back and no token can start here: most of a stream's events skip the
            # partial-match search.
            if text:
                self._context = text[-1]
            return text
        full = self._context + self._buffer + text
        pos = len(self._context)
        if pos == len(full):
            return ""
        out: list[str] = []
        while pos < len(full):
            m = TOKEN_PATTERN.search(full, pos, partial=not final)
            if m is None or m.start() == len(full):
                out.append(full[pos:])
                pos = len(full)
                break
            if not final and (m.partial or could_extend(full, m.start())):
                if len(full) - m.start() > MAX_TOKEN_CHARS:
                    # Too long to be a token: release one character and look again.
                    out.append(full[pos : m.start() + 1])
                    pos = m.start() + 1
                    continue
                out.append(full[pos : m.start()])
                pos = m.start()
                break
            token = parse_match(m)
            out.append(full[pos : m.start()])
            out.append(await self._replacement(token))
            pos = token.end
        self._context = full[pos - 1 : pos] if pos else ""
        self._buffer = full[pos:]
        return "".join(out)

    async def replace(self, text: str, tokens: list[TokenMatch]) -> str:
        """``text`` with ``tokens`` (every token in it, in order) replaced: a whole text at once."""
        out: list[str] = []
        pos = 0
        for k, token in enumerate(tokens, 1):
            if k % _SLICE == 0:
                await asyncio.sleep(0)  # a long answer's tokens: let other requests in between
            out.append(text[pos : token.start])
            out.append(await self._replacement(token))
            pos = token.end
        out.append(text[pos:])
        return "".join(out)

    async def finish(self) -> str:
        """Flush what is held back (end of stream): complete tokens resolve, the rest is text —
        except a cut-off token (``MSKV1`` and more), which the grammar's catch-all branch matches
        and which therefore becomes a fallback phrase, never raw."""
        return await self.feed("", final=True)

    @property
    def pending(self) -> str:
        return self._buffer


async def _find_canonical_sliced(text: str) -> list[TokenMatch] | None:
    """``find_canonical`` over a long answer, returning to the event loop every ``_SLICE`` tokens."""
    found: list[TokenMatch] = []
    for k, match in enumerate(canonical_matches(text), 1):
        if match is None:
            return None
        found.append(match)
        if k % _SLICE == 0:
            await asyncio.sleep(0)
    return found


async def rehydrate_text(
    tokens: AnswerTokens | TokenSession,
    text: str,
    *,
    escape: Callable[[str], str] | None = None,
    on_unresolved: Callable[[str], None] | None = None,
) -> str:
    if not could_contain_token(text):
        return text
    rehydrator = StreamRehydrator(tokens, escape=escape, on_unresolved=on_unresolved)
    found = find_canonical(text) if len(text) < _LONG else await _find_canonical_sliced(text)
    if found is not None:
        return await rehydrator.replace(text, found)
    return await rehydrator.feed(text, final=True)
