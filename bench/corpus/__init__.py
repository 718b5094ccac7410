"""Labelled synthetic PHI corpus for the detection benchmark (dev-only: Faker, never shipped)."""

from .classes import generate_class_corpus
from .clinical_traps import generate_trap_corpus
from .dev import generate_dev_corpus
from .generate import Sample, generate_corpus
from .heldout import generate_heldout_corpus
from .safeharbor import generate_safeharbor_heldout, generate_safeharbor_tuning

__all__ = [
    "Sample",
    "generate_class_corpus",
    "generate_corpus",
    "generate_dev_corpus",
    "generate_heldout_corpus",
    "generate_safeharbor_heldout",
    "generate_safeharbor_tuning",
    "generate_trap_corpus",
]
