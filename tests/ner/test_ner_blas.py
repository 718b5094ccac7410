"""The NER model multiplies through single-threaded OpenBLAS, not BLIS's generic kernel.

``masker_ner.model._single_threaded_blas`` explains why; these tests pin the set-up, because
either half alone is slower (BLIS's fallback kernel, or OpenBLAS's thread pool on tiny products).
"""

from __future__ import annotations

from typing import Any

from threadpoolctl import threadpool_info


def test_blas_is_limited_to_one_thread(spacy_ner: Any) -> None:
    blas = [pool for pool in threadpool_info() if pool["user_api"] == "blas"]
    assert blas and all(pool["num_threads"] == 1 for pool in blas)


def test_the_model_multiplies_through_numpy(spacy_ner: Any) -> None:
    (ner_pipe,) = spacy_ner._pipes  # the model's one pipe (a transition-based NER or a tagger)
    assert ner_pipe.model.ops.name == "numpy"
    assert ner_pipe.model.ops.use_blis is False
    # And it still finds what it found with BLIS (the PHI model has no DATE label: patterns find dates).
    labels = [s.label for s in spacy_ner.analyze(["Jane Roe flew to Boston on Monday."])[0]]
    assert [label for label in labels if label != "DATE"] == ["PERSON", "GPE"]
