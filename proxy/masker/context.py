"""One request's context: everything that applies to it, decided in one place before any work.

The HTTP layer knows *who* is calling (an agent from the URL, or a tenant from ``X-Api-Key``);
``ContextResolver.resolve`` turns that, the request headers and the parsed body into a
``RequestContext``; the pipeline then only follows it. Precedence, highest first:

    policy        1. ``policy_id`` in the body, only if it is the caller's own policy or listed in
                     the agent's ``allowed_policies`` (tenants: MASKER_TENANT_ALLOWED_POLICIES);
                     anything else is refused (403 policy_not_allowed), never a silent downgrade
                  2. the agent's ``policy_inline``, else its ``policy`` (tenants: MASKER_TENANT_POLICY)
    model         must be one of the agent's ``allowed_models`` when it lists any (422)
    strip fields  the agent's ``strip_fields`` plus the policy's (both always apply)
    fail mode     the policy's ``fail_mode`` (or legacy ``ner_failure: degrade``), else the agent's,
                  else MASKER_DEFAULT_FAIL_MODE (closed | degrade | open: see ``masker.failmode``)
    platform      the agent's ``platform:`` setting, else auto-detection (``masker.platforms``):
                  its own fields are stripped before anything else reads the body, its known PHI
                  values (caller's number, ``variableValues``) join detection, its turn key names
                  the logical turn
    token scope   the agent (or tenant), narrowed to a conversation id: a conversation header,
                  else the platform's own id (Vapi's ``call.id``, …), else the connection's
                  (a Responses WebSocket); a chained Responses turn keeps its chain's
    upstream      the agent's ``upstream.base_url``, else MASKER_OPENAI_BASE_URL, else OpenAI;
                  with no upstream configured at all, the built-in echo upstream
    credentials   1. the agent's own key (``upstream.api_key_ref``)
                  2. on the tenant route, the caller's ``Authorization``
                  3. the operator's MASKER_OPENAI_API_KEY: for agents always; for a tenant only if
                     it is listed in MASKER_TENANT_OPERATOR_KEY — otherwise 401, so a tenant caller
                     never spends the operator's key by leaving its own out

Policy names an agent refers to (``policy``, ``allowed_policies``) are checked when the agents file
is loaded (``masker.agents``), so an unknown name stops the start-up or the reload, never a request.
The fields Masker itself interprets are type-checked here (``check_fields``): a value of the wrong
type is a 400, not a guess.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .agents import Agent
from .errors import BadRequest, Forbidden, Unauthorized, Unprocessable
from .failmode import FailMode
from .platforms import OPENAI_CHAT_FIELDS, PlatformTurn, prepare
from .policy import Policy
from .settings import Settings
from .upstream.client import UpstreamClient

DEFAULT_OPENAI_BASE_URL = "https://api.openai.com/v1"
ECHO_BASE_URL = "http://echo.invalid/v1"
_EFFECTIVE_CACHE_LIMIT = 1024


@dataclass
class Upstreams:
    """The process's upstream clients and the operator's defaults."""

    real: UpstreamClient
    echo: UpstreamClient
    default_base_url: str | None
    default_api_key: str | None
    echo_default: bool


# Not frozen: a frozen dataclass sets each field through object.__setattr__, ~1 us per object on
# the hot path, for objects nothing holds on to after the request.
@dataclass(slots=True)
class UpstreamRoute:
    client: UpstreamClient
    base_url: str
    headers: dict[str, str]  # this request's own copy: the pipeline adds trace headers to it


@dataclass(slots=True)
class RequestContext:
    agent: Agent
    policy: Policy  # effective: strip fields and fail mode folded in (same name as the chosen one)
    fail_mode: FailMode
    stream: bool
    conversation: str | None  # narrows the token scope within the agent
    upstream: UpstreamRoute
    turn: PlatformTurn  # the platform's profile applied to this body; ``turn.known`` goes to detection


class ContextResolver:
    def __init__(self, settings: Settings, policies: Mapping[str, Policy], upstreams: Upstreams) -> None:
        self.settings = settings
        self.policies = policies
        self.upstreams = upstreams
        # One effective Policy object per combination: the findings cache keys on the policy's
        # DetectOptions object, so the same combination must keep giving the same object.
        self._effective: dict[tuple[int, frozenset[str], FailMode], Policy] = {}

    def resolve(
        self,
        agent: Agent,
        headers: Mapping[str, str],
        body: dict[str, Any],
        *,
        pass_headers: tuple[str, ...],
        api_fields: frozenset[str] = OPENAI_CHAT_FIELDS,
        protocol_fields: frozenset[str] | None = None,
        connection: str | None = None,
    ) -> RequestContext:
        """Everything that applies to this request, for every route (chat, Responses, Messages,
        models, the Responses WebSocket). ``api_fields``/``protocol_fields``: the upstream API's
        top-level fields (see ``platforms.prepare``); ``connection``: a WebSocket's own scope."""
        # Ours, read before the platform profile strips unknown fields: a policy_id the caller
        # sends is always checked, never silently dropped on one route and honoured on another.
        requested = body.pop("policy_id", None)
        stream = check_fields(body)
        chosen = self.policy_for(agent, requested)
        if agent.allowed_models and body.get("model") not in agent.allowed_models:
            raise Unprocessable(
                "The requested model is not allowed for this agent.", code="model_not_allowed", param="model"
            )
        turn = prepare(
            agent.platform, agent.id, headers, body, api_fields=api_fields, protocol_fields=protocol_fields
        )
        fail_mode = self.fail_mode(agent, chosen)
        policy = self._effective_policy(chosen, agent.strip_fields, fail_mode)
        route = self.route(agent, headers.get("authorization"))
        for name in pass_headers:
            if name in headers:
                route.headers[name] = headers[name]
        conversation = turn.conversation_id or connection
        return RequestContext(agent, policy, fail_mode, stream, conversation, route, turn)

    def own_policy(self, agent: Agent) -> Policy:
        if agent.policy_inline is not None:
            return agent.policy_inline
        return self.policies[agent.policy]  # names were checked when the table was loaded

    def policy_for(self, agent: Agent, requested: Any) -> Policy:
        own = self.own_policy(agent)
        if requested is None:
            return own
        if not isinstance(requested, str):
            raise BadRequest("'policy_id' must be a string.", param="policy_id", code="invalid_type")
        if requested == own.name:
            return own
        if requested not in agent.allowed_policies:
            raise Forbidden(
                "This agent may not choose that policy.", param="policy_id", code="policy_not_allowed"
            )
        return self.policies[requested]

    def fail_mode(self, agent: Agent, policy: Policy) -> FailMode:
        return policy.fail_mode or agent.fail_mode or self.settings.access.default_fail_mode

    def _effective_policy(self, policy: Policy, strip: frozenset[str], fail_mode: FailMode) -> Policy:
        key = (id(policy), strip, fail_mode)
        effective = self._effective.get(key)
        if effective is None or effective.name != policy.name:
            if len(self._effective) > _EFFECTIVE_CACHE_LIMIT:
                self._effective.clear()
            if strip <= policy.strip_fields and fail_mode == policy.fail_mode:
                effective = policy
            else:
                effective = dataclasses.replace(
                    policy, strip_fields=policy.strip_fields | strip, fail_mode=fail_mode
                )
            self._effective[key] = effective
        return effective

    def route(self, agent: Agent, caller_auth: str | None) -> UpstreamRoute:
        ups = self.upstreams
        headers = {"content-type": "application/json", "accept": "application/json, text/event-stream"}
        if agent.base_url:
            base_url, client = agent.base_url, ups.real
        elif ups.echo_default and not agent.api_key:
            return UpstreamRoute(ups.echo, ECHO_BASE_URL, headers)
        else:
            base_url, client = ups.default_base_url or DEFAULT_OPENAI_BASE_URL, ups.real
        if agent.api_key:
            headers["authorization"] = f"Bearer {agent.api_key}"
        elif agent.forward_caller_auth and caller_auth:
            headers["authorization"] = caller_auth
        elif agent.forward_caller_auth:  # a tenant caller that sent no key of its own
            if ups.default_api_key and self.settings.upstream.tenant_uses_operator_key(agent.tenant or ""):
                headers["authorization"] = f"Bearer {ups.default_api_key}"
            else:
                raise Unauthorized(
                    "Send your upstream API key in the Authorization header.", code="missing_upstream_key"
                )
        elif ups.default_api_key:
            headers["authorization"] = f"Bearer {ups.default_api_key}"
        return UpstreamRoute(client, base_url, headers)


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _bad(param: str, expected: str) -> BadRequest:
    return BadRequest(f"'{param}' must be {expected}.", param=param, code="invalid_type")


# Fields Masker reads or whose value an upstream would silently change (a non-finite number is
# written as null): (check, what the message says). ``None`` is always allowed (= not set).
_NUMBER = (_number, "a finite number")
_INTEGER = (_integer, "an integer")
_FIELD_TYPES: dict[str, tuple[Any, str]] = {
    "temperature": _NUMBER,
    "top_p": _NUMBER,
    "presence_penalty": _NUMBER,
    "frequency_penalty": _NUMBER,
    "n": _INTEGER,
    "max_tokens": _INTEGER,
    "max_completion_tokens": _INTEGER,
    "seed": _INTEGER,
    "top_logprobs": _INTEGER,
    "logprobs": (lambda v: isinstance(v, bool), "true or false"),
    "parallel_tool_calls": (lambda v: isinstance(v, bool), "true or false"),
}


def check_fields(body: Mapping[str, Any]) -> bool:
    """Type-check the fields we interpret; returns whether the caller asked for a stream."""
    stream = body.get("stream")
    if stream is not None and not isinstance(stream, bool):
        raise _bad("stream", "true or false")
    options = body.get("stream_options")
    if options is not None:
        if not isinstance(options, Mapping):
            raise _bad("stream_options", "an object")
        usage = options.get("include_usage")
        if usage is not None and not isinstance(usage, bool):
            raise _bad("stream_options.include_usage", "true or false")
    for name in _FIELD_TYPES.keys() & body.keys():  # usually none or two of them are present
        value = body[name]
        check, expected = _FIELD_TYPES[name]
        if value is not None and not check(value):
            raise _bad(name, expected)
    return bool(stream)
