"""Masker's Kubernetes operator: MaskerAgent resources in, proxy config and sidecars out.

Layering (kept small so each part is testable on its own):

* ``spec`` / ``render`` / ``sidecar`` / ``webhook_config`` / ``tls`` — pure builders: a MaskerAgent
  spec becomes ConfigMap/Secret bodies, a pod becomes a sidecar patch. No Kubernetes client here.
* ``kube`` — the only module that imports the ``kubernetes`` client.
* ``handlers`` — thin Kopf handlers: fetch, call a builder, write; nothing else.
* ``__main__`` — ``python -m masker_operator`` / ``masker-operator``.
"""

from .errors import ApiConflictError, ApiNotFoundError, OperatorError, SpecError, TransientApiError
from .settings import OperatorSettings

__all__ = [
    "ApiConflictError",
    "ApiNotFoundError",
    "OperatorError",
    "OperatorSettings",
    "SpecError",
    "TransientApiError",
]
