"""The ``masker`` console script: one entry point, each subcommand owned by its own package.

Subcommands import lazily so ``masker audit verify`` never pays for spaCy or Quart.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from importlib import import_module

# subcommand -> "module:function"; the function takes the remaining argv and returns an exit code.
_COMMANDS: dict[str, tuple[str, str]] = {
    "serve": ("masker.http.serve:main", "run the proxy (Hypercorn)"),
    "ner": ("masker_ner.cli:main", "NER inference service (`masker ner serve`)"),
    "audit": ("masker.observability.audit_cli:main", "audit log tools (`masker audit verify`)"),
    "redact": ("masker.cli_tools:redact_main", "show what the upstream would see, and each finding"),
    "policy": ("masker.cli_tools:policy_main", "policy tools (`masker policy check FILE`)"),
}


def _usage() -> str:
    lines = ["usage: masker <command> [options]", "", "commands:"]
    lines += [f"  {name:<8} {help_}" for name, (_, help_) in _COMMANDS.items()]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in {"-h", "--help"}:
        print(_usage())
        return 0 if args else 2
    name, rest = args[0], args[1:]
    if name == "--version":
        from masker import __version__

        print(__version__)
        return 0
    if name not in _COMMANDS:
        print(f"masker: unknown command {name!r}\n\n{_usage()}", file=sys.stderr)
        return 2
    module_name, func_name = _COMMANDS[name][0].split(":")
    func: Callable[[list[str]], int] = getattr(import_module(module_name), func_name)
    return func(rest)


if __name__ == "__main__":
    raise SystemExit(main())
