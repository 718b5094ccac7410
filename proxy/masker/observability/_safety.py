"""What may appear in a metric label, span attribute or audit field: short configured names only.

Labels and audit fields are written for years and read by people without PHI clearance, so they
accept only values that look like configuration names (agent names, policy ids, entity types,
route templates) and refuse anything shaped like an agent id: the agent id is the secret in the
proxy URL, and a metric label would publish it to everyone who can scrape ``/metrics``.
"""

from __future__ import annotations

import re

# agt_ + 26-char Crockford base32 ULID (docs/agents-file.md). Matched case-insensitively and
# anywhere in a value, so "/proxy/agt_.../v1/chat/completions" is caught too.
AGENT_ID_RE = re.compile(r"agt_[0-9A-HJKMNP-TV-Z]{26}", re.IGNORECASE)

# Configured names: letters, digits and a few separators; no spaces, no '@', bounded length.
_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:\-]{0,62}")
# Route templates such as "/proxy/{agent_id}/v1/chat/completions".
_ROUTE_RE = re.compile(r"/[A-Za-z0-9_.{}/\-]{0,127}")
_ENTITY_RE = re.compile(r"[A-Z][A-Z0-9_]{0,31}")
_REQUEST_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}")


def is_safe_name(value: str) -> bool:
    """True for a configuration-style name (agent name, tenant, policy id) that is not an agent id."""
    return bool(_NAME_RE.fullmatch(value)) and not AGENT_ID_RE.search(value)


def is_safe_route(value: str) -> bool:
    """True for a route template; the concrete path would carry the agent id."""
    return bool(_ROUTE_RE.fullmatch(value)) and not AGENT_ID_RE.search(value)


def is_entity_name(value: str) -> bool:
    """True for an entity type such as ``PHONE`` or ``CREDIT_CARD``."""
    return bool(_ENTITY_RE.fullmatch(value))


def is_request_id(value: str) -> bool:
    """True for a request id we generated (ULID/UUID-like)."""
    return bool(_REQUEST_ID_RE.fullmatch(value)) and not AGENT_ID_RE.search(value)
