"""Masker: an OpenAI-compatible proxy that keeps PHI away from hosted LLMs."""

__version__ = "0.1.0"
__all__ = ["__version__"]
