"""What happens to a request when detection cannot be completed: one setting, three levels.

    closed   the request is refused (503 redaction_failed); nothing is forwarded.
    degrade  the NER model is unavailable: pattern recognizers alone redact the request, which is
             marked ``degraded``; any other detection failure is handled as ``closed``.
    open     as ``degrade`` when only NER is down; when detection cannot run at all, the request
             is forwarded unredacted and counted (``masker_fail_open_total``).

Resolved per request in ``masker.context`` (policy, then agent, then ``MASKER_DEFAULT_FAIL_MODE``).
Older files spelled ``degrade`` as a separate policy key, ``ner_failure: degrade``; it is still read
(policy.py) and means the same level.
"""

from __future__ import annotations

from enum import StrEnum


class FailMode(StrEnum):
    CLOSED = "closed"
    DEGRADE = "degrade"
    OPEN = "open"

    @property
    def degrades_on_ner_failure(self) -> bool:
        return self is not FailMode.CLOSED

    @property
    def forwards_on_failure(self) -> bool:
        return self is FailMode.OPEN
