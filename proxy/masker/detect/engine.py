"""The detection engine: pattern recognizers + spoken-form view + NER, cached per message.

Request path, per text: cache lookup (digest of text + options) → on a miss, Unicode folding
(``normalize``), pattern recognizers over the folded text and over its spoken-number digit view →
NER for the misses in one batch → thresholds, allow/deny lists → overlap resolution → offsets back
to the original → cache. Then numbers split across two consecutive user turns are looked for across
each boundary that ends and starts with something numeric, and every value found (or seeded as
``known``) is looked for again in every text (``propagate``).

Bounded: every step is linear in the input. A request whose texts are large (``offload_from``
characters) is analysed on a worker thread, so the event loop keeps serving other requests and
``/health``, under a time budget (``budget_seconds``): past it, ``DetectionBudgetExceeded`` is
raised (the policy's failure outcome: 503 when fail-closed) and the worker gives up at its next
checkpoint. Small texts (a voice turn) stay on the event loop, where a thread hop would cost more
than the work.
"""

from __future__ import annotations

import asyncio
import bisect
import concurrent.futures
import heapq
import re
import threading
import time
from collections.abc import Callable, Sequence
from typing import TypeVar

from .cache import FindingsCache, digest
from .fields import bare_name, despaced, field_pairs, hl7_name_parts, typed_value
from .keyed import MAX_VALUE, label_of
from .lexicon import NAME_LIKE_WORDS
from .ner import BLOB, ner_findings, ner_windows, shift, truecase
from .normalize import Normalized, normalize
from .propagate import RECOGNIZER as PROPAGATED
from .propagate import Values, collect
from .recognizer import Doc
from .recognizers.name_lexicon import is_known_name
from .registry import Registry
from .resolve import resolve
from .spoken import digit_view
from .types import (
    DetectionBudgetExceeded,
    DetectionResult,
    DetectOptions,
    Entity,
    Finding,
    NerBackend,
    NerSpan,
    NerUnavailable,
)
from .unwrap import unwrapped_windows

_T = TypeVar("_T")
_Span = tuple[int, int]
# A window NER may look at: its offset in the folded text, its text, and the candidate words in it.
_Window = tuple[int, str, list[_Span]]
_Prepared = dict[int, tuple[Normalized, list[Finding], list[_Window]]]

_HAS_LETTER = re.compile(r"[A-Za-z]{2}")
_WORD = re.compile(r"[^\W_]+")
# A turn boundary is worth joining only if a number (digits or number words) touches it.
_NUMERIC_TAIL = re.compile(
    r"(?:\d|\b(?:zero|oh|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|\w{3,5}teen|"
    r"twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|hundred|double|triple))[\s.,;:!?-]*$",
    re.I,
)
_NUMERIC_HEAD = re.compile(
    r"^[\s.,;:-]*(?:\d|(?:zero|oh|o|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|"
    r"\w{3,5}teen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|double|triple)\b)",
    re.I,
)
_JOIN_WINDOW = 64
_VIEW_BEFORE = 96  # characters of digit view kept before a rewritten run (context words, "area code")
_VIEW_AFTER = 64  # and after it (street names and suffixes, "years old", "is my social")
_MAX_CHAIN = 4  # turns
_MAX_MIDDLE = 200  # a middle turn longer than this is a message, not a fragment of a number
_STRIDE = 1 << 32  # virtual offset space for cached chain pieces
_EMPTY: list[Finding] = []
_TAIL_REACH = 64  # characters at the end of a turn a number may sit in ("... is four one five.")
OFFLOAD_FROM = 8192  # characters per request; below this detection runs on the event loop
BUDGET_SECONDS = 30.0
# Characters of NER input per backend call on the budgeted path: a pass of a few hundred
# milliseconds, so other requests' NER calls queue behind one slice, not behind the whole body.
_NER_SLICE = 8_192
_NER_FIRST_SLICE = 512
# What NER can add to a window: names, places, organisations. Values of these types found earlier in
# the request make the model unnecessary for a window whose every candidate word is one of them.
_NER_TYPES = frozenset({Entity.PERSON, Entity.LOCATION, Entity.ORGANIZATION})
_CHUNK = 65_536  # characters the pattern recognizers read at once in a long text
_OVERLAP = 1_024  # characters of context either side of a chunk (no value or cue is longer)


def _cut(text: str, pos: int) -> int:
    """A position near ``pos`` at a line break or space (within 256 characters back), else ``pos``."""
    if pos <= 0:
        return 0
    if pos >= len(text):
        return len(text)
    floor = max(0, pos - 256)
    cut = text.rfind("\n", floor, pos)
    if cut < 0:
        cut = text.rfind(" ", floor, pos)
    return cut + 1 if cut >= 0 else pos


class _Budget:
    """A deadline, and an abort flag set when the waiting request has gone (timed out, cancelled,
    engine closed): the worker checks it between steps and stops."""

    __slots__ = ("aborted", "deadline")

    def __init__(self, seconds: float) -> None:
        self.deadline = time.monotonic() + seconds
        self.aborted = threading.Event()

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def check(self) -> None:
        if self.aborted.is_set() or time.monotonic() > self.deadline:
            raise DetectionBudgetExceeded("detection exceeded its time budget")


def _above_threshold(candidates: list[Finding], options: DetectOptions) -> list[Finding]:
    if not candidates:
        return []
    thresholds = dict(options.thresholds)
    default = options.default_threshold
    return [f for f in candidates if f.score >= thresholds.get(f.entity, default)]


_BLOB_MIN = 256


def _blank_blobs(text: str) -> str:
    return BLOB.sub(lambda m: " " * (m.end() - m.start()), text)


def _covers(found: list[Finding], words: list[_Span], offset: int) -> bool:
    """Whether every word (offsets of the whole text) lies inside one of ``found`` (offsets of a
    window starting at ``offset``)."""
    if not found or not words:
        return False
    spans = sorted((f.start + offset, f.end + offset) for f in found)
    k = 0
    reach = -1
    for ws, we in words:  # in order
        while k < len(spans) and spans[k][0] <= ws:
            reach = max(reach, spans[k][1])
            k += 1
        if reach < we:
            return False
    return True


class DetectionEngine:
    """Implements ``Detector``. ``ner=None`` runs pattern recognizers only."""

    def __init__(
        self,
        ner: NerBackend | None = None,
        *,
        registry: Registry | None = None,
        cache: FindingsCache | None = None,
        budget_seconds: float = BUDGET_SECONDS,
        offload_from: int = OFFLOAD_FROM,
    ) -> None:
        self._ner = ner
        self._registry = registry or Registry()
        self.cache = cache if cache is not None else FindingsCache()
        self._option_regex: dict[frozenset[str], re.Pattern[str] | None] = {}
        self.budget_seconds = budget_seconds
        self.offload_from = offload_from
        self._executor: concurrent.futures.ThreadPoolExecutor | None = None
        self._budgets: set[_Budget] = set()

    async def close(self) -> None:
        for budget in self._budgets:
            budget.aborted.set()
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None
        if self._ner is not None:
            await self._ner.close()
        if self.cache.shared is not None:
            await self.cache.shared.close()

    # ------------------------------------------------------------------ public API

    async def detect(
        self,
        texts: Sequence[str],
        options: DetectOptions,
        *,
        roles: Sequence[str] | None = None,
        known: Sequence[tuple[Entity, str]] = (),
    ) -> DetectionResult:
        """Findings per text. ``roles`` (one per text, e.g. "user"/"assistant") restricts cross-turn
        joining to consecutive *user* turns; without it any two consecutive texts may be joined.
        ``known``: values of this conversation the caller already knows to be PHI (a voice
        platform's patient name, the caller's number), replaced wherever they occur."""
        results: list[list[Finding] | None] = []
        keys: list[tuple[bytes, DetectOptions]] = []
        pending: list[int] = []
        for i, text in enumerate(texts):
            key = (digest(text), options)
            keys.append(key)
            hit = self.cache.get(key) if text else _EMPTY
            results.append(hit)
            if hit is None:
                pending.append(i)

        shared = self.cache.shared
        if pending and shared is not None:  # another worker or replica may have seen them
            recalled = await self.cache.recall(
                [texts[i] for i in pending], [keys[i] for i in pending], options
            )
            for j, found in recalled.items():
                results[pending[j]] = found
            pending = [i for j, i in enumerate(pending) if j not in recalled]

        size = sum(len(t) for t in texts)
        budget = _Budget(self.budget_seconds) if size >= self.offload_from else None
        if budget is not None:
            self._budgets.add(budget)
        try:
            degraded = False
            if pending:
                degraded = await self._detect_pending(texts, pending, options, results, keys, budget)
            out: list[list[Finding]] = [r if r is not None else [] for r in results]
            self._add_cross_turn(texts, keys, roles, options, out)
            self._add_labelled_values(texts, keys, options, out)
            if known or any(out):
                out = await self._on_worker(budget, self._propagate, texts, out, known, budget)
        finally:
            if budget is not None:
                self._budgets.discard(budget)
        return DetectionResult(findings=out, degraded=degraded)

    async def _detect_pending(
        self,
        texts: Sequence[str],
        pending: list[int],
        options: DetectOptions,
        results: list[list[Finding] | None],
        keys: list[tuple[bytes, DetectOptions]],
        budget: _Budget | None,
    ) -> bool:
        """Detects the texts not in the cache; fills ``results``. True when NER was skipped."""
        prepared = await self._on_worker(budget, self._prepare, texts, pending, options, budget)
        degraded = False
        ner_targets = [(i, window) for i, (_, _, windows) in prepared.items() for window in windows]
        if ner_targets:
            try:
                if budget is None:
                    spans = await self._analyze_ner([seg for _, (_, seg, _) in ner_targets])
                    for (i, (offset, _, _)), seg_spans in zip(ner_targets, spans, strict=True):
                        norm, candidates, _ = prepared[i]
                        candidates.extend(ner_findings(norm.text, shift(seg_spans, offset)))
                else:
                    await self._ner_budgeted(prepared, ner_targets, options, budget)
            except NerUnavailable:
                if options.on_ner_failure != "degrade":
                    raise
                degraded = True
        finals = await self._on_worker(budget, self._finish, prepared, options, budget)
        for i, final in finals.items():
            results[i] = final
            if not degraded:  # a degraded answer must not outlive the outage
                self.cache.put(keys[i], final)
        if self.cache.shared is not None and not degraded:
            self.cache.publish([texts[i] for i in finals], list(finals.values()), options)
        return degraded

    def _prepare(
        self, texts: Sequence[str], pending: list[int], options: DetectOptions, budget: _Budget | None
    ) -> _Prepared:
        """Per text: the folded text, its pattern candidates, and the windows NER should see."""
        out: _Prepared = {}
        use_ner = options.use_ner and self._ner is not None
        for i in pending:
            norm = normalize(texts[i])
            candidates = self._chunked_candidates(norm.text, budget)
            candidates.extend(self._field_candidates(norm.text))
            windows: list[_Window] = []
            if use_ner and _HAS_LETTER.search(norm.text):
                # Only the words no confident pattern finding already covers can add anything, and
                # long texts send only the words around those.
                windows = [
                    (start, truecase(norm.text[start:end]), words)
                    for start, end, words in ner_windows(norm.text, self._claimed(candidates, options))
                ]
            out[i] = (norm, candidates, windows)
            if budget is not None:
                budget.check()
        return out

    def _chunked_candidates(self, text: str, budget: _Budget | None) -> list[Finding]:
        """``pattern_candidates`` over a long text in pieces of ``_CHUNK`` characters, each read with
        ``_OVERLAP`` characters of context either side and owning the findings that start in it.
        One regex call over megabytes holds the GIL for as long as it runs (the event loop thread
        included) and cannot be interrupted; over a piece, it is milliseconds."""
        if len(text) <= _CHUNK:
            return self.pattern_candidates(text, budget=budget)
        out: list[Finding] = []
        start = 0
        while start < len(text):
            end = _cut(text, start + _CHUNK)
            lo = _cut(text, start - _OVERLAP) if start else 0
            hi = _cut(text, end + _OVERLAP)
            for f in self.pattern_candidates(text[lo:hi], budget=budget):
                if start <= f.start + lo < end:
                    out.append(Finding(f.start + lo, f.end + lo, f.entity, f.score, f.recognizer))
            start = end
        return out

    def _finish(
        self,
        prepared: _Prepared,
        options: DetectOptions,
        budget: _Budget | None,
    ) -> dict[int, list[Finding]]:
        out: dict[int, list[Finding]] = {}
        for i, (norm, candidates, _) in prepared.items():
            final = self.finalize(norm.text, candidates, options)
            if not norm.identity:
                final = [
                    Finding(*norm.to_original(f.start, f.end), f.entity, f.score, f.recognizer) for f in final
                ]
            out[i] = final
            if budget is not None:
                budget.check()
        return out

    def _propagate(
        self,
        texts: Sequence[str],
        found: list[list[Finding]],
        known: Sequence[tuple[Entity, str]],
        budget: _Budget | None,
    ) -> list[list[Finding]]:
        values = collect(texts, found, known)
        if not values:
            return found
        out: list[list[Finding]] = []
        for text, fs in zip(texts, found, strict=True):
            extra = values.find(text) if text else []
            if extra:
                # Most of what is found again is where it was found in the first place.
                spans = {(f.start, f.end) for f in fs}
                extra = [f for f in extra if (f.start, f.end) not in spans]
            out.append(resolve([*fs, *extra], text) if extra else fs)
            if budget is not None:
                budget.check()
        return out

    async def _on_worker(self, budget: _Budget | None, fn: Callable[..., _T], *args: object) -> _T:
        """``fn(*args)`` inline without a budget; with one, on the detection thread, awaited no
        longer than the budget allows."""
        if budget is None:
            return fn(*args)
        if self._executor is None:
            # One thread: detection is pure Python and holds the GIL; a second thread would only
            # split the same core between two large requests.
            self._executor = concurrent.futures.ThreadPoolExecutor(
                max_workers=1, thread_name_prefix="masker-detect"
            )
        job = self._executor.submit(fn, *args)
        try:
            return await asyncio.wait_for(asyncio.wrap_future(job), max(0.0, budget.remaining()))
        except TimeoutError:
            raise DetectionBudgetExceeded("detection exceeded its time budget") from None
        finally:
            if not job.done():
                job.cancel()
                budget.aborted.set()

    async def _ner_budgeted(
        self,
        prepared: _Prepared,
        targets: list[tuple[int, _Window]],
        options: DetectOptions,
        budget: _Budget,
    ) -> None:
        """NER over a large request's windows in slices of about ``_NER_SLICE`` characters, so that
        it neither holds the model for seconds in one call nor outlives its budget.

        A large text repeats itself: the same window is sent once, and a window whose every
        candidate word is a name, place or organisation already found in the request (by a pattern
        or by NER in an earlier slice) is not sent at all — propagation replaces those words wherever
        they occur, so the model could only confirm them; their occurrences there are added now."""
        values, seen = await self._on_worker(budget, self._ner_values, prepared, options)
        memo: dict[str, list[NerSpan]] = {}
        done: list[tuple[int, _Window]] = []
        start = 0
        limit = _NER_FIRST_SLICE  # small at first, so that what the model finds spares it soon
        while start < len(targets) or done:
            end, size = start, 0
            while end < len(targets) and (end == start or size + len(targets[end][1][1]) <= limit):
                size += len(targets[end][1][1])
                end += 1
            # One hop to the detection thread: findings of the slice just analysed, then which
            # windows of the next slice still need the model.
            send = await self._on_worker(
                budget, self._ner_step, prepared, done, targets[start:end], memo, values, seen, budget
            )
            done, start = targets[start:end], end
            limit = min(2 * limit, _NER_SLICE)
            budget.check()
            if send:
                try:
                    spans = await asyncio.wait_for(self._analyze_ner(send), budget.remaining())
                except TimeoutError:
                    raise DetectionBudgetExceeded("detection exceeded its time budget") from None
                memo.update(zip(send, spans, strict=True))

    @staticmethod
    def _ner_values(prepared: _Prepared, options: DetectOptions) -> tuple[Values, set[str]]:
        """The names, places and organisations the patterns found (above threshold)."""
        values = Values()
        seen: set[str] = set()
        # Only a value with a word some window is sent for can spare the model a window.
        wanted = {
            norm.text[ws:we].lower()
            for norm, _, windows in prepared.values()
            for _, _, words in windows
            for ws, we in words
        }
        for norm, candidates, windows in prepared.values():
            if not windows:
                continue
            for f in _above_threshold(candidates, options):
                if f.entity in _NER_TYPES:
                    value = norm.text[f.start : f.end]
                    if value not in seen and not wanted.isdisjoint(_WORD.findall(value.lower())):
                        seen.add(value)
                        values.add(value, f.entity, f.score, PROPAGATED)
        return values, seen

    @staticmethod
    def _ner_step(
        prepared: _Prepared,
        done: list[tuple[int, _Window]],
        upcoming: list[tuple[int, _Window]],
        memo: dict[str, list[NerSpan]],
        values: Values,
        seen: set[str],
        budget: _Budget,
    ) -> list[str]:
        """Adds the findings of the ``done`` windows (their spans are in ``memo``, or they were
        covered by ``values``) and learns their values; returns the distinct windows of
        ``upcoming`` that still need the model."""
        for i, (offset, seg, _) in done:
            spans = memo.get(seg)
            if spans is None:
                continue  # covered: its findings were added when it was set aside
            norm, candidates, _ = prepared[i]
            found = ner_findings(norm.text, shift(spans, offset))
            candidates.extend(found)
            for f in found:
                value = norm.text[f.start : f.end]
                if value not in seen:
                    seen.add(value)
                    values.add(value, f.entity, f.score, PROPAGATED)
        budget.check()
        send: list[str] = []
        queued: set[str] = set()
        for i, (offset, seg, words) in upcoming:
            if seg in memo or seg in queued:
                continue
            if len(values):
                occurrences = values.find(seg)
                if _covers(occurrences, words, offset):
                    norm, candidates, _ = prepared[i]
                    candidates.extend(
                        Finding(f.start + offset, f.end + offset, f.entity, f.score, f.recognizer)
                        for f in occurrences
                    )
                    continue
            queued.add(seg)
            send.append(seg)
        return send

    def pattern_candidates(
        self, text: str, *, gated: bool = True, budget: _Budget | None = None
    ) -> list[Finding]:
        """Unfiltered candidates from the pattern recognizers (text + spoken digit view).
        ``gated=False`` turns the recognizers' prefilters off: same findings, slower (for tests)."""
        doc = Doc(text, gated=gated)
        out: list[Finding] = []
        for recognizer in self._registry.recognizers:
            if recognizer.applies(doc):
                out.extend(recognizer.analyze(doc))
            if budget is not None:
                budget.check()
        out.extend(self._spoken_candidates(text, gated=gated))
        if "\n" in text:
            out.extend(self._unwrapped_candidates(text, gated=gated))
        return out

    def _field_candidates(self, text: str) -> list[Finding]:
        """Values of the fields of structured text (``fields``): a value its label types as a whole
        (a city, a name, a postcode), or read again as "<label>: <value>" when the label names an
        identifier and the text did not already put a colon between them."""
        out = [
            Finding(s, e, Entity.PERSON, 0.7, "field:hl7_name")
            for s, e in hl7_name_parts(text, is_known_name)
        ]
        for pair in field_pairs(text):
            value = text[pair.start : pair.end]
            # A value spelled out one character at a time is read without its spaces, and what is
            # found in it covers the whole value.
            squeezed = despaced(value)
            read = squeezed if squeezed is not None else value
            entity = typed_value(pair.label, read)
            if entity is not None:
                out.append(Finding(pair.start, pair.end, entity, 0.85, f"field:{entity.value.lower()}"))
                continue
            if not pair.colon and bare_name(read, is_known_name, NAME_LIKE_WORDS):
                out.append(Finding(pair.start, pair.end, Entity.PERSON, 0.6, "field:bare_name"))
                continue
            if pair.colon and squeezed is None:
                continue
            # ("dOB", "pLZ": a key cased by a generator, not by camelCase; read it lower-cased too)
            label = label_of(pair.label) or label_of(pair.label.lower())
            if label is None:
                continue
            prefix = f"{label}: "
            shift = pair.start - len(prefix)
            for f in self.pattern_candidates(prefix + read):
                if f.start < len(prefix):
                    continue
                if squeezed is not None:
                    out.append(Finding(pair.start, pair.end, f.entity, f.score, f.recognizer + "+field"))
                    break
                found = Finding(f.start + shift, f.end + shift, f.entity, f.score, f.recognizer + "+field")
                out.append(found)
        return out

    def _unwrapped_candidates(self, text: str, *, gated: bool = True) -> list[Finding]:
        """The recognizers again around values broken over a line (``unwrap``): what crosses it."""
        out: list[Finding] = []
        for window in unwrapped_windows(text):
            doc = Doc(window.text, gated=gated)
            for recognizer in self._registry.wrappable:
                if recognizer.applies(doc):
                    for f in recognizer.analyze(doc):
                        if window.crosses(f.start, f.end):
                            start, end = window.to_original(f.start, f.end)
                            out.append(Finding(start, end, f.entity, f.score, f.recognizer + "+wrap"))
        return out

    @staticmethod
    def _claimed(candidates: list[Finding], options: DetectOptions) -> list[tuple[int, int]]:
        """Spans a pattern recognizer already reports above its threshold: NER cannot add to them."""
        return [(f.start, f.end) for f in _above_threshold(candidates, options)]

    def finalize(self, text: str, candidates: list[Finding], options: DetectOptions) -> list[Finding]:
        """Thresholds, allow/deny lists and overlap resolution."""
        kept = _above_threshold(candidates, options)
        if options.deny:
            kept.extend(self._deny_findings(text, kept, options.deny))
        if options.allow:
            kept = self._drop_allowed(text, kept, options.allow)
        return resolve(kept, text)

    # ------------------------------------------------------------------ internals

    def _spoken_candidates(self, text: str, *, gated: bool = True) -> list[Finding]:
        """Numeric recognizers over the digit view — only around what was rewritten, with enough
        margin for context words and multi-word shapes, so a long note with a few number words
        costs a few small windows rather than a second full pass."""
        # Blanked (same length, so offsets hold), an encoded blob costs the view nothing.
        view = digit_view(_blank_blobs(text) if len(text) > _BLOB_MIN else text, gated=gated)
        if view is None:
            return []
        vtext = view.text
        windows: list[tuple[int, int]] = []
        for s, e in view.changed:
            ws, we = max(0, s - _VIEW_BEFORE), min(len(vtext), e + _VIEW_AFTER)
            ws = 0 if ws == 0 else vtext.rfind(" ", 0, ws) + 1  # snap to word starts / ends
            nxt = vtext.find(" ", we)
            we = len(vtext) if nxt < 0 else nxt
            if windows and ws <= windows[-1][1]:
                windows[-1] = (windows[-1][0], max(we, windows[-1][1]))
            else:
                windows.append((ws, we))
        out: list[Finding] = []
        for ws, we in windows:
            vdoc = Doc(vtext[ws:we], gated=gated)
            for recognizer in self._registry.numeric:
                if not recognizer.applies(vdoc):
                    continue
                for f in recognizer.analyze(vdoc):
                    fs, fe = f.start + ws, f.end + ws
                    if view.touches_change(fs, fe):
                        start, end = view.to_original(fs, fe)
                        out.append(Finding(start, end, f.entity, f.score, f.recognizer + "+spoken"))
        return out

    async def _analyze_ner(self, texts: list[str]) -> list[list[NerSpan]]:
        if not texts:
            return []
        assert self._ner is not None
        try:
            spans = await self._ner.analyze(texts)
        except NerUnavailable:
            raise
        except Exception as exc:  # a backend bug must not bypass the fail-closed/degrade policy
            raise NerUnavailable(f"NER backend failed: {type(exc).__name__}") from exc
        if len(spans) != len(texts):
            raise NerUnavailable("NER backend returned a batch of the wrong size")
        return spans

    def _values_regex(self, values: frozenset[str]) -> re.Pattern[str] | None:
        rx = self._option_regex.get(values, False)
        if rx is False:
            parts = sorted((re.escape(v.strip()) for v in values if v.strip()), key=len, reverse=True)
            rx = re.compile(rf"(?<!\w)(?:{'|'.join(parts)})(?!\w)", re.I) if parts else None
            if len(self._option_regex) > 256:  # policies are few; this only guards against misuse
                self._option_regex.clear()
            self._option_regex[values] = rx
        return rx  # type: ignore[return-value]

    def _deny_findings(self, text: str, kept: list[Finding], deny: frozenset[str]) -> list[Finding]:
        rx = self._values_regex(deny)
        if rx is None:
            return []
        # Matches come in order and do not overlap, so one sweep finds the strongest finding over
        # each: a heap of the findings begun before the match ends, dropped once they end before it.
        by_start = sorted(kept, key=lambda f: f.start)
        active: list[tuple[float, int, Finding]] = []
        nxt = 0
        out: list[Finding] = []
        for m in rx.finditer(text):
            start, end = m.span()
            while nxt < len(by_start) and by_start[nxt].start < end:
                f = by_start[nxt]
                heapq.heappush(active, (-f.score, nxt, f))
                nxt += 1
            while active and active[0][2].end <= start:
                heapq.heappop(active)
            entity = active[0][2].entity if active else Entity.ID_NUMBER
            out.append(Finding(start, end, entity, 1.0, "deny_list"))
        return out

    def _drop_allowed(self, text: str, kept: list[Finding], allow: frozenset[str]) -> list[Finding]:
        allowed_lower = {v.strip().lower() for v in allow}
        rx = self._values_regex(allow)
        zones = [m.span() for m in rx.finditer(text)] if rx is not None else []
        zone_starts = [s for s, _ in zones]
        out = []
        for f in kept:
            if f.recognizer == "deny_list":
                out.append(f)
                continue
            if text[f.start : f.end].strip().lower() in allowed_lower:
                continue
            k = bisect.bisect_right(zone_starts, f.start) - 1  # zones are disjoint and in order
            if k >= 0 and f.end <= zones[k][1]:
                continue
            out.append(f)
        return out

    def _add_cross_turn(
        self,
        texts: Sequence[str],
        keys: list[tuple[bytes, DetectOptions]],
        roles: Sequence[str] | None,
        options: DetectOptions,
        out: list[list[Finding]],
    ) -> None:
        """Join chains of up to four consecutive user turns whose boundaries are numeric on both
        sides ("my number is 415" / "555" / "2671") and add the pieces of any number crossing them."""
        n = len(texts)
        i = 0
        while i < n - 1:
            if not self._joinable(texts, roles, i):
                i += 1
                continue
            j = i + 1
            while (
                j < n - 1
                and j - i < _MAX_CHAIN - 1
                and len(texts[j]) <= _MAX_MIDDLE
                and self._joinable(texts, roles, j)
            ):
                j += 1
            chain = list(range(i, j + 1))
            chain_key = ("chain", *(keys[k][0] for k in chain), options)
            pieces = self.cache.get(chain_key)
            if pieces is None:
                pieces = self._split_chain([texts[k] for k in chain], options)
                self.cache.put(chain_key, pieces)
            # Pieces are stored in one virtual offset space: chain position * _STRIDE + offset.
            for piece in pieces:
                pos, start = divmod(piece.start, _STRIDE)
                k = chain[pos]
                found = Finding(start, piece.end - pos * _STRIDE, piece.entity, piece.score, piece.recognizer)
                out[k] = resolve([*out[k], found], texts[k])
            i = j

    def _add_labelled_values(
        self,
        texts: Sequence[str],
        keys: list[tuple[bytes, DetectOptions]],
        options: DetectOptions,
        out: list[list[Finding]],
    ) -> None:
        """A short text right after a text that is only a label (a JSON key, a form field) is read
        as "<label>: <value>" too (see ``keyed``): "282471" after "mrn" is a record number."""
        for i in range(1, len(texts)):
            value = texts[i]
            if not value.strip() or len(value) > MAX_VALUE:
                continue
            key = texts[i - 1]
            entity = typed_value(key, value.strip()) if len(key) <= MAX_VALUE else None
            if entity is not None:
                start = len(value) - len(value.lstrip())
                typed = Finding(start, len(value.rstrip()), entity, 0.85, f"field:{entity.value.lower()}+key")
                out[i] = resolve([*out[i], typed], value)
                continue
            label = label_of(key)
            if label is None:
                continue
            pair_key = ("keyed", keys[i - 1][0], keys[i][0], options)
            found = self.cache.get(pair_key)
            if found is None:
                prefix = f"{label}: "
                norm = normalize(prefix + value)
                final = self.finalize(norm.text, self.pattern_candidates(norm.text), options)
                found = []
                for f in final:
                    start, end = norm.to_original(f.start, f.end) if not norm.identity else (f.start, f.end)
                    if start >= len(prefix):
                        start, end = start - len(prefix), end - len(prefix)
                        found.append(Finding(start, end, f.entity, f.score, f.recognizer + "+key"))
                self.cache.put(pair_key, found)
            if found:
                out[i] = resolve([*out[i], *found], value)

    @staticmethod
    def _joinable(texts: Sequence[str], roles: Sequence[str] | None, i: int) -> bool:
        if roles is not None and (i + 1 >= len(roles) or roles[i] != "user" or roles[i + 1] != "user"):
            return False
        a, b = texts[i], texts[i + 1]
        return (
            bool(a)
            and bool(b)
            and _NUMERIC_TAIL.search(a, max(0, len(a) - _TAIL_REACH)) is not None
            and _NUMERIC_HEAD.search(b) is not None
        )

    def _split_chain(self, chain: list[str], options: DetectOptions) -> list[Finding]:
        """Findings crossing a turn boundary, cut into one piece per turn. Tries a space join
        ("415 555" + "2671") and a tight join ("123-45" + "6789") and keeps the better reading."""
        # (turn position, offset of the piece in that turn, piece text)
        parts: list[tuple[int, int, str]] = []
        last = len(chain) - 1
        for pos, text in enumerate(chain):
            start = len(text) - len(text.lstrip(" \t\n.,;:-")) if pos > 0 else 0
            end = len(text.rstrip(" \t\n.,;:!?")) if pos < last else len(text)
            if pos == 0:
                start = max(0, end - _JOIN_WINDOW)
            if pos == last:
                end = min(end, start + _JOIN_WINDOW)
            parts.append((pos, start, text[start:end]))
        best: list[Finding] = []
        best_score = 0.0
        for glue in (" ", ""):
            joined = glue.join(p[2] for p in parts)
            bounds: list[tuple[int, int]] = []  # [start, end) of each part in `joined`
            cursor = 0
            for _, _, piece in parts:
                bounds.append((cursor, cursor + len(piece)))
                cursor += len(piece) + len(glue)
            inner = [b[1] for b in bounds[:-1]]  # boundary positions

            def crosses(f: Finding, inner: list[int] = inner, glue: str = glue) -> bool:
                return any(f.start < edge and f.end > edge + len(glue) for edge in inner)

            candidates = [f for f in self._numeric_candidates(joined) if crosses(f)]
            crossing = [f for f in self.finalize(joined, candidates, options) if crosses(f)]
            score = max((f.score for f in crossing), default=0.0)
            if score <= best_score + 0.01:
                continue
            best_score = score
            best = []
            for f in crossing:
                tag = f.recognizer + "+turns"
                for (pos, offset, piece), (b_start, b_end) in zip(parts, bounds, strict=True):
                    s, e = max(f.start, b_start), min(f.end, b_end)
                    if e - s <= 0 or not piece[s - b_start : e - b_start].strip():
                        continue
                    start = pos * _STRIDE + offset + (s - b_start)
                    best.append(Finding(start, start + (e - s), f.entity, f.score, tag))
        return best

    def _numeric_candidates(self, text: str) -> list[Finding]:
        doc = Doc(text)
        out: list[Finding] = []
        for recognizer in self._registry.numeric:
            if recognizer.applies(doc):
                out.extend(recognizer.analyze(doc))
        out.extend(self._spoken_candidates(text))
        return out
