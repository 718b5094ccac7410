"""``masker redact`` and ``masker policy check``: see what the upstream would see, and why.

``redact`` runs the proxy's own detection and redaction over a text, a file, or a chat-completions
body on stdin and prints the result with every finding's type, recognizer and score — the same
explanation recall is debugged with. Findings go to stdout only: this module logs nothing, and the
tokens it prints come from a throw-away key, so they match nothing a running proxy issued.

``policy check`` validates a policy file exactly as the proxy loads it and lists what it does.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .detect.engine import DetectionEngine
from .detect.types import DetectionResult, DetectOptions, Entity, Finding
from .errors import ConfigError, MaskerError
from .policy import Action, Policy, load_policies, load_policy_file
from .settings import Settings


class _Recording:
    """A ``Detector`` that remembers what it was asked and what it answered, for the report."""

    def __init__(self, inner: DetectionEngine) -> None:
        self._inner = inner
        self.texts: list[str] = []
        self.findings: list[list[Finding]] = []

    async def detect(
        self,
        texts: Sequence[str],
        options: DetectOptions,
        *,
        roles: Sequence[str] | None = None,
        known: Sequence[tuple[Entity, str]] = (),
    ) -> DetectionResult:
        result = await self._inner.detect(texts, options, roles=roles, known=known)
        self.texts.extend(texts)
        self.findings.extend(result.findings)
        return result

    async def close(self) -> None:
        await self._inner.close()


def _policy(spec: str | None, settings: Settings) -> Policy:
    """A policy file path, or the name of a policy in ``MASKER_POLICIES_DIR``."""
    if spec is None:
        return load_policies(settings.policies_dir)["default"]
    path = Path(spec)
    if path.is_file():
        return load_policy_file(path)
    policies = load_policies(settings.policies_dir)
    if spec not in policies:
        raise MaskerError(f"no policy file {spec!r} and no policy of that name in {settings.policies_dir}")
    return policies[spec]


def _engine(use_ner: bool) -> DetectionEngine:
    if not use_ner:
        return DetectionEngine(ner=None)
    from .detect.inprocess import InProcessNer

    return DetectionEngine(ner=InProcessNer(mode="inline"))


def _read_input(args: argparse.Namespace) -> str:
    if args.text is not None:
        return str(args.text)
    if args.file and args.file != "-":
        return Path(args.file).read_text(encoding="utf-8")
    return sys.stdin.read()


def _as_body(raw: str) -> dict[str, Any] | None:
    """The input as a chat-completions body, if it is one."""
    if not raw.lstrip().startswith("{"):
        return None
    try:
        data = json.loads(raw)
    except json.JSONDecodeError:
        return None
    return data if isinstance(data, dict) and isinstance(data.get("messages"), list) else None


async def _redact(raw: str, policy: Policy, use_ner: bool) -> tuple[Any, _Recording]:
    from .redaction import redact_request
    from .tokens.codec import VAULT, Codec
    from .tokens.keys import Key, KeyRing

    body = _as_body(raw)
    is_body = body is not None
    if body is None:
        body = {"model": "masker-redact", "messages": [{"role": "user", "content": raw}]}
    detector = _Recording(_engine(use_ner))
    codec = Codec("cli-" + secrets.token_hex(8), KeyRing((Key("C", secrets.token_bytes(32)),)), mode=VAULT)
    try:
        outcome = await redact_request(
            body, detector=detector, policy=policy, session=codec.session(None), fail_mode="closed"
        )
    finally:
        await detector.close()
    upstream: Any = outcome.body if is_body else outcome.body["messages"][0]["content"]
    return upstream, detector


def _finding_rows(recording: _Recording, policy: Policy) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for index, (text, found) in enumerate(zip(recording.texts, recording.findings, strict=True)):
        for f in found:
            rows.append(
                {
                    "text": index,
                    "start": f.start,
                    "end": f.end,
                    "value": text[f.start : f.end],
                    "entity": f.entity.value,
                    "recognizer": f.recognizer,
                    "score": round(f.score, 3),
                    "action": policy.action_for(f.entity).value,
                }
            )
    return rows


def redact_main(argv: Sequence[str]) -> int:
    ap = argparse.ArgumentParser(
        prog="masker redact",
        description="Show what the upstream would receive for a text, a file, or a chat-completions "
        "JSON body (read from stdin when no text or file is given), and every finding.",
    )
    ap.add_argument("text", nargs="?", help="the text to redact (omit to read --file or stdin)")
    ap.add_argument("-f", "--file", help="read the input from this file ('-' for stdin)")
    ap.add_argument("-p", "--policy", help="policy name (in MASKER_POLICIES_DIR) or policy file")
    ap.add_argument("--no-ner", action="store_true", help="pattern recognizers only")
    ap.add_argument("--json", action="store_true", help="one JSON object: upstream and findings")
    args = ap.parse_args(list(argv))
    try:
        settings = Settings.from_env()
        policy = _policy(args.policy, settings)
        raw = _read_input(args)
        upstream, recording = asyncio.run(_redact(raw, policy, not args.no_ner))
    except (ConfigError, MaskerError, OSError, UnicodeDecodeError) as exc:
        print(f"masker redact: {exc}", file=sys.stderr)
        return 2
    rows = _finding_rows(recording, policy)
    if args.json:
        print(json.dumps({"policy": policy.name, "upstream": upstream, "findings": rows}, ensure_ascii=False))
        return 0
    print(json.dumps(upstream, ensure_ascii=False, indent=2) if isinstance(upstream, dict) else upstream)
    print(f"\n# {len(rows)} finding(s), policy {policy.name!r}")
    for r in rows:
        where = (
            f"[{r['text']}] {r['start']}-{r['end']}"
            if len(recording.texts) > 1
            else f"{r['start']}-{r['end']}"
        )
        print(f"{where}\t{r['entity']}\t{r['recognizer']}\t{r['score']:.2f}\t{r['action']}\t{r['value']!r}")
    return 0


def _describe(policy: Policy) -> list[str]:
    lines = [f"policy {policy.name!r} (version {policy.version}) is valid", ""]
    lines.append("entity            action       threshold")
    thresholds = dict(policy.thresholds)
    for entity in Entity:
        action = policy.action_for(entity)
        explicit = entity in policy.actions or entity in thresholds
        mark = "" if explicit else "  (default)"
        limit = thresholds.get(entity, policy.default_threshold)
        lines.append(f"{entity.value:<17} {action.value:<12} {limit:.2f}{mark}")
    lines.append("")
    fail_mode = policy.fail_mode.value if policy.fail_mode else "the agent's, else MASKER_DEFAULT_FAIL_MODE"
    lines.append(f"on detector or NER failure: {fail_mode}")
    lines.append("  (closed: 503, degrade: patterns only, open: forward as sent)")
    lines.append(
        f"non-text parts: {policy.non_text_parts}; scan responses: {'yes' if policy.scan_response else 'no'}"
    )
    if policy.strip_fields:
        lines.append(f"fields removed before forwarding: {', '.join(sorted(policy.strip_fields))}")
    lines.append(f"allow list: {len(policy.allow)} value(s); deny list: {len(policy.deny)} value(s)")
    kept = [e.value for e in Entity if policy.action_for(e) is Action.KEEP]
    if kept:
        lines.append(f"forwarded raw (keep): {', '.join(kept)}")
    return lines


def policy_main(argv: Sequence[str]) -> int:
    ap = argparse.ArgumentParser(prog="masker policy", description="Policy tools.")
    sub = ap.add_subparsers(dest="command", required=True)
    check = sub.add_parser("check", help="validate a policy file and list what it does")
    check.add_argument("file", help="the policy YAML file")
    args = ap.parse_args(list(argv))
    path = Path(args.file)
    if not path.is_file():
        print(f"masker policy check: {os.fspath(path)!r} is not a file", file=sys.stderr)
        return 2
    try:
        policy = load_policy_file(path)
    except ConfigError as exc:
        print(f"masker policy check: invalid: {exc}", file=sys.stderr)
        return 1
    print("\n".join(_describe(policy)))
    return 0
