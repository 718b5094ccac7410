"""Mangling benchmark: what LLMs do to tokens, and how often Masker still restores the value.

Each class is a list of manglers ``(token, label, body) -> (text, wrapper)``: ``text`` is what the
model wrote, ``wrapper`` the same text with ``{}`` where the value must come back (markdown and
quotes around a token stay; separators mangled inside it disappear with it). Every case is checked
on the whole text and streamed one character per chunk, in both tokenization modes, for a set of
synthetic values (Faker, fixed seed).

In-scope classes must restore 100%. ``out_of_scope`` cases cannot be restored (information lost or
the body's case and spacing both changed); for them the gate is different: no raw ``MSKV1`` in the
output — a speakable fallback phrase instead. ``tests/tokens/test_mangling.py`` asserts both.

    python bench/mangling.py          # prints restore rate per class and mode
"""

from __future__ import annotations

import asyncio
import os
import random
import sys
from collections.abc import Callable
from dataclasses import dataclass

from faker import Faker

from masker.detect.types import Entity
from masker.tokens.codec import AEAD, VAULT, Codec, TokenSession
from masker.tokens.keys import Key, KeyRing
from masker.tokens.rehydrate import StreamRehydrator, rehydrate_text

Mangler = Callable[[str, str, str], tuple[str, str]]


def _same(fn: Callable[[str], str]) -> Mangler:
    """A mangler that only wraps the token: the wrapper is the same text around ``{}``."""

    def mangle(token: str, label: str, body: str) -> tuple[str, str]:
        return fn(token), fn("{}")

    return mangle


def _whole(fn: Callable[[str, str], str]) -> Mangler:
    """A mangler that rewrites the token itself: the whole text becomes the value."""

    def mangle(token: str, label: str, body: str) -> tuple[str, str]:
        return fn(label, body), "{}"

    return mangle


def _mixed_case(label: str, body: str) -> str:
    rng = random.Random(label + body)
    return "".join(c.upper() if rng.random() < 0.5 else c.lower() for c in f"MSKV1.{label}.{body}")


def _spaced_vault_body(label: str, body: str) -> str:
    return f"MSKV1.{label}.{body[:5]} {body[5:]}" if len(body) == 10 else f"MSKV1.{label}.{body}"


def _every_char_vault(label: str, body: str) -> str:
    return f"MSKV1.{label}.{' '.join(body)}" if len(body) == 10 else f"MSKV1.{label}.{body}"


CLASSES: dict[str, list[Mangler]] = {
    "case": [
        _whole(lambda lb, b: f"mskv1.{lb.lower()}.{b.lower()}"),
        _whole(lambda lb, b: f"Mskv1.{lb.title()}.{b.title()}"),
        _whole(lambda lb, b: f"MSKV1.{lb}.{b}".swapcase()),
        _whole(_mixed_case),
    ],
    "spaces": [
        _whole(lambda lb, b: f"MSKV1 . {lb} . {b}"),
        _whole(lambda lb, b: f"MSKV1 {lb} {b}"),
        _whole(lambda lb, b: f"MSKV 1.{lb}.{b}"),
        _whole(lambda lb, b: f"MSKV1.\n{lb}.\n{b}"),
        _whole(_spaced_vault_body),
        _whole(_every_char_vault),
    ],
    "separators": [
        _whole(lambda lb, b: f"MSKV1_{lb}_{b}"),
        _whole(lambda lb, b: f"MSKV1-{lb}-{b}"),
        _whole(lambda lb, b: f"MSKV1: {lb}: {b}"),
        _whole(lambda lb, b: f"MSKV1:{lb}:{b}"),
        _whole(lambda lb, b: f"MSKV1/{lb}/{b}"),
        _whole(lambda lb, b: f"MSKV1\\_{lb}\\_{b}"),
        _whole(lambda lb, b: f"MSKV1 - {lb} - {b}"),
        _whole(lambda lb, b: f"MSKV1.{lb}_{b}"),
    ],
    "quotes": [
        _same(lambda t: f'"{t}"'),
        _same(lambda t: f"'{t}'"),
        _same(lambda t: f"\u201c{t}\u201d"),
        _same(lambda t: f"\u2018{t}\u2019"),
        _same(lambda t: f"\u00ab{t}\u00bb"),
        _same(lambda t: f"({t})"),
        _same(lambda t: f"[{t}]"),
        _same(lambda t: f"<{t}>"),
        _same(lambda t: f'\\"{t}\\"'),
    ],
    "markdown": [
        _same(lambda t: f"**{t}**"),
        _same(lambda t: f"*{t}*"),
        _same(lambda t: f"_{t}_"),
        _same(lambda t: f"__{t}__"),
        _same(lambda t: f"`{t}`"),
        _same(lambda t: f"~~{t}~~"),
        _same(lambda t: f"***{t}***"),
        _same(lambda t: f"- **Phone:** {t}"),
        _whole(lambda lb, b: f"MSKV1.**{lb}**.{b}"),
        lambda t, lb, b: (f"`MSKV1`.`{lb}`.`{b}`", "`{}`"),
        _whole(lambda lb, b: f"MSKV1._{lb}_.{b}"),
    ],
    "punctuation": [
        _same(lambda t: f"{t}."),
        _same(lambda t: f"{t},"),
        _same(lambda t: f"{t}!"),
        _same(lambda t: f"{t}?"),
        _same(lambda t: f"{t};"),
        _same(lambda t: f"{t}:"),
        _same(lambda t: f"{t}..."),
        _same(lambda t: f"{t}'s"),
        _same(lambda t: f"{t}\u2014"),
        _same(lambda t: f"{t}).\n"),
    ],
    "label": [
        _whole(lambda lb, b: f"MSKV1.{lb}_NUMBER.{b}"),
        _whole(lambda lb, b: f"MSKV1.{lb.title()} Number.{b}"),
        _whole(lambda lb, b: f"MSKV1.PATIENT-{lb}.{b}"),
        _whole(lambda lb, b: f"MSKV1.TELEPHONE.{b}"),
        _whole(lambda lb, b: f"MSKV1.PERSON.{b}"),
        _whole(lambda lb, b: f"MSKV1.X_Y.{b}"),
        _whole(lambda lb, b: f"MSKV1_THE_PATIENT_{lb}_{b}"),
    ],
    # Restored because the body kept its case: a split AEAD body is re-joined by the check symbol.
    "aead_body_spaces": [
        _whole(lambda lb, b: f"MSKV1.{lb}.{b[:8]} {b[8:]}"),
        _whole(lambda lb, b: f"MSKV1.{lb}.{b[:24]} {b[24:]}"),
        _whole(lambda lb, b: f"MSKV1.{lb}.{' '.join(b[i : i + 6] for i in range(0, len(b), 6))}"),
    ],
}

# Cannot be restored; must come out as a fallback phrase, never as raw token text.
OUT_OF_SCOPE: list[Mangler] = [
    _whole(lambda lb, b: f"MSKV1.{lb}.{b[:-2]}"),  # truncated body
    _whole(lambda lb, b: f"MSKV1.{lb}.{b[:3]}{'Z' if b[3] != 'Z' else 'Y'}{b[4:]}"),  # a symbol changed
    _whole(lambda lb, b: f"MSKV1.{lb}"),  # body dropped
    _whole(lambda lb, b: f"MSKV1.{b}"),  # label dropped
    _whole(lambda lb, b: "MSKV1"),  # prefix only
    _whole(lambda lb, b: f"MSKV1.{lb}.{b[:6]}**{b[6:]}**"),  # emphasis inside the body
    _whole(lambda lb, b: f"mskv1.{lb}.{b[:12].lower()} {b[12:].lower()}"),  # lower case and split
]


@dataclass
class Outcome:
    restored: int = 0
    total: int = 0
    raw_leaks: int = 0
    stream_mismatches: int = 0

    @property
    def rate(self) -> float:
        return self.restored / self.total if self.total else 1.0


def synthetic_values(n: int, seed: int = 4) -> list[tuple[Entity, str]]:
    fake = Faker()
    Faker.seed(seed)
    kinds: list[tuple[Entity, Callable[[], str]]] = [
        (Entity.PHONE, fake.phone_number),
        (Entity.PERSON, fake.name),
        (Entity.EMAIL, fake.email),
        (Entity.ADDRESS, lambda: fake.address().replace("\n", ", ")),
        (Entity.SSN, fake.ssn),
        (Entity.DATE, lambda: fake.date_of_birth().strftime("%B %d, %Y")),
        (Entity.MRN, lambda: f"MRN-{fake.random_number(digits=8, fix_len=True)}"),
    ]
    return [(kinds[i % len(kinds)][0], kinds[i % len(kinds)][1]()) for i in range(n)]


def make_session(mode: str) -> TokenSession:
    ring = KeyRing((Key("BENCH", os.urandom(32)),))
    return Codec("bench-agent", ring, mode=mode).session("bench-conversation")


async def _streamed(session: TokenSession, text: str) -> str:
    rh = StreamRehydrator(session)
    parts = [await rh.feed(ch) for ch in text]
    return "".join(parts) + await rh.finish()


async def run_case(
    session: TokenSession, mangler: Mangler, entity: Entity, value: str, *, expect_restore: bool
) -> Outcome:
    token = session.tokenize(entity, value)
    _, label, body = token.split(".", 2)
    mangled, wrapper = mangler(token, label, body)
    text = f"Sure - {mangled} is on file"
    out = await rehydrate_text(session, text)
    outcome = Outcome(total=1)
    if expect_restore and out == "Sure - " + wrapper.replace("{}", value) + " is on file":
        outcome.restored = 1
    if "mskv" in out.lower().replace(" ", ""):
        outcome.raw_leaks = 1
    if await _streamed(session, text) != out:
        outcome.stream_mismatches = 1
    return outcome


async def measure(n_values: int = 35) -> dict[tuple[str, str], Outcome]:
    values = synthetic_values(n_values)
    results: dict[tuple[str, str], Outcome] = {}
    for mode in (VAULT, AEAD):
        session = make_session(mode)
        classes = {**CLASSES, "out_of_scope": OUT_OF_SCOPE}
        for name, manglers in classes.items():
            if name == "aead_body_spaces" and mode == VAULT:
                continue
            total = Outcome()
            for mangler in manglers:
                for entity, value in values:
                    one = await run_case(
                        session, mangler, entity, value, expect_restore=name != "out_of_scope"
                    )
                    total.restored += one.restored
                    total.total += one.total
                    total.raw_leaks += one.raw_leaks
                    total.stream_mismatches += one.stream_mismatches
            results[(mode, name)] = total
    return results


def main() -> int:
    results = asyncio.run(measure())
    print(f"{'mode':<16}{'class':<18}{'restored':>10}{'rate':>9}{'raw':>6}{'stream!=':>10}")
    for (mode, name), o in results.items():
        rate = "n/a" if name == "out_of_scope" else f"{o.rate:.1%}"
        print(
            f"{mode:<16}{name:<18}{o.restored:>5}/{o.total:<4}{rate:>9}{o.raw_leaks:>6}{o.stream_mismatches:>10}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
