"""The upstream LLM: one pooled HTTP client for the process, and the built-in echo upstream."""

from .client import UpstreamClient, UpstreamResponse
from .echo import EchoTransport

__all__ = ["EchoTransport", "UpstreamClient", "UpstreamResponse"]
