"""PHI detection: pattern recognizers, spoken-form normalisation, NER, conflict resolution.

Public surface: ``DetectionEngine`` (the ``Detector``), ``InProcessNer`` (a ``NerBackend``), and the
seam types. Everything else in this package is an implementation detail.
"""

from .engine import DetectionEngine
from .inprocess import InProcessNer
from .types import (
    ENTITY_BY_LABEL,
    LABELS,
    DetectionBudgetExceeded,
    DetectionResult,
    DetectOptions,
    Detector,
    Entity,
    Finding,
    NerBackend,
    NerSpan,
    NerUnavailable,
)

__all__ = [
    "ENTITY_BY_LABEL",
    "LABELS",
    "DetectOptions",
    "DetectionBudgetExceeded",
    "DetectionEngine",
    "DetectionResult",
    "Detector",
    "Entity",
    "Finding",
    "InProcessNer",
    "NerBackend",
    "NerSpan",
    "NerUnavailable",
]
