"""The token grammar, ``MSKV1.<LABEL>.<BODY>``: one place that writes tokens and one that finds them.

* ``LABEL`` is the entity label (``PHONE``, ``NAME``...), so the model can still reason about the
  value ("the patient's phone"). It is informational: resolution uses the body only, so a model
  that rewrites the label (``PHONE_NUMBER``, ``Telephone``) does not break restore.
* ``BODY`` is Crockford base32 (no I, L, O, U; case-insensitive): a key-id symbol, the payload, and
  one check symbol over the rest. Vault tokens have a fixed 10-symbol body; reversible-AEAD tokens
  carry the ciphertext and are longer (>= 20).

Finding is deliberately forgiving about what LLMs do to tokens: any case, ``.``/``_``/``-``/``:``
or spaces as separators (identifiers such as tool names need ``_``), a space inside the prefix,
spaces inside a vault body, markdown emphasis and quotes around or inside the separators, and
punctuation around it. An upper-case AEAD body broken by spaces is re-joined when the check symbol
then passes. The check symbol keeps random text that happens to fit the pattern from ever being
"rehydrated".

The pattern is one top-level alternation, tried in order at each position: a well-formed body
(with a label of up to three words), then anything else that starts with the prefix. The second
branch exists so that a token mangled beyond repair is still *found* — the rehydrator replaces it
by a speakable phrase instead of passing ``MSKV1...`` through to a voice's TTS.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass

import regex

PREFIX = "MSKV1"
CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_DECODE = {c: i for i, c in enumerate(CROCKFORD)}
_DECODE.update({"O": 0, "I": 1, "L": 1})
VAULT_BODY_LEN = 10
MIN_AEAD_BODY_LEN = 20
# Longest text the streaming rehydrator may hold back while it could still be a token.
MAX_TOKEN_CHARS = 400

# Markdown emphasis, code ticks and quotes a model may wrap around parts of a token.
_NOISE = r"[\s*_`~\"'\u2018\u2019\u201c\u201d]{0,4}"
_SEP = rf"(?:{_NOISE}\\?[._:/-]{_NOISE}|[\s*_`~]{{1,4}})"
# No look-behind: a token glued to the text before it ("callMSKV1...") must still be found.
_PREFIX_RE = r"M ?S ?K ?V[ -]?1"
_WORD = r"[a-z]{1,16}"
_UPPER = r"(?-i:[0-9A-HJKMNP-TV-Z]+)"  # a Crockford chunk as emitted (upper case)
TOKEN_PATTERN = regex.compile(
    rf"(?i){_PREFIX_RE}(?:"
    # 1. label (1-3 words, shortest first) + a body of a valid shape: a run of 10+ symbols (text
    #    glued after it and upper-case chunks of a body the model split with spaces may follow;
    #    ``parse_match`` picks the valid prefix), a 10-symbol vault body with single spaces, or an
    #    upper-case body split by spaces whose first chunk is short.
    rf"{_SEP}(?P<label>{_WORD}(?:[ _-]{_WORD}){{0,2}}?){_SEP}"
    rf"(?P<body>[0-9a-z]{{10,}}(?: {_UPPER})*|(?:[0-9a-z] ?){{9}}[0-9a-z]|{_UPPER}(?: {_UPPER})+)"
    # 2. anything else after the prefix: a fallback phrase, never the raw text.
    rf"|(?:{_SEP}(?P<label>{_WORD}(?:[_-]{_WORD}){{0,2}})(?:{_SEP}(?P<body>[0-9a-z]+))?)?"
    r")(?![0-9a-z])"
)


def b32encode(data: bytes) -> str:
    bits = int.from_bytes(data, "big") if data else 0
    nbits = len(data) * 8
    out = []
    pad = (-nbits) % 5
    bits <<= pad
    for shift in range(nbits + pad - 5, -1, -5):
        out.append(CROCKFORD[(bits >> shift) & 31])
    return "".join(out)


def b32decode(text: str, nbytes: int) -> bytes:
    bits = 0
    for ch in text:
        bits = (bits << 5) | _DECODE[ch]
    extra = len(text) * 5 - nbytes * 8
    if extra < 0:
        raise ValueError("too short")
    return (bits >> extra).to_bytes(nbytes, "big")


def check_symbol(payload: str) -> str:
    return CROCKFORD[hashlib.sha256(payload.encode("ascii")).digest()[0] & 31]


@functools.cache  # key names are few and fixed; this runs for every token
def key_symbol(key_name: str) -> str:
    return CROCKFORD[hashlib.sha256(key_name.encode("utf-8")).digest()[0] & 31]


def format_token(label: str, body: str, *, identifier: bool = False) -> str:
    """Render a token from a body that ends in its check symbol. ``identifier=True`` uses ``_`` so
    it is a valid tool/function name."""
    sep = "_" if identifier else "."
    return f"{PREFIX}{sep}{label}{sep}{body}"


def normalize_body(raw: str) -> str | None:
    """Canonical body (upper case, no spaces, Crockford aliases folded) or None if invalid."""
    body = raw.replace(" ", "").upper()
    try:
        canonical = "".join(CROCKFORD[_DECODE[ch]] for ch in body)
    except KeyError:
        return None
    if len(canonical) != VAULT_BODY_LEN and len(canonical) < MIN_AEAD_BODY_LEN:
        return None
    if check_symbol(canonical[:-1]) != canonical[-1]:
        return None
    return canonical


@dataclass(frozen=True, slots=True)
class TokenMatch:
    start: int
    end: int
    label: str  # upper case, words joined by "_"; "" when the model dropped it
    body: str | None  # canonical body, or None when no valid body was found

    @property
    def is_vault(self) -> bool:
        return self.body is not None and len(self.body) == VAULT_BODY_LEN


def _aead_lengths() -> frozenset[int]:
    """Body lengths an AEAD token can have: kid + base32(16-byte tag + 16k padded bytes) + check."""
    lengths = set()
    for blocks in range(1, 64):
        symbols = -(-(16 + 16 * blocks) * 8 // 5)
        if symbols + 2 > MAX_TOKEN_CHARS:
            break
        lengths.add(symbols + 2)
    return frozenset(lengths)


BODY_LENGTHS = frozenset({VAULT_BODY_LEN}) | _aead_lengths()


def _candidate_ends(raw: str) -> list[int]:
    """Ends ``i`` where ``raw[:i]`` without spaces has a length a body can have, most plausible
    first: the whole first run; then across spaces, longest first (a body the model split up);
    then shorter prefixes of the first run (text glued right after a token)."""
    run = raw.find(" ")
    run = len(raw) if run < 0 else run
    whole = [run] if run in BODY_LENGTHS else []
    spaced: list[int] = []
    count = 0
    for i, ch in enumerate(raw, start=1):
        if ch != " ":
            count += 1
            if i > run and count in BODY_LENGTHS:
                spaced.append(i)
    glued = [i for i in range(run - 1, 0, -1) if i in BODY_LENGTHS]
    return whole + spaced[::-1] + glued


_LABEL_SPLIT = regex.compile(r"[ _-]")


def parse_match(m: regex.Match[str]) -> TokenMatch:
    """Interpret one ``TOKEN_PATTERN`` match.

    The body is the longest prefix of the matched run that has a possible body length and passes
    the check symbol: text glued after a token ("...ABCDEFGHJKs") or an upper-case word after an
    AEAD token stays text, a body split by spaces is joined. When nothing passes, the whole match
    is consumed (it is replaced by a fallback phrase).
    """
    label = "_".join(_LABEL_SPLIT.split((m.group("label") or "").upper()))
    raw = m.group("body")
    if raw is None:
        return TokenMatch(m.start(), m.end(), label, None)
    start = m.start("body")
    for end in _candidate_ends(raw):
        body = normalize_body(raw[:end])
        if body is not None:
            return TokenMatch(m.start(), start + end, label, body)
    return TokenMatch(m.start(), m.end(), label, None)


def find_tokens(text: str) -> list[TokenMatch]:
    """Every token-shaped string in ``text`` (complete ones only), left to right."""
    found: list[TokenMatch] = []
    pos = 0
    while True:
        m = TOKEN_PATTERN.search(text, pos)
        if m is None:
            return found
        token = parse_match(m)
        found.append(token)
        pos = max(token.end, m.start() + 1)


# Where a token may start (any case, spaced prefix). Stdlib ``re``: its case folding matches
# ``regex``'s for this pattern (checked over all of Unicode) and it is the cheaper engine to start.
_PREFIX_FIRST = (PREFIX[0].lower(), PREFIX[0].upper())
_HINT = re.compile(r"(?i)m ?s ?k ?v")
# Fast path: tokens exactly as ``format_token`` writes them (one-word label, upper-case body, no
# text glued after it); the forgiving grammar above costs ~10x more per text.
_CANONICAL = re.compile(rf"{PREFIX}([._])([A-Z]{{1,16}})\1([{CROCKFORD}]{{10,}})(?![0-9A-Za-z])")


def find_canonical(text: str) -> list[TokenMatch] | None:
    """``find_tokens(text)`` when every token-like string in ``text`` is a well-formed token with a
    valid body, as the proxy wrote it (what a model usually echoes); ``None`` when any of them needs
    the forgiving grammar. A valid body of a possible length is exactly what ``parse_match`` picks
    for such a token (its whole first run), so both give the same matches."""
    found: list[TokenMatch] = []
    for match in canonical_matches(text):
        if match is None:
            return None
        found.append(match)
    return found


def canonical_matches(text: str) -> Iterator[TokenMatch | None]:
    """``find_canonical`` one token at a time; ``None`` (and the end) at the first token that needs
    the forgiving grammar."""
    for hint in _HINT.finditer(text):
        m = _CANONICAL.match(text, hint.start())
        run = None if m is None else m.group(3)
        if m is None or run is None or len(run) not in BODY_LENGTHS or normalize_body(run) != run:
            yield None
            return
        yield TokenMatch(m.start(), m.end(), m.group(2), run)


def could_contain_token(text: str) -> bool:
    """Cheap pre-check: no ``mskv`` (any case, spaced) means nothing to rehydrate."""
    # Every match of ``m ?s ?k ?v`` holds "sk" or "s k": two substring tests on the lower-cased
    # text (~0.2 us) spare most texts the regex (0.5-1.5 us).
    # Case folding also maps U+017F (long s) to "s"; U+212A (Kelvin) lower-cases to "k" already.
    low = text.lower()
    return ("sk" in low or "s k" in low or "\u017f" in low) and _HINT.search(text) is not None


def could_hold_token(raw: bytes) -> bool:
    """``could_contain_token`` for any string of a raw JSON document: false means none of its
    strings (or keys) can hold a token."""
    # Every match of ``m ?s ?k ?v`` holds "sk" or "s k"; a \u escape may spell any letter. Three
    # substring tests on the lower-cased bytes: ~0.3 us a stream event (~3 for the regex).
    # The UTF-8 of U+017F (long s) and U+212A (Kelvin sign) folds to "s" and "k" too.
    low = raw.lower()
    return (
        b"sk" in low or b"s k" in low or b"\\u" in low or b"\xc5\xbf" in low or b"\xe2\x84\xaa" in low
    )


def could_start_token(text: str) -> bool:
    """Whether a token, or the beginning of one, could start anywhere in ``text``: every token
    begins with the prefix's first letter, in either case (``_PREFIX_RE`` under ``(?i)``)."""
    return _PREFIX_FIRST[0] in text or _PREFIX_FIRST[1] in text


def could_extend(text: str, start: int) -> bool:
    """Whether ``text[start:]`` is (a prefix of) a token that more text could still lengthen."""
    return TOKEN_PATTERN.fullmatch(text, start, partial=True) is not None
