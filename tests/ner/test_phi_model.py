"""Masker's PHI NER model (``masker_phi_ner``): shipped inside the package, loaded with no network,
finds names and places in the shapes the proxy sees, leaves clinical eponyms and form words alone;
and its training data generator is deterministic."""

from __future__ import annotations

import importlib.util
import json
import socket
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

import masker_ner
from masker.detect.ner import ner_findings
from masker.detect.types import Entity
from masker_ner.model import PHI_MODEL, SPACY_SMALL, SpacyNer, model_location

ROOT = Path(__file__).resolve().parents[2]
GENERATOR = ROOT / "ner" / "training" / "generate.py"


@pytest.fixture(scope="module")
def phi() -> SpacyNer:
    return SpacyNer(PHI_MODEL)


def test_the_model_is_package_data_and_loads_without_network(monkeypatch: pytest.MonkeyPatch) -> None:
    location = Path(model_location(PHI_MODEL))
    assert location.is_relative_to(Path(masker_ner.__file__).parent)
    (pipe,) = json.loads((location / "meta.json").read_text(encoding="utf-8"))["pipeline"]
    assert (location / "config.cfg").is_file() and (location / pipe / "model").is_file()

    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("the model tried to reach the network")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    model = SpacyNer(PHI_MODEL)
    assert model.model_name == PHI_MODEL
    assert model.analyze(["Seen today with her son Tomasz Wielgosz."])[0]


def test_other_names_still_go_to_spacy_load() -> None:
    assert model_location(SPACY_SMALL) == SPACY_SMALL
    assert model_location("/models/custom") == "/models/custom"
    small = SpacyNer(SPACY_SMALL)  # still installed and selectable
    assert small.model_name == SPACY_SMALL
    assert [s.label for s in small.analyze(["John Smith lives in Chicago."])[0]] == ["PERSON", "GPE"]


def test_the_proxy_setting_selects_the_model() -> None:
    from masker.http.runtime import backend_name
    from masker.settings import Settings

    chosen = Settings.from_env({"MASKER_NER_MODEL": SPACY_SMALL})
    default = Settings.from_env({})
    assert (chosen.ner.model, default.ner.model) == (SPACY_SMALL, None)
    # Findings shared between proxies (Redis) are never mixed across models.
    assert backend_name(chosen) != backend_name(default)


# (text, the entity texts the model must find). Phrasings of our own, not the training templates.
FINDS = [
    ("Yesterday Aoife Ní Bhriain brought the signed forms back.", ["Aoife Ní Bhriain"]),
    ("Results were faxed to Dr. Okonkwo this morning.", ["Okonkwo"]),
    ("After the fall, Björn Håkansson was unable to stand.", ["Björn Håkansson"]),
    ("The interpreter, Nguyen Thi Lan, stayed for the consent.", ["Nguyen Thi Lan"]),
    ("Raised in Kraków, she moved to Rotterdam at twenty.", ["Kraków", "Rotterdam"]),
    ("RE: FOLLOW-UP FOR MARGIT SZABÓ-KOVÁCS", ["MARGIT SZABÓ-KOVÁCS"]),
    ("yeah so my brother Kwame is driving me there", ["Kwame"]),
    ("Dear Ms. Fitzgerald-Oyelaran,", ["Fitzgerald-Oyelaran"]),
    ("Γιώργος Παπαδόπουλος called about the bill.", ["Γιώργος Παπαδόπουλος"]),
    ("Siobhan and Rajesh will both attend the family meeting.", ["Siobhan", "Rajesh"]),
    # places: a city after an unusual cue, in lower-case speech, after a continental postcode
    ("Her aunt still lives up near Cedar Rapids.", ["Cedar Rapids"]),
    ("we're renting a place out in kalamazoo for now", ["kalamazoo"]),
    ("Address on the card: Ringstraße 4, 8010 Graz", ["Graz"]),
]


@pytest.mark.parametrize(("text", "expected"), FINDS)
def test_finds_names_and_places(phi: SpacyNer, text: str, expected: list[str]) -> None:
    spans = phi.analyze([text])[0]
    for value in expected:
        start = text.index(value)
        end = start + len(value)
        # Found: one entity covers at least half of the value (a masked name, maybe cut short).
        assert any(min(end, s.end) - max(start, s.start) >= len(value) / 2 for s in spans), (
            value,
            [text[s.start : s.end] for s in spans],
        )


# Capitalised clinical words, eponyms and form words: no name, no place.
NOT_NAMES = [
    "Glasgow Coma Scale 14 on arrival; Foley catheter removed.",
    "Negative Murphy sign. History of Parkinson's disease.",
    "Apgar scores 8 and 9. Copy to chart.",
    "Professional Identity Verified. Signature on file.",
    "Continue Eliquis; recheck CBC and BMP Monday.",
]


@pytest.mark.parametrize("text", NOT_NAMES)
def test_leaves_eponyms_and_form_words(phi: SpacyNer, text: str) -> None:
    people = [text[s.start : s.end] for s in phi.analyze([text])[0] if s.label == "PERSON"]
    assert people == []


# States and countries are not identifiers; a place cue with no place after it is not one either.
# Judged after the proxy's NER filters (the model itself may still tag a country; the filter drops it).
NOT_PLACES = [
    "He was born in Poland and lives in Texas now.",
    "Vacation in Italy and Florida last spring.",
    "my son wants to know if the results are back",
    "Timestamp 10:42 recorded in the log.",
]


@pytest.mark.parametrize("text", NOT_PLACES)
def test_leaves_states_countries_and_bare_cues(phi: SpacyNer, text: str) -> None:
    findings = ner_findings(text, phi.analyze([text])[0])
    assert [text[f.start : f.end] for f in findings if f.entity is Entity.LOCATION] == []


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("masker_ner_training_generate", GENERATOR)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_the_training_data_generator_is_deterministic() -> None:
    gen = _generator()
    first = [ex.to_json() for ex in gen.generate(11, 300)]
    assert first == [ex.to_json() for ex in gen.generate(11, 300)]
    assert first != [ex.to_json() for ex in gen.generate(12, 300)]
    # The same in another process with another hash seed (set iteration order changes with it).
    env = {"PYTHONHASHSEED": "12345", "PYTHONPATH": ":".join(sys.path)}
    out = subprocess.run(
        [sys.executable, str(GENERATOR), "--seed", "11", "--n", "300"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout.splitlines()
    assert out == first
    labels = {span[2] for ex in gen.generate(11, 300) for span in ex.spans}
    assert labels == {"PERSON", "GPE", "FAC", "ORG"}
    for ex in gen.generate(11, 300):
        for start, end, _ in ex.spans:
            assert ex.text[start:end].strip() == ex.text[start:end] != ""
