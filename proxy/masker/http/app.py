"""The app factory: ``create_app(settings, *, upstream_transport=None, detector=None)`` -> Quart app.

Quart, wired the way its documentation describes: ``create_app`` returns the ``Quart`` app, the
``Runtime`` (every pool, client and background task) is opened in ``before_serving`` and closed in
``after_serving``, and the chat endpoints sit in front as ASGI middleware on ``app.asgi_app``
(``chat_asgi``: the hot path, served without Quart's request machinery; see its docstring and
docs/architecture.md). Everything else (``/health``, unknown paths, lifespan) is Quart's.
"""

from __future__ import annotations

import httpx
from quart import Quart, Response
from werkzeug.exceptions import HTTPException

from ..detect.types import Detector
from ..errors import MaskerError
from ..settings import Settings
from .apis import bp as apis_bp
from .chat_asgi import BODY_TIMEOUT_SECONDS, ChatEndpoints
from .models import bp as models_bp
from .responses import error_response, internal_error, status_error
from .routes import bp
from .runtime import EXTENSION, Runtime, default_detector, runtime_of

__all__ = ["create_app", "default_detector"]


def create_app(
    settings: Settings,
    *,
    upstream_transport: httpx.AsyncBaseTransport | None = None,
    detector: Detector | None = None,
) -> Quart:
    app = Quart("masker")
    app.config.update(
        MAX_CONTENT_LENGTH=settings.limits.max_body_bytes,
        RESPONSE_TIMEOUT=None,  # streams last as long as the model talks
        BODY_TIMEOUT=BODY_TIMEOUT_SECONDS,
        PROVIDE_AUTOMATIC_OPTIONS=False,
    )
    app.register_blueprint(bp)
    app.register_blueprint(models_bp)
    app.register_blueprint(apis_bp)
    app.asgi_app = ChatEndpoints(app.asgi_app, app.extensions)  # type: ignore[method-assign]

    @app.before_serving
    async def open_runtime() -> None:
        app.extensions[EXTENSION] = await Runtime.open(
            settings, upstream_transport=upstream_transport, detector=detector
        )

    @app.after_serving
    async def close_runtime() -> None:
        runtime = runtime_of(app.extensions)
        if runtime is not None:
            del app.extensions[EXTENSION]
            await runtime.close()

    @app.errorhandler(MaskerError)
    async def masker_error(exc: MaskerError) -> Response:
        return error_response(exc)

    @app.errorhandler(HTTPException)
    async def http_error(exc: HTTPException) -> Response:
        return error_response(status_error(exc.code or 500))

    @app.errorhandler(Exception)
    async def unexpected(exc: Exception) -> Response:
        return error_response(internal_error(exc))

    return app
