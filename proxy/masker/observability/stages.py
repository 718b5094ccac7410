"""A per-request stage clock: one measurement feeds the histogram, the span and the audit record.

Without it each stage would be timed three times (metrics, tracing, audit) and the numbers would
disagree. ``measure()`` costs two ``perf_counter`` calls, so it is cheap enough to wrap every SSE
event's rehydration; durations of a stage measured several times are summed, and the histogram
gets one observation per stage per request in :meth:`RequestTimings.finish`.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from .metrics import STAGES, Metrics

__all__ = ["RequestTimings"]


@dataclass
class RequestTimings:
    """Accumulated seconds per stage for one request."""

    started: float = field(default_factory=time.perf_counter)
    seconds: dict[str, float] = field(default_factory=dict)
    _finished: bool = field(default=False, repr=False)

    @contextmanager
    def measure(self, stage: str) -> Iterator[None]:
        if stage not in STAGES or stage == "total":
            raise ValueError(f"unknown stage {stage!r}")
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.add(stage, time.perf_counter() - t0)

    def add(self, stage: str, seconds: float) -> None:
        self.seconds[stage] = self.seconds.get(stage, 0.0) + max(0.0, seconds)

    def ms(self, *stages: str) -> float:
        """Milliseconds spent in the given stages (for ``redaction_ms`` / ``upstream_ms``)."""
        return round(sum(self.seconds.get(s, 0.0) for s in stages) * 1000.0, 3)

    def total_seconds(self) -> float:
        return time.perf_counter() - self.started

    def finish(self, metrics: Metrics | None) -> float:
        """Observe every measured stage and the total once; returns total seconds. Idempotent."""
        total = self.total_seconds()
        if metrics is not None and not self._finished:
            for stage, secs in self.seconds.items():
                metrics.observe_stage(stage, secs)
            metrics.observe_stage("total", total)
        self._finished = True
        return total
