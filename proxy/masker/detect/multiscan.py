"""A text's prefilter answers from one native scan (Hyperscan) instead of one regex program each.

Recognizers gate their work on cheap necessary conditions — "one of these words occurs", "this
small regex matches somewhere" — that ``Doc`` memoises per text. An utterance asks about sixty of
them; each is a separate ``re`` program, and between two requests the rest of the server evicts
them from the CPU caches, so inside the server they cost several times what a micro-benchmark
shows. Here every registered condition is compiled into one Hyperscan database; one scan of the
text answers all of them, and a ``Doc`` starts with its memos filled in.

Only definitive answers are filled in, so no finding can change:

* only for ASCII texts without the four control characters Python's ``\\s`` matches and PCRE's
  does not (Hyperscan speaks PCRE syntax; on such texts ``\\d``, ``\\w``, ``\\s``, ``\\b`` and case
  folding mean the same in both);
* a regex Hyperscan compiles as written is answered both ways; one it compiles only in
  *prefilter* mode (look-arounds approximated, so it may match more) is answered only when it
  does not match; one it cannot compile, or whose syntax could mean something else in PCRE, is
  left to ``re``, as is everything asked about that was never registered.

``tests/detect/test_multiscan.py`` checks every filled-in answer against ``re`` and ``str`` on the
corpora. Without the ``hyperscan`` wheel nothing is filled in and everything runs as before.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from typing import Any

try:
    import hyperscan
except ImportError:  # pragma: no cover - a platform without a wheel: the memos start empty
    hyperscan = None  # type: ignore[assignment]

# Python syntax that PCRE reads differently or Hyperscan lacks: atomic groups and possessive
# quantifiers, ``\Z`` (PCRE: also before a final newline), named back-references and conditionals,
# ``\u``/``\U``/``\N`` escapes and numbered back-references, ``{,n}`` (PCRE: literal text), POSIX
# classes, and verbose mode (its own whitespace rules).
_FOREIGN = re.compile(r"\(\?>|[*+?}]\+|\\[ZuUN1-9]|\(\?P=|\(\?\(|\{,|\[\[[:.=]|\(\?[a-zA-Z]*x")
_PCRE_SPACE_GAP = re.compile("[\x1c-\x1f]")  # ``\s`` to Python, not to PCRE

Gate = re.Pattern[str]
Words = tuple[str, ...]
# The memos a ``Doc`` starts with: regexes searched in the text, regexes searched in its lower-case
# copy, words looked for case-insensitively, words looked for as written.
Facts = tuple[dict[Gate, bool], dict[Gate, bool], dict[Words, bool], dict[Words, bool]]

_GATES, _LOWER_GATES, _FOLD_WORDS, _TEXT_WORDS = range(4)
# Each condition is asked once per text ("does it match anywhere"), and may match the empty string.
_BASE = 0 if hyperscan is None else hyperscan.HS_FLAG_SINGLEMATCH | hyperscan.HS_FLAG_ALLOWEMPTY


class MultiScan:
    """One database for every registered condition; ``facts(text)`` answers them in one scan."""

    def __init__(
        self,
        gates: Iterable[Gate],
        lower_gates: Iterable[Gate],
        fold_words: Iterable[Words],
        text_words: Iterable[Words],
    ) -> None:
        if hyperscan is None:
            raise RuntimeError("hyperscan is not installed")
        self._atoms: list[tuple[int, Any, bool]] = []  # (memo, key, answered both ways)
        self._templates: list[dict[Any, bool]] = [{}, {}, {}, {}]
        expressions: list[bytes] = []
        flags: list[int] = []
        for memo, rx in [*((_GATES, g) for g in gates), *((_LOWER_GATES, g) for g in lower_gates)]:
            if memo == _LOWER_GATES and rx.pattern != rx.pattern.lower():
                continue  # searched in the lower-case copy: as a case-blind scan only if all lower
            compiled = _compile(rx.pattern, _flags(rx.flags, caseless=memo == _LOWER_GATES))
            if compiled is not None:
                self._add(memo, rx, compiled, expressions, flags)
        for memo, words in [*((_FOLD_WORDS, w) for w in fold_words), *((_TEXT_WORDS, w) for w in text_words)]:
            if not words or (memo == _FOLD_WORDS and any(w != w.lower() for w in words)):
                continue  # an upper-case word never occurs in the lower-case copy
            caseless = hyperscan.HS_FLAG_CASELESS if memo == _FOLD_WORDS else 0
            literal = "|".join(re.escape(w) for w in words)
            compiled = _compile(literal, _BASE | caseless)
            if compiled is not None:
                self._add(memo, words, compiled, expressions, flags)
        self._db = hyperscan.Database()
        self._db.compile(
            expressions=expressions, ids=list(range(len(expressions))), elements=len(expressions), flags=flags
        )
        # A scratch space serves one scan at a time, and detection runs both on the event loop and
        # on the detection thread: one scratch per thread.
        self._local = threading.local()

    def _add(
        self,
        memo: int,
        key: Any,
        compiled: tuple[bytes, int, bool],
        expressions: list[bytes],
        flags: list[int],
    ) -> None:
        pattern, flag, exact = compiled
        self._atoms.append((memo, key, exact))
        self._templates[memo][key] = False
        expressions.append(pattern)
        flags.append(flag)

    def __len__(self) -> int:
        return len(self._atoms)

    def facts(self, text: str) -> Facts | None:
        """The memos a ``Doc`` of ``text`` starts with, or ``None`` when this text is left to ``re``."""
        if not text.isascii() or _PCRE_SPACE_GAP.search(text) is not None:
            return None
        hits: list[int] = []
        scratch = getattr(self._local, "scratch", None)
        if scratch is None:
            scratch = self._local.scratch = hyperscan.Scratch(self._db)
        self._db.scan(text.encode("ascii"), match_event_handler=lambda i, *_: hits.append(i), scratch=scratch)
        gates, lower_gates, fold_words, text_words = memos = [t.copy() for t in self._templates]
        for i in hits:
            memo, key, exact = self._atoms[i]
            if exact:
                memos[memo][key] = True
            else:  # it may match: ``re`` decides
                del memos[memo][key]
        return gates, lower_gates, fold_words, text_words


def _flags(re_flags: int, *, caseless: bool) -> int | None:
    """Hyperscan flags for a ``re`` pattern's flags; ``None`` for flags without an equivalent."""
    if re_flags & (re.VERBOSE | re.LOCALE | re.DEBUG):
        return None
    out = _BASE
    if caseless or re_flags & re.IGNORECASE:
        out |= hyperscan.HS_FLAG_CASELESS
    if re_flags & re.MULTILINE:
        out |= hyperscan.HS_FLAG_MULTILINE
    if re_flags & re.DOTALL:
        out |= hyperscan.HS_FLAG_DOTALL
    return out


def _compile(pattern: str, flags: int | None) -> tuple[bytes, int, bool] | None:
    """(expression, flags, exact) if Hyperscan takes the pattern as written or in prefilter mode."""
    if flags is None or _FOREIGN.search(pattern) or not pattern.isascii():
        return None
    expression = pattern.encode("ascii")
    for extra, exact in ((0, True), (hyperscan.HS_FLAG_PREFILTER, False)):
        try:
            hyperscan.Database().compile(expressions=[expression], ids=[0], elements=1, flags=[flags | extra])
        except hyperscan.error:
            continue
        return expression, flags | extra, exact
    return None
