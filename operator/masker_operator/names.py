"""Names shared by the builders, the handlers and the docs: labels, annotations, object names.

Changing any of these is a breaking change for running clusters (selectors, mounted volumes).
"""

from __future__ import annotations

import hashlib
import re

DOMAIN = "masker.dev"

# Pod-side contract of the sidecar injector.
INJECT_LABEL = f"{DOMAIN}/inject"  # label, value "true": the webhook looks at this pod
AGENT_ANNOTATION = f"{DOMAIN}/agent"  # annotation: name of the MaskerAgent in the pod's namespace
BASE_URL_ANNOTATION = f"{DOMAIN}/inject-base-url"  # "true"/"false": set OPENAI_BASE_URL in app containers
BASE_URL_ENV_ANNOTATION = f"{DOMAIN}/base-url-env"  # env var name, default OPENAI_BASE_URL
INJECTED_ANNOTATION = f"{DOMAIN}/injected"  # set by the webhook, makes injection idempotent
NAMESPACE_OPT_OUT_LABEL = f"{DOMAIN}/injection"  # namespace label "disabled" = never inject there

# MaskerAgent-side.
ROTATE_ANNOTATION = f"{DOMAIN}/rotate-keys"  # change the value to add a new token key
ROTATION_TOKEN_ANNOTATION = f"{DOMAIN}/rotation-token"  # on the Secret: last rotation honoured
AGENT_LABEL = f"{DOMAIN}/agent"  # on owned objects: which MaskerAgent they belong to
# On a user's Secret, value "true": MaskerAgents may reference it (upstream key, Vapi secret, vault
# database URL). Without it, anyone allowed to create a MaskerAgent could make the operator copy any
# Secret of the namespace and send it to an upstream of their choosing.
CREDENTIALS_LABEL = f"{DOMAIN}/upstream-credentials"
DELETED_ANNOTATION = f"{DOMAIN}/deleted"  # on a tombstoned ConfigMap: its agent was deleted
MANAGED_BY = {"app.kubernetes.io/managed-by": "masker-operator", "app.kubernetes.io/name": "masker"}

SIDECAR_NAME = "masker-proxy"
AGENTS_KEY = "agents.yaml"  # ConfigMap key, the file the proxy reads (docs/agents-file.md)
CONFIG_MOUNT = "/etc/masker/agent"
SECRETS_MOUNT = "/etc/masker/secrets"
DATABASE_URL_KEY = "MASKER_DATABASE_URL"  # in the owned Secret: the agent's vault database URL
DATA_MOUNT = "/data"  # the proxy image's MASKER_DATA_DIR (Dockerfile.proxy)

_PREFIX = "masker-agent-"
_MAX_NAME = 253


def owned_object_name(agent_name: str) -> str:
    """ConfigMap and Secret name for an agent; stays a valid object name for any agent name."""
    name = _PREFIX + agent_name
    if len(name) <= _MAX_NAME:
        return name
    digest = hashlib.sha256(agent_name.encode()).hexdigest()[:10]
    return f"{name[: _MAX_NAME - 11]}-{digest}"


def ref_suffix(agent_name: str) -> str:
    """Agent name as an env-var-safe suffix: ``front-desk`` -> ``FRONT_DESK``."""
    return re.sub(r"[^A-Z0-9]", "_", agent_name.upper())
