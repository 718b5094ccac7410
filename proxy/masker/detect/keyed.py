"""A value whose label is the text before it: a JSON key and its value (``{"mrn": "282471"}`` is
walked as the texts ``mrn`` and ``282471``), a form field, a caller who says the label in one turn
and the value in the next.

Alone, "282471" or "3/4" says nothing; after "mrn" or "birthDate" it is an identifier. ``label_of``
recognises a text that is only a label (any case convention: ``memberId``, ``member_id``,
``MEMBER-ID``, "Member ID:"), and the engine detects the value again as ``"<label>: <value>"``,
keeping only what it finds in the value.
"""

from __future__ import annotations

import re

from .recognizers.labelled import is_label, label_phrases

# Words that name a kind of identifier when a key holds them (the labelled-id recognizer's labels
# are recognised as whole phrases; these are the contact, date and place words the other
# recognizers use as context).
_KEY_WORDS = frozenset(
    {
        "ssn", "social", "sin", "dob", "birth", "birthdate", "birthday", "born", "phone", "fax", "tel",
        "telephone", "mobile", "cell", "callback", "contact", "email", "mail", "zip", "zipcode", "postal",
        "postcode", "ip", "mac", "imei", "vin", "plate", "serial", "mrn", "npi", "dea", "passport",
        "license", "licence", "account", "acct", "member", "policy", "insurance", "medicare", "medicaid",
        "subscriber", "beneficiary", "record", "chart", "date", "admitted", "admission", "discharged",
        "discharge", "death", "died", "address", "street", "city", "county", "name", "surname",
        "firstname", "lastname", "patient", "url", "website", "host", "device", "udi", "biometric",
        "fingerprint", "voiceprint", "iris", "retina", "photo", "badge", "employee", "claim", "case",
        "age", "vehicle", "reg", "registration", "nhs", "chi", "gmc", "nas", "nino", "aadhaar", "iban",
        "sort", "encoding", "template", "scan", "plz", "pin", "town", "suburb", "kvnr", "rx",
    }
)  # fmt: skip
_MAX_LABEL = 48  # characters
_MAX_WORDS = 4
MAX_VALUE = 96  # characters: a value, not a paragraph
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_SEPARATORS = re.compile(r"[\s_.\-/#:]+")
_LABEL_TEXT = re.compile(r"[A-Za-z][A-Za-z0-9_.\-/# ]*:?")


def _segment(word: str, vocabulary: frozenset[str]) -> list[str] | None:
    """``word`` cut into vocabulary words, fewest pieces first ("faceencoding" -> face encoding,
    "dateofbirth" -> date of birth), or ``None``. Quadratic in a word of at most ``_MAX_LABEL``."""
    best: list[list[str] | None] = [[]] + [None] * len(word)
    for end in range(1, len(word) + 1):
        for start in range(max(0, end - _LONGEST), end):
            head = best[start]
            if head is not None and word[start:end] in vocabulary:
                cand = [*head, word[start:end]]
                cur = best[end]
                if cur is None or len(cand) < len(cur):
                    best[end] = cand
    return best[len(word)]


def _vocabulary() -> frozenset[str]:
    words = {w for phrase in label_phrases() for w in phrase.split() if len(w) >= 2 and w.isalpha()}
    return frozenset(words | _KEY_WORDS | {"of", "no", "num", "number", "id", "code", "date"})


def label_of(text: str) -> str | None:
    """The label ``text`` consists of, as lower-case words ("member id"), or ``None`` when it is
    anything else (a sentence, a value, a word that names no identifier)."""
    if len(text) > _MAX_LABEL:
        return None
    stripped = text.strip()
    if not stripped or _LABEL_TEXT.fullmatch(stripped) is None:
        return None
    words = [w for w in _SEPARATORS.split(_CAMEL.sub(" ", stripped).lower()) if w]
    if not words or len(words) > _MAX_WORDS:
        return None
    if len(words) == 1 and len(words[0]) >= 6 and words[0] not in _KEY_WORDS and not is_label(words[0]):
        # A key written as one lower-case run ("faceencoding", "dateofbirth", "sortcode").
        pieces = _segment(words[0], _VOCABULARY)
        if pieces is not None and len(pieces) <= _MAX_WORDS:
            words = pieces
            stripped += ":"  # one key, however many words it was cut into
    phrase = " ".join(words)
    if is_label(phrase):
        return phrase
    # A key word in a short key ("birthDate", "Date of birth:"), not in a sentence that mentions
    # one ("please update the record").
    short = len(words) <= 2 or (len(words) == 3 and stripped.endswith(":"))
    if short and any(w in _KEY_WORDS for w in words):
        return phrase
    return None


_VOCABULARY = _vocabulary()
_LONGEST = max(len(w) for w in _VOCABULARY)
