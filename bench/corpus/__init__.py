"""Labelled synthetic PHI corpus for the detection benchmark (dev-only: Faker, never shipped)."""

from .generate import Sample, generate_corpus

__all__ = ["Sample", "generate_corpus"]
