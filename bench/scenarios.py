"""The benchmark scenarios: request bodies built from synthetic PHI (Faker), fresh where it matters.

* ``voice``  — a 13-message voice turn: system prompt + 11 history messages with PHI (the same
  conversation every time, so the proxy has seen the history), then a NEW user utterance, fresh per
  request (a unique phone number / date), which is all the proxy has not seen before.
* ``short``  — one short user utterance with a name and a phone number, fresh per request.
* ``note``   — a ~4,000-character clinical note never seen before (fresh per request).
* ``stream`` — the voice turn with ``"stream": true``; the fake LLM answers 200 words, one event
  each, 1 ms apart, with tokens of the request mixed in, so the proxy rehydrates mid-stream.
* ``voice_ner`` — the voice turn, but the new utterance names someone with no cue a pattern knows
  ("Wednesday works, Ana Diaz will drive me"): only the model can find the name, so this is what a
  turn costs when NER must run (``voice`` utterances mostly end on cue fast paths).

Bodies are generated before the clock starts (``bodies(name, n)``), so generation never counts.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass

from faker import Faker

SCENARIOS = ("voice", "short", "note", "stream", "voice_ner")
CONVERSATION_ID = "bench-call-0001"
STREAM_EVENT_MS = 1.0  # fake LLM pacing between SSE events for the stream scenario (1,000 events/s)


@dataclass(frozen=True)
class People:
    names: list[str]
    cities: list[str]
    streets: list[str]
    companies: list[str]


def _people(seed: int) -> People:
    fake = Faker("en_US")
    fake.seed_instance(seed)
    return People(
        names=[fake.name() for _ in range(200)],
        cities=[fake.city() for _ in range(100)],
        streets=[fake.street_address() for _ in range(100)],
        companies=[fake.company() for _ in range(50)],
    )


def _phone(rng: random.Random) -> str:
    return f"({rng.randint(201, 989)}) {rng.randint(200, 989)}-{rng.randint(0, 9999):04d}"


def _date(rng: random.Random) -> str:
    return f"{rng.randint(1, 12)}/{rng.randint(1, 28)}/{rng.randint(1940, 2005)}"


def history(seed: int = 11) -> list[dict[str, str]]:
    """System prompt + 11 turns of a clinic front-desk call, with PHI in the user turns."""
    p = _people(seed)
    rng = random.Random(seed)
    name, dob, phone = p.names[0], _date(rng), _phone(rng)
    street, city = p.streets[0], p.cities[0]
    mrn = f"MRN {rng.randint(10_000_000, 99_999_999)}"
    insurer = p.companies[0]
    member = f"{rng.choice('ABCDEFGHJK')}{rng.choice('XYZW')}{rng.randint(100_000_000, 999_999_999)}"
    doctor = p.names[1]
    return [
        {"role": "system", "content": "You are the front-desk voice assistant of a family clinic. Be brief "
         "and friendly. Confirm identity with name and date of birth before discussing appointments."},
        {"role": "assistant",
         "content": "Thanks for calling Riverside Family Clinic, how can I help you today?"},
        {"role": "user", "content": f"Hi, yeah, this is {name}, I need to move my appointment."},
        {"role": "assistant", "content": "Sure, I can help with that. Can you confirm your date of birth?"},
        {"role": "user", "content": f"It's {dob}. My chart number should be {mrn}."},
        {"role": "assistant", "content": "Thank you. I see your appointment with the doctor on Thursday."},
        {"role": "user", "content": f"Right, with Dr. {doctor}. Can we do next week instead? "
         f"Also I moved, I'm at {street}, {city} now."},
        {"role": "assistant",
         "content": "Got it, I'll update your address. Do you still have the same insurance?"},
        {"role": "user", "content": f"Yes, {insurer}, member ID {member}."},
        {"role": "assistant", "content": "Perfect. Is the best number to reach you still the one on file?"},
        {"role": "user", "content": f"No, use {phone}, that's my cell."},
        {"role": "assistant", "content": "Okay. I have Tuesday at 10 or Wednesday at 3. Which works better?"},
    ]


class Generator:
    """Fresh bodies, deterministic per seed (the same run can be repeated exactly)."""

    def __init__(self, seed: int = 5) -> None:
        self.rng = random.Random(seed)
        self.people = _people(seed + 1)
        self.history = history()
        self.counter = 0

    def utterance(self) -> str:
        self.counter += 1
        rng, p = self.rng, self.people
        forms = (
            "Wednesday at 3 works. Oh and my wife {name} might call from {phone} to confirm.",
            "Tuesday is better. If I miss you, call me back at {phone}, I'm usually home after 5.",
            "Let's do Wednesday. Can you also send the reminder to my email, it's {email}?",
            "Tuesday at 10. My son's date of birth is {date} if you need it for his visit too.",
        )
        name = rng.choice(p.names)
        email = name.lower().replace(" ", ".").replace("'", "") + f"{self.counter}@example.com"
        return rng.choice(forms).format(name=name, phone=_phone(rng), email=email, date=_date(rng))

    def utterance_needing_ner(self) -> str:
        self.counter += 1
        rng, p = self.rng, self.people
        forms = (
            "Wednesday at 3 works, {name} will drive me over.",
            "Tuesday is fine. {name} from next door is coming along too.",
            "Okay, and please tell {name} that I said thanks for the reminder.",
            "Either day is good, but {name} has the car on Tuesdays.",
        )
        # A counter-derived middle initial keeps every utterance new to the findings cache.
        name = rng.choice(p.names).replace(" ", f" {chr(65 + self.counter % 26)}. ", 1)
        return rng.choice(forms).format(name=name)

    def voice_ner(self) -> dict[str, object]:
        return {
            "model": "bench",
            "messages": [*self.history, {"role": "user", "content": self.utterance_needing_ner()}],
            "temperature": 0.3,
        }

    def voice(self, stream: bool = False) -> dict[str, object]:
        body: dict[str, object] = {
            "model": "bench",
            "messages": [*self.history, {"role": "user", "content": self.utterance()}],
            "temperature": 0.3,
        }
        if stream:
            body["stream"] = True
            body["model"] = f"bench-d{STREAM_EVENT_MS:g}"
        return body

    def short(self) -> dict[str, object]:
        rng, p = self.rng, self.people
        text = f"Hi, this is {rng.choice(p.names)}, you can reach me at {_phone(rng)}."
        return {"model": "bench", "messages": [{"role": "user", "content": text}]}

    def note(self, size: int = 4000) -> dict[str, object]:
        rng, p = self.rng, self.people
        name, doctor = rng.choice(p.names), rng.choice(p.names)
        paras = [
            f"Patient: {name}. DOB {_date(rng)}. MRN {rng.randint(10_000_000, 99_999_999)}. "
            f"Seen by Dr. {doctor} at {rng.choice(p.companies)} Medical Center on {_date(rng)}.",
            f"Address: {rng.choice(p.streets)}, {rng.choice(p.cities)}. Phone {_phone(rng)}. "
            f"Emergency contact {rng.choice(p.names)}, {_phone(rng)}.",
        ]
        clinical = (
            "Chief complaint: intermittent chest tightness for three weeks, worse on exertion, relieved "
            "by rest. Denies syncope, palpitations or orthopnea. History of type 2 diabetes on metformin "
            "1000 mg twice daily and hypertension on lisinopril 20 mg daily. BP 142/88, HR 78, SpO2 97% "
            "on room air. Lungs clear to auscultation bilaterally. No peripheral edema. ECG shows normal "
            "sinus rhythm without acute ST changes. Plan: troponin, lipid panel, HbA1c, stress test next "
            "week; start aspirin 81 mg daily; return precautions reviewed. "
        )
        text = " ".join(paras) + " "
        while len(text) < size - 200:
            text += clinical[: rng.randint(300, len(clinical))]
            if rng.random() < 0.4:
                text += f" Spoke with {rng.choice(p.names)} (daughter) at {_phone(rng)} on {_date(rng)}. "
        text = text[: size - 120] + f" Follow-up call to {_phone(rng)}; signed, {doctor}, ref {self.counter}."
        self.counter += 1
        return {"model": "bench", "messages": [
            {"role": "system", "content": "Summarise the note for the care team."},
            {"role": "user", "content": text},
        ]}

    def body(self, scenario: str) -> dict[str, object]:
        if scenario == "voice":
            return self.voice()
        if scenario == "stream":
            return self.voice(stream=True)
        if scenario == "short":
            return self.short()
        if scenario == "note":
            return self.note()
        if scenario == "voice_ner":
            return self.voice_ner()
        raise ValueError(f"unknown scenario {scenario!r}")


def bodies(scenario: str, n: int, seed: int = 5) -> list[bytes]:
    # A different stream of utterances per scenario: the stream run must not replay the voice run's
    # utterances (the proxy's findings cache would have seen them all).
    gen = Generator(seed + 1000 * SCENARIOS.index(scenario))
    return [json.dumps(gen.body(scenario)).encode() for _ in range(n)]


def detection_texts(n_turns: int = 200, n_notes: int = 10, seed: int = 9) -> list[str]:
    """The texts the detection comparison runs on: voice utterances, history and notes."""
    gen = Generator(seed)
    texts = [m["content"] for m in gen.history]
    texts += [gen.utterance() for _ in range(n_turns)]
    texts += [str(gen.note()["messages"][1]["content"]) for _ in range(n_notes)]  # type: ignore[index]
    return texts
