"""Labelled synthetic PHI corpus for the detection benchmark (dev-only: Faker, never shipped)."""

from .dev import generate_dev_corpus
from .generate import Sample, generate_corpus

__all__ = ["Sample", "generate_corpus", "generate_dev_corpus"]
