"""``python -m masker_operator`` / ``masker-operator``: run the Kopf operator and its webhook.

Settings come from ``MASKER_OPERATOR_*`` variables (settings.py, documented in docs/operator.md);
the command line only chooses namespaces, logging and the liveness endpoint.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys

import kopf

from .errors import OperatorError
from .handlers import build_registry
from .kube import Kube
from .settings import OperatorSettings


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="masker-operator", description=__doc__)
    parser.add_argument(
        "-n",
        "--namespace",
        action="append",
        default=[],
        help="watch only this namespace (repeatable); default: MASKER_OPERATOR_NAMESPACES or all",
    )
    parser.add_argument("--liveness", default=None, help="e.g. http://0.0.0.0:8081/healthz")
    parser.add_argument("-v", "--verbose", action="store_true")
    parser.add_argument("-q", "--quiet", action="store_true")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = OperatorSettings.from_env()
        kube = Kube.from_environment()
    except OperatorError as exc:
        print(f"masker-operator: {exc}", file=sys.stderr)
        return 2
    namespaces = tuple(args.namespace) or settings.namespaces
    settings = dataclasses.replace(settings, namespaces=namespaces)
    kopf.configure(verbose=args.verbose, quiet=args.quiet)
    kopf.run(
        registry=build_registry(settings, kube),
        clusterwide=not namespaces,
        namespaces=namespaces,
        standalone=settings.standalone,
        liveness_endpoint=args.liveness,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
