"""Detection time against input size, to show every path is linear (issue 20).

Five shapes at growing sizes: dense synthetic PHI prose (slices of the benchmark corpus), dense
PHI sentences that never repeat (``phi_sentences``: the shape of the 4 MiB proxy test), one
whitespace-free run, ``AAAA…`` and a run of digits. The pattern path is timed on its own, then the
whole ``detect`` (with the in-process model when ``--ner`` is given). Time per size should roughly
scale with size (ratio column ≈ size ratio).

Usage: python -m bench.detection_scaling [--ner] [--max 4194304]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time

from masker.detect.engine import DetectionEngine
from masker.detect.types import DetectOptions


def dense_phi(n: int, seed: int = 3) -> str:
    from bench.corpus.generate import generate_corpus

    samples = generate_corpus(seed, n_clinical=60, n_dialogue=40, n_spoken=20, n_multiturn=0)
    unit = "\n".join(turn for sample in samples for turn in sample.turns)
    rng = random.Random(seed)
    out: list[str] = []
    size = 0
    while size < n:  # shuffled slices, so no two stretches of the text repeat exactly
        piece = unit[rng.randrange(len(unit) // 2) :]
        out.append(piece)
        size += len(piece) + 1
    return "\n".join(out)[:n]


def phi_sentences(n: int, seed: int = 5) -> tuple[str, dict[str, set[str]]]:
    """About ``n`` characters of short sentences dense with synthetic PHI, every one new (names
    recombined from Faker's pools, fresh numbers), and the PHI values in them by kind ("name",
    "phone", "ssn", ...)."""
    from faker import Faker

    fake = Faker("en_US")
    fake.seed_instance(seed)
    rng = random.Random(seed)
    first = sorted({fake.first_name() for _ in range(3000)})
    last = sorted({fake.last_name() for _ in range(3000)})
    streets = sorted({fake.street_name() for _ in range(500)})
    cities = sorted({fake.city() for _ in range(500)})
    states = sorted({fake.state_abbr() for _ in range(60)})
    users = sorted({fake.user_name() for _ in range(2000)})

    def digits(k: int) -> str:
        return f"{rng.randrange(10**k):0{k}d}"

    def name() -> str:
        return f"{rng.choice(first)} {rng.choice(last)}"

    out: list[str] = []
    values: dict[str, set[str]] = {}
    size = 0
    while size < n:
        kind = rng.randrange(6)
        vals: tuple[tuple[str, str], ...] = ()
        if kind == 0:
            who = name()
            dob = f"{rng.randint(1, 12):02d}/{rng.randint(1, 28):02d}/{rng.randint(1935, 2015)}"
            sentence, vals = f"Patient {who} (DOB {dob}) was seen today. ", (("name", who), ("dob", dob))
        elif kind == 1:
            who, phone = name(), f"({rng.randint(201, 989)}) 555-{digits(4)}"
            sentence, vals = f"Call {who} at {phone} about the results. ", (("name", who), ("phone", phone))
        elif kind == 2:
            ssn, mrn = f"{rng.randint(500, 599)}-{digits(2)}-{digits(4)}", f"MRN{digits(7)}"
            sentence, vals = f"SSN {ssn}, MRN {mrn}. ", (("ssn", ssn), ("mrn", mrn))
        elif kind == 3:
            street, city, zipcode = (
                f"{rng.randint(1, 99999)} {rng.choice(streets)}",
                rng.choice(cities),
                digits(5),
            )
            state = rng.choice(states)
            sentence = f"Lives at {street}, {city}, {state} {zipcode}.\n"
            # The ZIP code with its state: a bare five-digit value could be any other number.
            vals = (("street", street), ("city", city), ("zip", f"{state} {zipcode}"))
        elif kind == 4:
            email, who = f"{rng.choice(users)}{rng.randrange(1000)}@example.com", name()
            sentence, vals = f"E-mail {email}; emergency contact {who}. ", (("email", email), ("name", who))
        else:
            sentence = "Blood pressure stable, continue metformin 500 mg twice daily.\n"
        out.append(sentence)
        for kind_name, value in vals:
            values.setdefault(kind_name, set()).add(value)
        size += len(sentence)
    return "".join(out), values


def shapes(n: int) -> dict[str, str]:
    rng = random.Random(n)
    b64 = "abcdefghijklmnopqrstuvwxyzABCDEF0123456789+/"
    return {
        "dense PHI prose": dense_phi(n),
        "PHI sentences": phi_sentences(n)[0],
        "whitespace-free run": "".join(rng.choice(b64) for _ in range(n)),
        "AAAA": "A" * n,
        "digits": "".join(rng.choice("0123456789") for _ in range(n)),
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--ner", action="store_true", help="also time detect() with the in-process model")
    parser.add_argument("--max", type=int, default=4 * 1024 * 1024)
    args = parser.parse_args()
    sizes = [n for n in (16_384, 65_536, 262_144, 1_048_576, 4_194_304) if n <= args.max]
    ner = None
    if args.ner:
        from masker.detect.inprocess import InProcessNer

        ner = InProcessNer(mode="inline")
        ner.warm_up()
    engine = DetectionEngine(ner=ner)
    options = DetectOptions(on_ner_failure="raise")
    texts = {n: shapes(n) for n in sizes}
    print(f"{'shape':22s}{'size':>10s}{'patterns ms':>14s}{'detect ms':>12s}{'per KB us':>12s}")
    for name in texts[sizes[0]]:
        for n in sizes:
            text = texts[n][name]
            t0 = time.perf_counter()
            engine.pattern_candidates(text)
            pat = (time.perf_counter() - t0) * 1000
            engine.cache.clear()
            t0 = time.perf_counter()
            asyncio.run(engine.detect([text], options))
            det = (time.perf_counter() - t0) * 1000
            print(f"{name:22s}{n:>10d}{pat:>14.1f}{det:>12.1f}{det * 1000 / (n / 1024):>12.1f}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
