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

import asyncio
import os
import signal
import sys
from collections.abc import Sequence

from masker.detect.types import DetectionResult, DetectOptions
from masker.http.app import create_app
from masker.settings import Settings


class NullDetector:
    """Finds nothing, instantly."""

    async def detect(
        self, texts: Sequence[str], options: DetectOptions, *, roles: Sequence[str] | None = None
    ) -> DetectionResult:
        return DetectionResult([[] for _ in texts])

    async def close(self) -> None:
        return None


settings = Settings.from_env()
app = create_app(settings, detector=NullDetector())


def _config() -> object:
    from hypercorn.config import Config

    config = Config()
    config.bind = [settings.listen_addr]
    config.accesslog = None
    config.keep_alive_timeout = 75
    config.graceful_timeout = 20
    return config


def main() -> int:
    config = _config()
    if settings.workers > 1:
        from hypercorn.run import run

        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        config.application_path = "stack_app:app"  # type: ignore[attr-defined]
        config.workers = settings.workers  # type: ignore[attr-defined]
        return run(config)  # type: ignore[arg-type]
    from hypercorn.asyncio import serve

    stop = asyncio.Event()

    async def runner() -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await serve(app, config, shutdown_trigger=stop.wait)  # type: ignore[arg-type]

    asyncio.run(runner())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
