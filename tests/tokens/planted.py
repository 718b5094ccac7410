"""A fake at the detector seam: reports planted values wherever they occur (for policy tests)."""

from __future__ import annotations

from collections.abc import Sequence

from masker.detect.propagate import collect
from masker.detect.types import DetectionResult, DetectOptions, Entity, Finding


class PlantedDetector:
    """Reports every occurrence of the planted values (a fake at the detector seam)."""

    def __init__(self, planted: dict[str, Entity]) -> None:
        self.planted = planted

    async def detect(
        self,
        texts: Sequence[str],
        options: DetectOptions,
        *,
        roles: Sequence[str] | None = None,
        known: Sequence[tuple[Entity, str]] = (),
    ) -> DetectionResult:
        # Known values are matched by the engine's own propagation, as in a real run.
        values = collect(texts, [[] for _ in texts], known) if known else None
        out: list[list[Finding]] = []
        for text in texts:
            found: list[Finding] = []
            for value, entity in self.planted.items():
                start = text.find(value)
                while start >= 0:
                    found.append(Finding(start, start + len(value), entity, 0.99, "planted"))
                    start = text.find(value, start + len(value))
            if values is not None:
                found.extend(values.find(text))
            found.sort(key=lambda f: f.start)
            out.append(found)
        return DetectionResult(out)

    async def close(self) -> None:
        return None
