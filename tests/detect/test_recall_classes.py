"""The miss classes of issue 20, one ``(text, expected spans)`` case per line, plus precision traps.

Pattern recognizers only (no NER): each class must be caught without the model. Values are
synthetic; several per class, in different shapes, because each fix is for the class, not the case.
"""

from __future__ import annotations

import asyncio

import pytest

from masker.detect.engine import DetectionEngine
from masker.detect.lexicon import family_names, given_names
from masker.detect.types import DetectOptions
from masker.detect.types import Entity as E

from .conftest import spans_of

Case = tuple[str, set[tuple[E, str]]]

NAMES_WITHOUT_CUE: list[Case] = [
    # many cultures: both words in the lexicon, either order (Hungarian puts the family name first)
    ("Søren Lindqvist attended the session.", {(E.PERSON, "Søren Lindqvist")}),
    ("Results were sent to Kovács Zsófia yesterday.", {(E.PERSON, "Kovács Zsófia")}),
    ("Oluwaseun Adeyemi will bring the forms.", {(E.PERSON, "Oluwaseun Adeyemi")}),
    ("Consent signed with Nguyễn Thị Lan present.", {(E.PERSON, "Nguyễn Thị Lan")}),
    ("Álvaro Domínguez reported chest pain.", {(E.PERSON, "Álvaro Domínguez")}),
    # an accented spelling of a name the lexicon holds unaccented
    ("Émile called about the refill.", {(E.PERSON, "Émile")}),
    # a known given name with a rare family name
    ("Priyanka Venkataramanan drove to the pharmacy.", {(E.PERSON, "Priyanka Venkataramanan")}),
    # Greek and Cyrillic script inside English text
    ("Seen with Γιάννης Κωνσταντίνου today.", {(E.PERSON, "Γιάννης Κωνσταντίνου")}),
    ("Interpreter for Наталья Смирнова booked.", {(E.PERSON, "Наталья Смирнова")}),
    # a first name alone as the subject of a sentence
    ("Emily called about the refill.", {(E.PERSON, "Emily")}),
    ("Labs normal. Dmitri denies chest pain.", {(E.PERSON, "Dmitri")}),
    # the first line of an address block / letter
    ("Wilma Q. Haverford\n88 Birch Lane\n", {(E.PERSON, "Wilma Q. Haverford"), (E.ADDRESS, "88 Birch Lane")}),
    # a name inside a file name
    ("attached JaneRoe_MRI_2023.pdf", {(E.PERSON, "JaneRoe")}),
    ("see scans/kowalski_peter_ct.dcm", {(E.PERSON, "kowalski_peter")}),
]

VOICE_PHRASINGS: list[Case] = [
    ("its jane roe", {(E.PERSON, "jane roe")}),
    ("yeah it's maria kowalski", {(E.PERSON, "maria kowalski")}),
    ("the name's haverford", {(E.PERSON, "haverford")}),
    ("first name jane", {(E.PERSON, "jane")}),
    ("last name okonkwo thanks", {(E.PERSON, "okonkwo")}),
    ("PATIENT WILMA HAVERFORD MRN 55512", {(E.PERSON, "WILMA HAVERFORD"), (E.MRN, "55512")}),
    ("PATIENT JOHNATHAN HAMILTON MRN 55512", {(E.PERSON, "JOHNATHAN HAMILTON"), (E.MRN, "55512")}),
    ("She prefers to be called 'Sunny' on the ward.", {(E.PERSON, "Sunny")}),
    ('He goes by "Buzz" these days.', {(E.PERSON, "Buzz")}),
    ("nicknamed Pookie by the family", {(E.PERSON, "Pookie")}),
]

OVER_REDACTION: list[Case] = [
    # the span stops before the verb
    ("my daughter emily needs a refill", {(E.PERSON, "emily")}),
    ("my son dmitri wants to know", {(E.PERSON, "dmitri")}),
    ("my husband tomasz called earlier", {(E.PERSON, "tomasz")}),
]

PLACES: list[Case] = [
    ("Indiana, PA 15701", {(E.LOCATION, "Indiana"), (E.ZIP, "15701")}),
    ("Nevada, MO 64772", {(E.LOCATION, "Nevada"), (E.ZIP, "64772")}),
    ("Normal, IL 61761", {(E.LOCATION, "Normal"), (E.ZIP, "61761")}),
    (
        "Lakeview Family Clinic, Duluth\n",
        {(E.ORGANIZATION, "Lakeview Family Clinic"), (E.LOCATION, "Duluth")},
    ),
    ("Mercy Hospital - Rochester, MN", {(E.ORGANIZATION, "Mercy Hospital"), (E.LOCATION, "Rochester")}),
    (
        "Lindenstraße 4, 50674 Köln",
        {(E.ADDRESS, "Lindenstraße 4"), (E.ZIP, "50674"), (E.LOCATION, "Köln")},
    ),
    (
        "Rua Augusta 120, 1100-053 Lisboa",
        {(E.ADDRESS, "Rua Augusta 120"), (E.ZIP, "1100-053"), (E.LOCATION, "Lisboa")},
    ),
    (
        "Drottninggatan 7, 411 14 Göteborg",
        {(E.ADDRESS, "Drottninggatan 7"), (E.ZIP, "411 14"), (E.LOCATION, "Göteborg")},
    ),
    (
        "Andrássy út 22, 1061 Budapest",
        {(E.ADDRESS, "Andrássy út 22"), (E.ZIP, "1061"), (E.LOCATION, "Budapest")},
    ),
    (
        "12 rue Victor Hugo, 69002 Lyon",
        {(E.ADDRESS, "12 rue Victor Hugo"), (E.ZIP, "69002"), (E.LOCATION, "Lyon")},
    ),
    ("Leeds LS1 4DY", {(E.LOCATION, "Leeds"), (E.ZIP, "LS1 4DY")}),
    ("Calgary, AB T2P 1J9", {(E.LOCATION, "Calgary"), (E.ZIP, "T2P 1J9")}),
    ("Parramatta NSW 2150", {(E.LOCATION, "Parramatta"), (E.ZIP, "2150")}),
]

IDENTIFIERS: list[Case] = [
    ("MRN00482913 admitted", {(E.MRN, "00482913")}),
    ("Acct#55102934 closed", {(E.ACCOUNT_NUMBER, "55102934")}),
    ("identity confirmed with 4471-XK-2209", {(E.ID_NUMBER, "4471-XK-2209")}),
    ("verified with AB7731902 at the desk", {(E.ID_NUMBER, "AB7731902")}),
    ("claim number 2231/889/04", {(E.ID_NUMBER, "2231/889/04")}),
    ("fingerprint template FPT-88213-ZK stored", {(E.ID_NUMBER, "FPT-88213-ZK")}),
    ("voiceprint id VP99310027", {(E.ID_NUMBER, "VP99310027")}),
    ("Tel 415-555-4959-Fax 415-555-4960", {(E.PHONE, "415-555-4959"), (E.FAX, "415-555-4960")}),
    ("ring me on +44 161 496 0734", {(E.PHONE, "+44 161 496 0734")}),
    ("mobile +49 151 23456789", {(E.PHONE, "+49 151 23456789")}),
    # national groupings, with a phone word near
    ("tel (0306) 9990074", {(E.PHONE, "(0306) 9990074")}),
    ("landline 0612 34 56 78", {(E.PHONE, "0612 34 56 78")}),
    ("whatsapp 07700 900123 after six", {(E.PHONE, "07700 900123")}),
    ("write to wilma.h @ gmail.com", {(E.EMAIL, "wilma.h @ gmail.com")}),
    # an address right after a field separator: the field before it stays its own value
    (
        "Barcelo|(708) 555-0486|fritz.n@example.org",
        {(E.PHONE, "(708) 555-0486"), (E.EMAIL, "fritz.n@example.org")},
    ),
    ("contact=wilma.h@example.org", {(E.EMAIL, "wilma.h@example.org")}),
    ("{o'neil+fax@example.org}", {(E.EMAIL, "o'neil+fax@example.org")}),
    ("wq(at)example(dot)org", {(E.EMAIL, "wq(at)example(dot)org")}),
    (
        "whaverford [at] mail [dot] example [dot] com",
        {(E.EMAIL, "whaverford [at] mail [dot] example [dot] com")},
    ),
    # AWS secret key under its key name, and key names in any case convention
    (
        "aws_secret_access_key=Xq7bP2mN9kL4jH8gF6dS3aZ1wE5rT0yU2iO4pA6s",
        {(E.SECRET, "Xq7bP2mN9kL4jH8gF6dS3aZ1wE5rT0yU2iO4pA6s")},
    ),
    (
        '{"twilioAuthToken": "f3a9c1e07b6d45a2b8c9d0e1f2a3b4c5"}',
        {(E.SECRET, "f3a9c1e07b6d45a2b8c9d0e1f2a3b4c5")},
    ),
    ('{"password": "correcthorsebattery"}', {(E.SECRET, "correcthorsebattery")}),
    ("STRIPE_CLIENT_SECRET: 'whsec_9vQ2mX7pL1'", {(E.SECRET, "whsec_9vQ2mX7pL1")}),
    ("client_secret = 8Hq2-vX9_pLm3Zr7", {(E.SECRET, "8Hq2-vX9_pLm3Zr7")}),
    # card security code and expiry
    ("CVV 481", {(E.CREDIT_CARD, "481")}),
    ("the security code is 7702", {(E.CREDIT_CARD, "7702")}),
    ("expiry 09/28", {(E.CREDIT_CARD, "09/28")}),
    ("valid thru 11/2027", {(E.CREDIT_CARD, "11/2027")}),
]

TRAPS = [
    "Copy of the Identity card and Professional license attached.",
    "Grace period for the copay applies.",
    "May continue current regimen.",
    "Will follow up as needed.",
    "Mark the calendar.",
    "Hope to taper prednisone.",
    "Follow up with General Surgery in New York next week.",
    "Blue Cross Blue Shield approved the claim.",
    "Take Tylenol Extra Strength as needed.",
    "Continue Lisinopril Daily.",
    "During 3 days of fever she stayed home.",
    "Spring 2 session starts soon.",
    "sent via Epic at noon",
    "the tokens were refreshed",
    "password reset link sent",
    "my zip is on the form",
    "Heart Rate Variability improved.",
    "Physical Therapy twice weekly.",
    "Chief Complaint: shortness of breath",
    "Review of Systems negative.",
    "the token expires in 10 minutes",
    "exp 3 days",
    "report.pdf attached",
    "discharge_summary_final.docx",
    "My daughter needs a refill.",
    "PATIENT EDUCATION PROVIDED",
    "BP 120/80 HR 72, call if worse",
    "call if pain 7 / 10 or more",
    "PT INSTRUCTED ON HOME EXERCISES",
    "its raining again",
    "my son wants to know",
]


@pytest.mark.parametrize(
    ("text", "expected"), NAMES_WITHOUT_CUE + VOICE_PHRASINGS + OVER_REDACTION + PLACES + IDENTIFIERS
)
def test_recognizes(patterns: DetectionEngine, text: str, expected: set[tuple[E, str]]) -> None:
    assert spans_of(patterns, text) == expected


@pytest.mark.parametrize("text", TRAPS)
def test_precision_traps_are_not_flagged(patterns: DetectionEngine, text: str) -> None:
    assert spans_of(patterns, text) == set()


@pytest.mark.parametrize(("text", "expected"), IDENTIFIERS + PLACES + NAMES_WITHOUT_CUE)
def test_prefilters_hide_nothing(patterns: DetectionEngine, text: str, expected: set[tuple[E, str]]) -> None:
    gated = {(f.entity, f.start, f.end) for f in patterns.pattern_candidates(text)}
    plain = {(f.entity, f.start, f.end) for f in patterns.pattern_candidates(text, gated=False)}
    assert gated == plain


def test_name_lexicon_is_shipped_and_folded() -> None:
    given, family = given_names(), family_names()
    assert len(given) > 20_000 and len(family) > 20_000
    assert {"zoltán", "søren", "priyanka", "oluwaseun"} <= given
    assert {"kovács", "lindqvist", "nguyễn"} <= family
    assert all(w == w.casefold() for w in ("zoltán", "søren"))


@pytest.mark.parametrize(
    ("first", "later", "expected"),
    [
        # Found with no cue by the lexicon, then repeated in lower case and without accents.
        ("Results were sent to Kovács Zsófia yesterday.", "did kovacs zsofia call back?", "kovacs zsofia"),
        ("Søren Lindqvist attended the session.", "ok, SØREN  LINDQVIST again", "SØREN  LINDQVIST"),
        # Written with look-alike letters and a zero-width space: folded, then found.
        ("Andr\u0430\u200bssy \u00fat 22, 1061 Budapest", "is Andrassy ut 22 right?", "Andrassy ut 22"),
    ],
)
def test_recall_findings_propagate_through_folding(
    patterns: DetectionEngine, first: str, later: str, expected: str
) -> None:
    result = asyncio.run(patterns.detect([first, later], DetectOptions()))
    assert [later[f.start : f.end] for f in result.findings[1]] == [expected]
