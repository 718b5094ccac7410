"""``GET /v1/models`` and ``GET /v1/models/{id}``, on the agent and the tenant route.

LiveKit's and Anthropic's clients list models when they warm up. An agent with ``allowed_models``
lists exactly those (with the upstream's details where it has them: an upstream that is down or
does not list models must not stop a warm-up); any other agent, and a tenant, gets the upstream's
list as it is. Model ids are the upstream's vocabulary, not caller text, so nothing is redacted.
"""

from __future__ import annotations

from typing import Any

from quart import Blueprint, Response, current_app, request

from ..agents import Agent
from ..errors import AgentNotFound, MaskerError, UpstreamError
from .chat_asgi import resolve_agent
from .responses import json_response
from .runtime import Runtime, runtime_of

bp = Blueprint("masker_models", __name__)


def _entry(model_id: str) -> dict[str, Any]:
    return {"id": model_id, "object": "model", "created": 0, "owned_by": "masker"}


async def _upstream_models(runtime: Runtime, agent: Agent) -> list[dict[str, Any]]:
    # The same upstream and credential rules as every other route (a tenant caller without its
    # own key is refused unless configured to use the operator's).
    route = runtime.resolver.route(agent, request.headers.get("authorization"))
    client, base_url, headers = route.client, route.base_url, route.headers
    if client is runtime.upstreams.echo:
        return [_entry("echo")]
    headers.pop("content-type", None)
    headers["accept"] = "application/json"
    response = await client.send("GET", base_url, "/models", None, headers)
    data = await response.json(client.timeout)
    if response.status >= 400:
        error = data.get("error")
        raise UpstreamError(
            f"The upstream LLM returned HTTP {response.status}.",
            upstream_status=response.status,
            upstream_body=error if isinstance(error, dict) else None,
        )
    entries = data.get("data")
    return (
        [e for e in entries if isinstance(e, dict) and isinstance(e.get("id"), str)]
        if isinstance(entries, list)
        else []
    )


async def _models(agent_id: str | None) -> list[dict[str, Any]]:
    runtime = runtime_of(current_app.extensions)
    if runtime is None:  # lifespan start-up has not finished
        raise MaskerError("The proxy is starting.")
    agent = resolve_agent(runtime, agent_id, {k.lower(): v for k, v in request.headers.items()})
    if not agent.allowed_models:
        return await _upstream_models(runtime, agent)
    try:
        known = {e["id"]: e for e in await _upstream_models(runtime, agent)}
    except MaskerError:
        known = {}
    return [known.get(m) or _entry(m) for m in sorted(agent.allowed_models)]


def _listing(models: list[dict[str, Any]]) -> Response:
    return json_response({"object": "list", "data": models})


def _one(models: list[dict[str, Any]], model_id: str) -> Response:
    for entry in models:
        if entry["id"] == model_id:
            return json_response(entry)
    raise AgentNotFound("The model does not exist or is not allowed for this caller.", code="model_not_found")


@bp.get("/v1/models")
async def tenant_models() -> Response:
    return _listing(await _models(None))


@bp.get("/v1/models/<path:model_id>")
async def tenant_model(model_id: str) -> Response:
    return _one(await _models(None), model_id)


@bp.get("/proxy/<agent_id>/v1/models")
async def agent_models(agent_id: str) -> Response:
    return _listing(await _models(agent_id))


@bp.get("/proxy/<agent_id>/v1/models/<path:model_id>")
async def agent_model(agent_id: str, model_id: str) -> Response:
    return _one(await _models(agent_id), model_id)
