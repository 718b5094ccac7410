"""The detection seam: what a detector reports, and the entity vocabulary shared by policies and tokens.

Every other layer (policies, tokens, the HTTP layer, the NER service) speaks these types, so they
live apart from any recognizer implementation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from masker_contracts.ner import NerSpan

__all__ = ["NerSpan"]  # the shared contract type, named here for the detection layer


class Entity(StrEnum):
    """Canonical entity types. The token label (what the upstream sees) is ``LABELS[entity]``."""

    PERSON = "PERSON"
    LOCATION = "LOCATION"  # city, county, named place below state level
    ADDRESS = "ADDRESS"  # street address
    ZIP = "ZIP"
    DATE = "DATE"  # any date element except a year on its own
    AGE = "AGE"  # ages over 89
    PHONE = "PHONE"
    FAX = "FAX"
    EMAIL = "EMAIL"
    SSN = "SSN"
    MRN = "MRN"
    HEALTH_PLAN_ID = "HEALTH_PLAN_ID"
    ACCOUNT_NUMBER = "ACCOUNT_NUMBER"
    LICENSE_NUMBER = "LICENSE_NUMBER"  # certificate / licence numbers (incl. NPI, DEA)
    DRIVER_LICENSE = "DRIVER_LICENSE"
    PASSPORT = "PASSPORT"
    VEHICLE_ID = "VEHICLE_ID"  # VIN, licence plate
    DEVICE_ID = "DEVICE_ID"
    URL = "URL"
    IP_ADDRESS = "IP_ADDRESS"
    ID_NUMBER = "ID_NUMBER"  # other unique identifiers: claim, case, ticket numbers
    CREDIT_CARD = "CREDIT_CARD"
    BANK_ACCOUNT = "BANK_ACCOUNT"
    IBAN = "IBAN"
    ROUTING_NUMBER = "ROUTING_NUMBER"
    SECRET = "SECRET"  # API keys, cloud credentials, tokens
    ORGANIZATION = "ORGANIZATION"


# Alphabetic only: tokens are ``MSKV1.<LABEL>.<BODY>`` and the label must survive case changes.
LABELS: dict[Entity, str] = {
    Entity.PERSON: "NAME",
    Entity.LOCATION: "PLACE",
    Entity.ADDRESS: "ADDRESS",
    Entity.ZIP: "ZIP",
    Entity.DATE: "DATE",
    Entity.AGE: "AGE",
    Entity.PHONE: "PHONE",
    Entity.FAX: "FAX",
    Entity.EMAIL: "EMAIL",
    Entity.SSN: "SSN",
    Entity.MRN: "MRN",
    Entity.HEALTH_PLAN_ID: "PLANID",
    Entity.ACCOUNT_NUMBER: "ACCOUNT",
    Entity.LICENSE_NUMBER: "LICENSE",
    Entity.DRIVER_LICENSE: "DRIVERLIC",
    Entity.PASSPORT: "PASSPORT",
    Entity.VEHICLE_ID: "VEHICLE",
    Entity.DEVICE_ID: "DEVICE",
    Entity.URL: "URL",
    Entity.IP_ADDRESS: "IP",
    Entity.ID_NUMBER: "IDNUM",
    Entity.CREDIT_CARD: "CARD",
    Entity.BANK_ACCOUNT: "BANKACCT",
    Entity.IBAN: "IBAN",
    Entity.ROUTING_NUMBER: "ROUTING",
    Entity.SECRET: "SECRET",
    Entity.ORGANIZATION: "ORG",
}
ENTITY_BY_LABEL: dict[str, Entity] = {label: entity for entity, label in LABELS.items()}


@dataclass(frozen=True, slots=True)
class Finding:
    """One detected span. ``recognizer`` and ``score`` say why it was flagged, without raw text."""

    start: int
    end: int
    entity: Entity
    score: float
    recognizer: str


class NerBackend(Protocol):
    """Named-entity recognition, in-process or over gRPC. Raises ``NerUnavailable`` on failure."""

    async def analyze(self, texts: Sequence[str]) -> list[list[NerSpan]]: ...

    async def close(self) -> None: ...


class NerUnavailable(Exception):
    """The NER backend could not answer (timeout, circuit open, service down)."""


class DetectionBudgetExceeded(Exception):
    """Detection of one request took longer than its budget. Not an NER outage: a "degrade" policy
    does not forward the text with patterns only; the request ends in the policy's failure outcome
    (fail-closed: 503)."""


@dataclass(frozen=True, slots=True)
class DetectOptions:
    """Per-request knobs that come from the policy."""

    allow: frozenset[str] = frozenset()  # exact values never reported (case-insensitive)
    deny: frozenset[str] = frozenset()  # exact values always reported as ID_NUMBER unless typed
    use_ner: bool = True
    thresholds: tuple[tuple[Entity, float], ...] = ()  # per-entity minimum scores
    default_threshold: float = 0.5
    # What to do when the NER backend fails: "raise" NerUnavailable (fail closed upstream of here)
    # or "degrade" to pattern recognizers only (DetectionResult.degraded is then True).
    on_ner_failure: str = "raise"


@dataclass(frozen=True, slots=True)
class DetectionResult:
    findings: list[list[Finding]]  # one list per input text, sorted, non-overlapping
    degraded: bool = False  # NER was unavailable; only pattern recognizers ran


class Detector(Protocol):
    """Finds PHI in a batch of texts.

    The texts of one request are passed in conversation order (all messages, then other fields), so
    a number split across two consecutive user turns can be recognised across the boundary; each
    finding is reported against the text it lies in. ``roles`` (optional, one per text: "user",
    "assistant", ...) limits that joining to consecutive *user* texts; without it any two
    consecutive texts whose boundary is numeric on both sides may be joined. ``known`` seeds values
    the caller knows to be PHI in this conversation ((entity, value) pairs): each is reported wherever
    it occurs in any text, with or without a cue. Every value found in one text is also reported
    wherever it recurs in the others.
    """

    async def detect(
        self,
        texts: Sequence[str],
        options: DetectOptions,
        *,
        roles: Sequence[str] | None = None,
        known: Sequence[tuple[Entity, str]] = (),
    ) -> DetectionResult: ...

    async def close(self) -> None: ...
