"""Our own stack with detection switched off: the real app (Quart + Hypercorn + pipeline + upstream
client + vault session), built by the real ``create_app`` with a detector that finds nothing.

Why it exists: the proxy has no "redaction off" mode, and a keep-everything policy (the
``floor`` configuration, ``bench/policies/passthrough.yaml``) still runs detection on every text —
only tokenization is skipped. This is the true pass-through floor of our stack; both are measured
and reported. Nothing here is reachable from ``masker serve``.

Run: ``python bench/stack_app.py`` with the same ``MASKER_*`` env as ``masker serve``
(``MASKER_WORKERS`` > 1 re-imports this module in each worker, like ``masker.http.asgi``).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from masker.detect.types import DetectionResult, DetectOptions, Entity
from masker.http.app import create_app
from masker.http.serve import hypercorn_config, serve_forever, serve_workers
from masker.settings import Settings


class NullDetector:
    """Finds nothing, instantly."""

    async def detect(
        self,
        texts: Sequence[str],
        options: DetectOptions,
        *,
        roles: Sequence[str] | None = None,
        known: Sequence[tuple[Entity, str]] = (),
    ) -> DetectionResult:
        return DetectionResult([[] for _ in texts])

    async def close(self) -> None:
        return None


settings = Settings.from_env()
app = create_app(settings, detector=NullDetector())


def main() -> int:
    config = hypercorn_config(settings)
    if settings.server.workers > 1:
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        return serve_workers(config, "stack_app:app", settings.server.workers)
    serve_forever(app, config)
    return 0


if __name__ == "__main__":
    sys.exit(main())
