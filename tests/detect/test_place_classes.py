"""Places below the state, by class: each class has a cue the pattern pass can rely on, so these run
without the NER model. One ``(text, expected spans)`` case per line; several shapes per class and
the precision traps each cue could fall into. Values are synthetic.
"""

from __future__ import annotations

import pytest

from masker.detect.engine import DetectionEngine
from masker.detect.types import Entity as E

from .conftest import spans_of

Case = tuple[str, set[tuple[E, str]]]

# A letterhead: a facility (any specialty), a separator or a parenthesis, then the city.
LETTERHEAD: list[Case] = [
    (
        "Records requested from Riverside Pediatrics (Muncie).",
        {(E.ORGANIZATION, "Riverside Pediatrics"), (E.LOCATION, "Muncie")},
    ),
    ("Summit Dermatology · Trenton\nDischarge summary follows.", {(E.LOCATION, "Trenton")}),
    ("Harbor Cardiology | Port Angeles\n", {(E.LOCATION, "Port Angeles")}),
    ("Copy sent to Northgate Imaging - Yakima, WA", {(E.LOCATION, "Yakima")}),
]

# A town named like a state, written before another state's code.
STATE_NAMED_TOWNS: list[Case] = [
    ("Patient lives in Washington, PA with her husband.", {(E.LOCATION, "Washington")}),
    ("Retired miner from Virginia, MN.", {(E.LOCATION, "Virginia")}),
    ("Family in Nevada, MO and Texas.", {(E.LOCATION, "Nevada")}),
]

# A residence or origin cue, also at the start of a sentence; the place may be several words.
CUES: list[Case] = [
    ("Lives in Five Points with two roommates.", {(E.LOCATION, "Five Points")}),
    ("Grew up in Little Havana.", {(E.LOCATION, "Little Havana")}),
    ("Patient is homeless, sleeps near Back Bay station.", {(E.LOCATION, "Back Bay")}),
    ("Originally from Tamaraside; works in construction.", {(E.LOCATION, "Tamaraside")}),
    ("Drove in from Bend this morning.", {(E.LOCATION, "Bend")}),
    ("Moved back to Eastwick after the divorce.", {(E.LOCATION, "Eastwick")}),
    ("He is a native of Cedar Falls.", {(E.LOCATION, "Cedar Falls")}),
]

# A county said in lower case, as a transcript has it.
LOWER_CASE_COUNTY: list[Case] = [
    ("we're out in marion county now", {(E.LOCATION, "marion county")}),
    ("she's a resident of st lucie county", {(E.LOCATION, "st lucie county")}),
    ("the nurse from harris county called", {(E.LOCATION, "harris county")}),
]

# International addresses: the city before the postcode (Spain, Mexico); a street never runs across
# a line break, so the city after a continental postcode stays a city and the next line stays out.
INTERNATIONAL: list[Case] = [
    (
        "Forwarding address: Calle de Camilo Burgos 19, Alicante, 06632.",
        {(E.ADDRESS, "Calle de Camilo Burgos 19"), (E.LOCATION, "Alicante"), (E.ZIP, "06632")},
    ),
    (
        "Paseo de Gracia 41, Granada 18009",
        {(E.ADDRESS, "Paseo de Gracia 41"), (E.LOCATION, "Granada"), (E.ZIP, "18009")},
    ),
    (
        "Forwarding address: Stationsvägen 5, 32648 Karlstad.\nJohnson Medical Center, Fairbury",
        {
            (E.ADDRESS, "Stationsvägen 5"),
            (E.ZIP, "32648"),
            (E.LOCATION, "Karlstad"),
            (E.ORGANIZATION, "Johnson Medical Center"),
            (E.LOCATION, "Fairbury"),
        },
    ),
]

# An address block: the street on one line, the postcode and city on the next, in each country's shape.
ADDRESS_BLOCKS: list[Case] = [
    (
        "New address on file:\nEktorget 328\n10129 Göteborg\n",
        {(E.ADDRESS, "Ektorget 328"), (E.ZIP, "10129"), (E.LOCATION, "Göteborg")},
    ),
    (
        "Sennaweg 32\n1012 TX Baard\n",
        {(E.ADDRESS, "Sennaweg 32"), (E.ZIP, "1012 TX"), (E.LOCATION, "Baard")},
    ),
    (
        "Lovčenská 978\n462 32 Strážnice",
        {(E.ADDRESS, "Lovčenská 978"), (E.ZIP, "462 32"), (E.LOCATION, "Strážnice")},
    ),
    (
        "Aleea Dumitrescu Nr. 888\n723286 Deva\n",
        {(E.ADDRESS, "Aleea Dumitrescu Nr. 888"), (E.ZIP, "723286"), (E.LOCATION, "Deva")},
    ),
    (
        "Forwarding address: 9 Gardiner Causeway, 8891 Araweka.",
        {(E.ADDRESS, "9 Gardiner Causeway"), (E.ZIP, "8891"), (E.LOCATION, "Araweka")},
    ),
    (
        "4 Guard Street\n9387 Mount Hadfield\n",
        {(E.ADDRESS, "4 Guard Street"), (E.ZIP, "9387"), (E.LOCATION, "Mount Hadfield")},
    ),
]

# What each cue could wrongly take: departments, titles, days, payers, a bare "county", the state.
TRAPS = [
    "Consult came from Cardiology overnight.",
    "Sleeps near Dr. Lee's office in the shelter.",
    "Lives in the same county as her son.",
    "Radiology - Pending\nLab - Pending",
    "Walk-in Clinic (Tuesday)",
    "Physical Therapy, Occupational Therapy",
    "New York, NY",
    "Washington, WA",
    "Prior records came from Medicaid.",
    "lives in a county nursing home",
    "Seen at Main Street Clinic\nSummary of care",
    # a dose or a score line above a number line is not a street above its postcode
    "Metformin 500\n1000 Units insulin given",
    "Glasgow 14\n2019 Annual",
    "Aspirin 81\n2024 Refill",
]


@pytest.mark.parametrize(
    ("text", "expected"),
    LETTERHEAD + STATE_NAMED_TOWNS + CUES + LOWER_CASE_COUNTY + INTERNATIONAL + ADDRESS_BLOCKS,
)
def test_places_are_found(patterns: DetectionEngine, text: str, expected: set[tuple[E, str]]) -> None:
    assert spans_of(patterns, text) == expected


@pytest.mark.parametrize("text", TRAPS)
def test_place_cues_leave_non_places(patterns: DetectionEngine, text: str) -> None:
    assert {value for entity, value in spans_of(patterns, text) if entity is E.LOCATION} == set()


@pytest.mark.parametrize(
    ("text", "expected"),
    LETTERHEAD + STATE_NAMED_TOWNS + CUES + LOWER_CASE_COUNTY + INTERNATIONAL + ADDRESS_BLOCKS,
)
def test_prefilters_hide_no_place(patterns: DetectionEngine, text: str, expected: set[tuple[E, str]]) -> None:
    gated = {(f.entity, f.start, f.end) for f in patterns.pattern_candidates(text)}
    plain = {(f.entity, f.start, f.end) for f in patterns.pattern_candidates(text, gated=False)}
    assert gated == plain
