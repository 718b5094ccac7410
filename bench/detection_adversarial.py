"""Pattern-path time on hostile or degenerate input, to catch regex backtracking (ReDoS) early.

Request text is attacker-controlled; every recognizer must stay linear. Prints ms per input at
three sizes so super-linear growth is visible (time should roughly double with size).

Usage: python -m bench.detection_adversarial
"""

from __future__ import annotations

import random
import sys
import time

from masker.detect.engine import DetectionEngine

SHAPES: dict[str, str] = {
    "spelled letters": "b c d f g h j k ",
    "digits spaced": "1 2 3 4 5 6 7 8 9 ",
    "digit words": "one two three four five six ",
    "dots": "a.",
    "hyphens": "12-",
    "long word": "x",
    "long digits": "7",
    "spoken e-mail parts": "john dot ",
    "labels": "member id ",
    "capitalised words": "Aaaa ",
    "at-signs": "a@b.",
    "colons": "1:",
    "name cue": "my name is john ",
    "this is": "this is ",
    "street words": "123 Main ",
}


def _best_ms(engine: DetectionEngine, text: str, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        engine.pattern_candidates(text)
        best = min(best, time.perf_counter() - t0)
    return best * 1000


def main() -> int:
    engine = DetectionEngine()
    sizes = (4_000, 8_000, 16_000)
    print(f"{'input':22s}" + "".join(f"{n:>10d} ch" for n in sizes) + "   ratio 16k/4k")
    rng = random.Random(1)
    shapes = {**SHAPES, "random bytes": "".join(rng.choice("ab1-. @:/\n") for _ in range(64))}
    for name, unit in shapes.items():
        times = [_best_ms(engine, (unit * (n // len(unit) + 1))[:n]) for n in sizes]
        print(
            f"{name:22s}"
            + "".join(f"{t:10.1f} ms" for t in times)
            + f"   {times[-1] / max(times[0], 1e-6):6.1f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
