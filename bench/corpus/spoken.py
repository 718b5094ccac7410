"""How people *say* identifiers, for the spoken-form part of the corpus: digit by digit, "oh" for
zero, "double"/"triple", grouped with pauses, mixed digits and words, years and dates as words."""

from __future__ import annotations

import random

UNITS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
TEENS = ["ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen",
         "eighteen", "nineteen"]  # fmt: skip
TENS = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
ORDINALS = ["", "first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth",
            "tenth", "eleventh", "twelfth", "thirteenth", "fourteenth", "fifteenth", "sixteenth",
            "seventeenth", "eighteenth", "nineteenth", "twentieth"]  # fmt: skip
MONTHS = ["january", "february", "march", "april", "may", "june", "july", "august", "september",
          "october", "november", "december"]  # fmt: skip


def two_digit(n: int) -> str:
    if n < 10:
        return UNITS[n]
    if n < 20:
        return TEENS[n - 10]
    return TENS[n // 10] + ("" if n % 10 == 0 else " " + UNITS[n % 10])


def ordinal(n: int) -> str:
    if n <= 20:
        return ORDINALS[n]
    tens, unit = divmod(n, 10)
    return TENS[tens] if unit == 0 and tens == 3 else f"{TENS[tens]} {ORDINALS[unit]}"


def year_words(year: int, rng: random.Random) -> str:
    if 2000 <= year <= 2009:
        return "two thousand" + ("" if year == 2000 else rng.choice([" ", " and "]) + UNITS[year - 2000])
    hi, lo = divmod(year, 100)
    if lo == 0:
        return f"{two_digit(hi)} hundred"
    lo_words = f"oh {UNITS[lo]}" if lo < 10 else two_digit(lo)
    return f"{two_digit(hi)} {lo_words}"


def digits_words(digits: str, rng: random.Random, *, groups: list[int] | None = None) -> str:
    """Say a digit string: per digit, with "oh"/"zero", "double", and optional pauses between groups."""
    zero = rng.choice(["zero", "oh", "oh", "zero"])
    use_double = rng.random() < 0.5
    pause = rng.choice([", ", " ", " ", ". "]) if groups else " "
    chunks: list[str] = []
    pos = 0
    for size in groups or [len(digits)]:
        part = digits[pos : pos + size]
        pos += size
        words: list[str] = []
        i = 0
        while i < len(part):
            d = part[i]
            word = zero if d == "0" else UNITS[int(d)]
            if use_double and i + 1 < len(part) and part[i + 1] == d:
                if i + 2 < len(part) and part[i + 2] == d and rng.random() < 0.5:
                    words.append(f"triple {word}")
                    i += 3
                    continue
                words.append(f"double {word}")
                i += 2
                continue
            words.append(word)
            i += 1
        chunks.append(" ".join(words))
    return pause.join(chunks)


def mixed_digits(digits: str, rng: random.Random, groups: list[int]) -> str:
    """Some groups as numerals, some as words ("415 five five five 2671")."""
    out: list[str] = []
    pos = 0
    for size in groups:
        part = digits[pos : pos + size]
        pos += size
        out.append(part if rng.random() < 0.5 else digits_words(part, rng))
    return " ".join(out)


def spoken_date(year: int, month: int, day: int, rng: random.Random) -> str:
    style = rng.randrange(4)
    if style == 0:
        return f"{MONTHS[month - 1]} {ordinal(day)} {year_words(year, rng)}"
    if style == 1:
        return f"the {ordinal(day)} of {MONTHS[month - 1]} {year_words(year, rng)}"
    if style == 2:
        return f"{MONTHS[month - 1]} {ordinal(day)}"
    return f"{MONTHS[month - 1]} {two_digit(day)} {year_words(year, rng)}"
