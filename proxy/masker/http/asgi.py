"""ASGI entry point for multi-worker Hypercorn (``masker serve --workers N``)."""

from ..settings import Settings
from .app import create_app

app = create_app(Settings.from_env())
