"""The HTTP layer: Quart app factory, routes, error mapping, and ``masker serve``."""

from .app import create_app

__all__ = ["create_app"]
