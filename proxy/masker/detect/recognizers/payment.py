"""The rest of a payment card: its security code (CVV/CVC/CID) and expiry, said or written after
their labels. A bare three-digit number is never enough: the label is the evidence."""

from __future__ import annotations

import re

from ..recognizer import Pattern, PatternRecognizer
from ..types import Entity

IGNORE = re.IGNORECASE

_SEP = r"(?:[ \t]*(?:\#|no\.?|number|code|is|was|:|=|-|\(|\)))*[ \t]*"


class CardDetailsRecognizer(PatternRecognizer):
    name = "card_details"
    ENTITY = Entity.CREDIT_CARD
    needs_digits = True
    triggers = ("cvv", "cvc", "csc", "cid", "security code", "verification", "exp", "valid thru",
                "valid through", "good thru")  # fmt: skip
    PATTERNS = (
        Pattern(
            "security-code",
            r"\b(?:cvv2?|cvc2?|csc|cid|card\s+security\s+code|security\s+code|"
            rf"card\s+verification(?:\s+(?:value|code|number))?){_SEP}(?P<v>\d{{3,4}})(?![\d/.-])",
            0.9,
            group="v",
            flags=IGNORE,
            lowercase=True,
        ),
        Pattern(
            "expiry",
            r"\b(?:exp(?:iry|iration)?\.?(?:\s+date)?|expires?|expiring|valid\s+(?:thru|through|until)|"
            rf"good\s+thru){_SEP}(?:on[ \t]+|in[ \t]+)?"
            r"(?P<v>(?:0?[1-9]|1[0-2])[ \t]*[/-][ \t]*(?:20)?\d\d)(?![\d/])",
            0.85,
            group="v",
            flags=IGNORE,
            lowercase=True,
        ),
    )
