"""Partial identifiers callers are asked for: "the last four of my social are 1234", "card ending
in 4242". Four digits alone say little, but tied to the identifier they belong to they are part of
it and are reported with its type."""

from __future__ import annotations

import re

from ..recognizer import Doc, Recognizer
from ..types import Entity, Finding

_KINDS = {
    "social": Entity.SSN, "ssn": Entity.SSN, "social security": Entity.SSN,
    "card": Entity.CREDIT_CARD, "credit card": Entity.CREDIT_CARD, "debit card": Entity.CREDIT_CARD,
    "visa": Entity.CREDIT_CARD, "mastercard": Entity.CREDIT_CARD, "amex": Entity.CREDIT_CARD,
    "account": Entity.ACCOUNT_NUMBER, "checking": Entity.BANK_ACCOUNT, "savings": Entity.BANK_ACCOUNT,
    "phone": Entity.PHONE, "number": Entity.ID_NUMBER, "member id": Entity.HEALTH_PLAN_ID,
    "policy": Entity.HEALTH_PLAN_ID,
}  # fmt: skip
_KIND = "|".join(sorted((re.escape(k).replace(r"\ ", r"\s+") for k in _KINDS), key=len, reverse=True))
_LAST_FOUR = re.compile(
    rf"\blast\s+(?:four|4|five|5|six|6)(?:\s+digits)?(?:\s+(?:(?:of|on)\s+(?:my|the|your|his|her)?\s*)?(?P<kind>{_KIND}))?"
    rf"(?:\s+(?:number|#))?\s*(?:is|are|was|were|:|-)?\s*(?P<v>\d{{4,6}})(?![\w-])",
    re.IGNORECASE,
)
_ENDING_IN = re.compile(
    rf"\b(?P<kind>{_KIND})(?:\s+number)?\s+(?:ending|ends|that\s+ends)\s+(?:in|with)\s+(?P<v>\d{{4,6}})(?![\w-])",
    re.IGNORECASE,
)


# A number shown masked but for its last digits ("XXX-XX-6789", "***-**-6789", "**** **** **** 4242"):
# the digits left are the identifier's, and the mask's shape says which identifier.
_MASKED = re.compile(
    r"(?<![\w*#])(?:(?P<ssn>[xX*#\u2022]{3}[- .]?[xX*#\u2022]{2}[- .]?)"
    r"|(?P<card>(?:[xX*#\u2022]{4}[- ]?){2,3})|(?P<other>[xX*#\u2022]{4,}[- ]?))(?P<v>\d{4,6})(?![\w-])"
)
_SPACES = re.compile(r"\s+")


class MaskedNumberRecognizer(Recognizer):
    """What a masked display leaves visible ("SSN XXX-XX-6789"): reported whole, mask included."""

    name = "masked_number"
    needs_digits = True
    min_digits = 4
    requires = r"[xX*#\u2022][- ]?\d{4}"

    def analyze(self, doc: Doc) -> list[Finding]:
        out: list[Finding] = []
        for m in _MASKED.finditer(doc.text):
            kind = "ssn" if m.group("ssn") else "card" if m.group("card") else "other"
            entity = {"ssn": Entity.SSN, "card": Entity.CREDIT_CARD}.get(kind, Entity.ID_NUMBER)
            out.append(Finding(m.start(), m.end(), entity, 0.8, self.name))
        return out


class PartialNumberRecognizer(Recognizer):
    name = "partial_number"
    needs_digits = True
    triggers = ("last", "ending", "ends")

    def analyze(self, doc: Doc) -> list[Finding]:
        out: list[Finding] = []
        for rx in (_LAST_FOUR, _ENDING_IN):
            for m in rx.finditer(doc.text):
                kind = _SPACES.sub(" ", (m.group("kind") or "").lower())
                entity = _KINDS.get(kind, Entity.ID_NUMBER)
                out.append(Finding(m.start("v"), m.end("v"), entity, 0.8, self.name))
        return out
