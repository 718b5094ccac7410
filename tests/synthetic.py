"""Every synthetic PHI value the suite feeds in is registered here, for the end-of-suite leak sweep."""

from __future__ import annotations

VALUES: set[str] = set()


def register(*values: str) -> None:
    VALUES.update(v for v in values if v)
