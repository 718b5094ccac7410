"""Identifiers recognised by what they are called: "MRN 00123456", "member ID is XJH-4471-22".

Most HIPAA identifiers (record numbers, plan IDs, account, licence, plate, serial, claim numbers)
have no universal format; the label spoken or written right before the value is the evidence. One
compiled alternation covers every label; the label decides the entity type.
"""

from __future__ import annotations

import re

from ..recognizer import Doc, Recognizer, gate_regex, lowercase_variant, word_alternation
from ..types import Entity, Finding
from ..validators import aba_ok

# A biometric identifier is named by what was captured and what the record is ("iris template",
# "palm vein id", "retina scan hash", "voice print signature").
_BIOMETRIC_WHAT = (
    "retina", "retinal", "retina scan", "iris", "iris scan", "palm", "palm vein", "palm print", "vein",
    "face", "facial", "face scan", "finger", "fingerprint", "thumbprint", "finger vein", "voice",
    "voice print", "voiceprint", "hand geometry", "gait", "dna", "biometric", "facial recognition",
)  # fmt: skip
_BIOMETRIC_KIND = (
    "template", "template id", "hash", "id", "identifier", "signature", "code", "record", "sample",
    "scan", "scan id", "key", "vector", "token", "encoding", "embedding",
)  # fmt: skip

# label -> entity. Loose labels (single common words) need a stronger value, see ``_LOOSE``.
_LABELS: dict[Entity, tuple[str, ...]] = {
    Entity.MRN: (
        "patientennummer", "patienten-nr", "krankenaktennummer", "fallnummer", "aktennummer",
        "n° de dossier", "no de dossier", "numéro de dossier", "numero de dossier", "dossier médical",
        "dossier medical", "historia clínica", "historia clinica", "número de historia", "numero de historia",
        "expediente", "cartella clinica", "numero cartella", "numero di cartella", "prontuário", "prontuario",
        "patiëntnummer", "patientnummer", "dossiernummer", "numer pacjenta", "numer historii choroby",
        "mrn", "mrn#", "mr#", "medical record number", "medical record", "med rec", "med rec number",
        "record number", "chart number", "chart", "patient id", "patient number", "hospital number",
        "hospital id", "health record number", "emr number", "ehr number", "record no", "medical record no",
        "nhs number", "nhs no", "nhs", "chi number", "chi no", "hosp", "hosp no", "emr id", "ehr id",
    ),
    Entity.HEALTH_PLAN_ID: (
        "versichertennummer", "krankenversicherungsnummer", "versicherungsnummer", "numéro d'assuré",
        "numero d'assure", "número de afiliación", "numero de afiliacion", "tessera sanitaria",
        "verzekeringsnummer", "carte vitale", "hicn number", "beneficiary", "plan member",
        "member id", "member number", "member", "subscriber id", "subscriber number", "subscriber",
        "policy number", "policy id", "policy", "insurance id", "insurance number", "insurance",
        "plan id", "plan number", "health plan id", "health plan number", "beneficiary id",
        "beneficiary number", "medicare number", "medicare id", "medicaid number", "medicaid id",
        "medicare", "medicaid", "group number", "group id", "insurance member id", "mbi", "hicn",
        "id card number", "member id number", "coverage id", "group", "grp", "grp #", "rx group", "rx bin",
        "rxbin", "rx pcn", "pcn",
        "kvnr", "medicare card", "medicare card number", "medicare no", "medicaid no", "member no",
    ),
    Entity.ACCOUNT_NUMBER: (
        "kontonummer", "konto", "numéro de compte", "numero de compte", "número de cuenta",
        "numero de cuenta", "numero di conto", "numero conto", "rekeningnummer",
        "número da conta", "numero da conta",
        "account number", "account no", "account", "acct", "acct no", "acct number", "billing account",
        "patient account", "account id", "customer number", "customer id", "billing number",
    ),
    Entity.BANK_ACCOUNT: (
        "bank account", "bank account number", "checking account", "checking account number",
        "savings account", "savings account number", "checking", "savings", "deposit account",
    ),
    Entity.ROUTING_NUMBER: (
        "routing number", "routing", "aba", "aba number", "rtn", "transit number", "sort code",
    ),
    Entity.LICENSE_NUMBER: (
        "license number", "licence number", "medical license", "medical licence", "certificate number",
        "certification number", "license no", "lic", "lic no", "npi", "npi number", "dea", "dea number",
        "dea registration", "state license", "nursing license", "board certification", "provider number",
        "professional license", "certificate", "license", "licence",
        "gmc", "gmc number", "gmc no", "nmc pin", "rn lic", "rn license", "rn licence", "cert no", "cert",
    ),
    Entity.DRIVER_LICENSE: (
        "führerschein", "fuhrerschein", "führerscheinnummer", "fuhrerscheinnummer", "permis de conduire",
        "licencia de conducir", "permiso de conducir", "carnet de conducir", "patente di guida", "rijbewijs",
        "carteira de motorista", "prawo jazdy",
        "driver's license", "drivers license", "driver license", "driver's licence", "driving licence",
        "driver's license number", "drivers license number", "driver license number", "dl", "dl#",
        "dl number", "driver's lic", "state id",
    ),
    Entity.PASSPORT: ("passport", "passport number", "passport no", "passport id"),
    Entity.VEHICLE_ID: (
        "kennzeichen", "kfz-kennzeichen", "immatriculation", "plaque", "matrícula", "matricula", "targa",
        "kenteken", "placa", "numer rejestracyjny",
        "license plate", "licence plate", "plate number", "plate", "tag number", "plates",
        "vin", "vehicle id", "vehicle identification number", "registration plate",
        "vehicle", "vehicle reg", "vehicle registration", "car reg", "reg", "reg no", "rego", "number plate",
    ),
    Entity.DEVICE_ID: (
        "serial number", "serial no", "serial", "device id", "device serial", "device number", "imei",
        "udi", "implant serial", "pacemaker serial", "pump serial", "meid", "device identifier", "sn", "s/n",
        "equipment id", "asset tag",
        "pacer serial", "pacemaker s/n", "implant s/n",
    ),
    Entity.ID_NUMBER: (
        "sozialversicherungsnummer", "numéro de sécurité sociale", "numero de securite sociale",
        "sécurité sociale", "securite sociale", "seguridad social", "número de seguridad social",
        "numero de seguridad social", "codice fiscale", "burgerservicenummer", "bsn", "personnummer",
        "pesel", "personalausweis", "ausweisnummer", "carte d'identité", "carte d'identite", "dni", "nie",
        "carta d'identità", "carta d'identita", "cpf", "personalnummer",
        "national insurance", "national insurance number", "ni number", "ni no", "nino", "sin", "sin number",
        "social insurance number", "nas", "aadhaar", "aadhaar no", "aadhaar number", "aadhar", "uidai",
        "claim number", "claim id", "claim", "case number", "case id", "case", "ticket number", "ticket",
        "reference number", "reference", "ref", "ref no", "confirmation number", "confirmation code",
        "confirmation", "order number", "invoice number", "invoice", "authorization number",
        "authorization", "auth number", "prior auth", "employee id", "employee number", "student id",
        "badge number", "tracking number", "id number", "identification number", "id", "record locator",
        "booking number", "appointment number", "referral number", "prescription number", "rx number",
        "lab accession", "accession number", "accession", "specimen id", "encounter number", "visit number",
        "encounter", "encounter id", "visit id", "csn", "fin number", "har number",
        "file number", "docket number", "membership number", "voucher number", "certificate id",
        "confirmed with", "verified with", "verified by", "verified using", "matched with",
        "biometric id", "biometric template", "biometric template id", "template id", "template",
        "fingerprint id", "fingerprint template", "fingerprint", "voiceprint", "voiceprint id",
        "voice print id", "face id", "faceprint", "facial template", "iris template", "iris scan id",
        "retina scan id", "palm print id", "palmprint", "enrollment id", "enrolment id", "badge",
        "staff number", "staff id", "staff no", "personnel number",
        *(f"{what} {kind}" for what in _BIOMETRIC_WHAT for kind in _BIOMETRIC_KIND),
    ),
}  # fmt: skip

# Single everyday words: "my case 2 weeks ago", "the plan 3 times" must not fire, so these need a
# value with at least three digits and five characters.
_LOOSE = frozenset(
    {
        "chart", "member", "subscriber", "policy", "insurance", "account", "checking", "savings",
        "routing", "lic", "certificate", "license", "licence", "plate", "plates", "serial", "claim",
        "case", "ticket", "reference", "ref", "confirmation", "invoice", "authorization", "id",
        "medicare", "medicaid", "accession", "dea", "dl", "aba", "vin", "udi", "encounter", "group", "grp",
        "sn", "pcn", "confirmed with", "verified with", "verified by", "verified using", "matched with",
        "template", "fingerprint", "voiceprint", "palmprint", "faceprint", "badge", "konto", "plaque",
        "placa", "targa", "expediente", "beneficiary", "dni", "nie", "reg", "vehicle", "cert", "nhs",
        "chi", "hosp", "sin", "nas", "gmc",
    }
)  # fmt: skip

_ENTITY_OF: dict[str, Entity] = {}
for _entity, _labels in _LABELS.items():
    for _label in _labels:
        _ENTITY_OF[re.sub(r"\s+", " ", _label.lower())] = _entity

_FILLER = (
    r"(?:[ \t]*(?:\#|no\.?|num(?:ber)?|nr|id|is|was|will\s+be|should\s+be|are|of|it's|its|reads|"
    r"ends\s+(?:in|with)|on\s+file|on\s+the\s+card|\([a-z]{2}\)|:|=|-|\u2013|\u2014|\(|\))){0,4}[ \t]*"
)
_LABEL_RX = re.compile(rf"(?P<label>{word_alternation(_ENTITY_OF)})(?:'s)?{_FILLER}", re.IGNORECASE)
_LABEL_RX_LC = lowercase_variant(_LABEL_RX)  # for Doc.lower of an ASCII text: same spans, faster
# One group of a value: alphanumerics joined by - . / ("W123-456-789", "1EG4-TE5-MK73").
_GROUP = re.compile(r"[A-Za-z0-9]+(?:[-./_\u2022\u00b7][A-Za-z0-9]+)*")
# A value broken over two lines (pasted from a narrow column): the break follows a separator
# ("W9565-\n32735"), or the second line holds nothing but the rest of the value ("A-0048\n2913.").
_BROKEN = re.compile(r"[-./]?\r?\n(?=[A-Za-z0-9])")
_LINE_END = re.compile(r"[.,;)]?[ \t]*(?:\r?\n|$)")
# After a question ("…medical record number? Caller: Sure, it's W4613656") the answer comes later:
# the first token with a digit before the next question mark or line break.
_ANSWER_VALUE = re.compile(r"\?[^?\n]{0,48}?(?<![A-Za-z0-9])(?=[A-Za-z0-9]*\d)")


def _value_span(text: str, pos: int, *, any_case: bool = False) -> tuple[int, int] | None:
    """The identifier starting at ``pos``: up to five space-separated groups, where a group without
    digits is only kept if it is a short upper-case block ("311 CDZ", "HND 169")."""
    m = _GROUP.match(text, pos)
    if m is None:
        return None
    start, end = m.span()
    groups = 1
    while groups < 5 and end < len(text) and text[end] == " ":
        nxt = _GROUP.match(text, end + 1)
        if nxt is None:
            break
        g = nxt.group()
        # (a letters-only block after the first is kept upper-case only: "311 CDZ", not "seen in")
        if not any(c.isdigit() for c in g) and not (g.isupper() and len(g) <= 4):
            break
        end = nxt.end()
        groups += 1
    first = text[start : m.end()]
    # (a plate's district block may be hyphenated: "HH-IK 9914")
    letters_only = (first.isupper() or any_case) and len(first) <= (6 if any_case else 4)
    if not any(c.isdigit() for c in first) and not letters_only:
        return None
    broken = _BROKEN.match(text, end)
    if broken is not None:
        nxt = _GROUP.match(text, broken.end())
        if nxt is not None and any(c.isdigit() for c in nxt.group()):
            rest = nxt.end()
            while rest < len(text) and text[rest] == " ":  # "650\n777 165": the rest in groups too
                more = _GROUP.match(text, rest + 1)
                if more is None or not any(c.isdigit() for c in more.group()):
                    break
                rest = more.end()
            joined = broken.group()[0] not in "\r\n"
            if joined or _LINE_END.match(text, rest):
                end = rest
    # A trailing letters-only block is kept only when it is upper-case ("311 CDZ"), never a word.
    return start, end


# A label glued to its value with no separator at all ("MRN00482913", "Acct#55102"): only the
# short written labels, as written (upper case or capitalised), and the value must start with a digit.
_GLUED_LABELS: dict[str, Entity] = {
    "MRN": Entity.MRN, "Mrn": Entity.MRN, "MR": Entity.MRN, "PID": Entity.MRN, "ACCT": Entity.ACCOUNT_NUMBER,
    "Acct": Entity.ACCOUNT_NUMBER, "ACC": Entity.ACCOUNT_NUMBER, "MBI": Entity.HEALTH_PLAN_ID,
    "MEM": Entity.HEALTH_PLAN_ID, "POL": Entity.HEALTH_PLAN_ID, "DL": Entity.DRIVER_LICENSE,
    "SN": Entity.DEVICE_ID, "NPI": Entity.LICENSE_NUMBER, "DEA": Entity.LICENSE_NUMBER,
    "LIC": Entity.LICENSE_NUMBER, "FIN": Entity.ID_NUMBER, "CSN": Entity.ID_NUMBER, "HAR": Entity.ID_NUMBER,
    "ENC": Entity.ID_NUMBER, "CLM": Entity.ID_NUMBER, "REF": Entity.ID_NUMBER, "INV": Entity.ID_NUMBER,
    "ID": Entity.ID_NUMBER, "EMP": Entity.ID_NUMBER, "SSN": Entity.SSN,
}  # fmt: skip
_GLUED = re.compile(
    rf"(?<![A-Za-z0-9])(?P<label>{'|'.join(sorted(_GLUED_LABELS, key=len, reverse=True))})#?"
    r"(?P<v>\d[0-9A-Z]{3,}(?:[-/][0-9A-Z]+)*)(?![A-Za-z0-9])"
)
_GLUED_GATE = gate_regex(rf"(?:{'|'.join(sorted(_GLUED_LABELS))})#?\d")  # answered by the multi-pattern scan
_SPACES = re.compile(r"\s+")
_NOT_ALNUM = re.compile(r"[^0-9A-Za-z]")


class LabelledIdRecognizer(Recognizer):
    name = "labelled_id"
    needs_digits = True
    min_digits = 2  # a value needs two

    def analyze(self, doc: Doc) -> list[Finding]:
        out: list[Finding] = []
        text = doc.text
        labels = _LABEL_RX_LC.finditer(doc.lower) if doc.gated and doc.ascii else _LABEL_RX.finditer(text)
        for m in labels:
            label = _SPACES.sub(" ", m.group("label").lower())
            entity = _ENTITY_OF.get(label)
            if entity is None:
                continue
            score = 0.9
            span = _value_span(text, m.end(), any_case=entity is Entity.VEHICLE_ID)
            if span is None and label not in _LOOSE:
                answer = _ANSWER_VALUE.match(text, m.end())
                if answer is not None:
                    span = _value_span(text, answer.end())
                    score = 0.8
            if span is None:
                continue
            start, end = span
            compact = _NOT_ALNUM.sub("", text[start:end])
            ndigits = sum(c.isdigit() for c in compact)
            if len(compact) < 4 or ndigits < 2:
                continue
            min_digits = 2 if entity is Entity.VEHICLE_ID else 3
            if label in _LOOSE and (ndigits < min_digits or len(compact) < 5):
                continue
            if _looks_like_measure(text, end):
                continue
            if entity is Entity.ROUTING_NUMBER and not aba_ok(compact):
                score = min(score, 0.7)
            out.append(Finding(start, end, entity, score, f"{self.name}:{entity.value.lower()}"))
        for m in _GLUED.finditer(text) if not doc.gated or doc.found(_GLUED_GATE) else ():
            start, end = m.span("v")
            if sum(c.isdigit() for c in m.group("v")) >= 4:
                entity = _GLUED_LABELS[m.group("label")]
                out.append(Finding(start, end, entity, 0.85, f"{self.name}:{entity.value.lower()}"))
        return out


_UNIT_AFTER = re.compile(r"\s*(?:mg|mcg|ml|g|kg|lbs?|%|mmhg|units?|iu|bpm|cm|mm|pm|am|years?|days?)\b", re.I)


def _looks_like_measure(text: str, end: int) -> bool:
    return _UNIT_AFTER.match(text, end) is not None


def is_label(phrase: str) -> bool:
    """Whether ``phrase`` (lower-case words) is one of the labels, with its filler ("acct no")."""
    m = _LABEL_RX_LC.fullmatch(phrase)
    return m is not None and _SPACES.sub(" ", m.group("label")) in _ENTITY_OF


def label_phrases() -> frozenset[str]:
    """Every label, lower-case (the vocabulary a run-together key is cut into, see ``keyed``)."""
    return frozenset(_ENTITY_OF)
