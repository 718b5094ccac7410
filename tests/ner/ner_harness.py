"""Test harness for the NER service: the real server as a child process on loopback.

Starts ``python -m masker ner serve`` (the same entry point as the container), waits on the
standard health service, scrapes the Prometheus endpoint, and sends signals (TERM/KILL/STOP/CONT).
Also synthetic texts (Faker, seeded) and a throwaway CA for the TLS tests.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import grpc
from faker import Faker
from grpc_health.v1 import health_pb2, health_pb2_grpc
from prometheus_client.parser import text_string_to_metric_families

from masker_contracts import ner_wire as wire

REPO = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT_S = 60.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def health_status(addr: str, timeout: float = 1.0) -> str | None:
    """SERVING / NOT_SERVING, or None if nothing answers."""
    with grpc.insecure_channel(addr) as channel:
        try:
            reply = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=""), timeout=timeout
            )
        except grpc.RpcError:
            return None
    return str(health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status))


@dataclass
class NerServer:
    """One ``masker ner serve`` child process."""

    args: Sequence[str] = ()
    port: int = field(default_factory=free_port)
    metrics_port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None

    @property
    def addr(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self, log_dir: Path) -> NerServer:
        self.log_path = log_dir / f"ner-{self.port}.log"
        cmd = [
            sys.executable, "-m", "masker", "ner", "serve",
            "--listen", self.addr,
            "--metrics-listen", f"127.0.0.1:{self.metrics_port}",
            *self.args,
        ]  # fmt: skip
        env = {k: v for k, v in os.environ.items() if not k.startswith("MASKER_NER_")}
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=REPO)
        return self

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path else ""

    def wait_status(self, wanted: str, timeout: float = STARTUP_TIMEOUT_S) -> list[str]:
        """Polls health until ``wanted``; returns the distinct statuses seen, in order."""
        assert self.proc is not None
        seen: list[str] = []
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise RuntimeError(f"NER server exited ({self.proc.returncode}):\n{self.log()}")
            status = health_status(self.addr, timeout=0.5)
            if status is not None and (not seen or seen[-1] != status):
                seen.append(status)
            if status == wanted:
                return seen
            time.sleep(0.02)
        raise TimeoutError(f"NER server never reported {wanted} (saw {seen}):\n{self.log()}")

    def wait_serving(self) -> NerServer:
        self.wait_status("SERVING")
        return self

    def wait_ready_metric(self, timeout: float = STARTUP_TIMEOUT_S) -> NerServer:
        """For TLS servers (the plaintext health probe cannot talk to them): masker_ner_ready == 1."""
        assert self.proc is not None
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise RuntimeError(f"NER server exited ({self.proc.returncode}):\n{self.log()}")
            try:
                if self.metrics().get("masker_ner_ready") == 1.0:
                    return self
            except OSError:
                pass
            time.sleep(0.05)
        raise TimeoutError(f"NER server never became ready:\n{self.log()}")

    def metrics(self) -> dict[str, float]:
        """Flat {sample name{labels}: value} from the metrics endpoint."""
        with urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=5) as r:
            text = r.read().decode()
        out: dict[str, float] = {}
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
                out[f"{sample.name}{{{labels}}}" if labels else sample.name] = sample.value
        return out

    def signal(self, sig: signal.Signals) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)

    def wait_exit(self, timeout: float = 30.0) -> int:
        assert self.proc is not None
        return self.proc.wait(timeout)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGCONT)  # in case a test left it stopped
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)


def raw_analyze(addr: str, texts: Sequence[str], timeout: float = 30.0) -> wire.AnalyzeResponse:
    """One Analyze call with the plain sync stub, to see the response fields the client hides."""
    with grpc.insecure_channel(addr) as channel:
        call = channel.unary_unary(
            wire.ANALYZE_METHOD,
            request_serializer=wire.AnalyzeRequest.SerializeToString,
            response_deserializer=wire.AnalyzeResponse.FromString,
        )
        response: wire.AnalyzeResponse = call(wire.AnalyzeRequest(texts=list(texts)), timeout=timeout)
        return response


def synthetic_texts(n: int, seed: int = 5) -> list[str]:
    """Chat-like sentences with synthetic names, places, organisations and dates."""
    fake = Faker("en_US")
    Faker.seed(seed)
    templates = (
        "Hi, this is {name}, I'm calling from {city} about my appointment on {date}.",
        "My doctor is {name} at {company} in {city}.",
        "Please send the results to {name}, {street}, {city}.",
        "I moved from {city} to {city2} last {month}.",
        "Can you reschedule? {name} said {company} would cover it.",
        "ok thanks",
    )
    out = []
    for i in range(n):
        out.append(
            templates[i % len(templates)].format(
                name=fake.name(),
                city=fake.city(),
                city2=fake.city(),
                date=fake.date(),
                company=fake.company(),
                street=fake.street_address(),
                month=fake.month_name(),
            )
        )
    return out


@dataclass(frozen=True)
class TlsFiles:
    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    other_client_cert: Path  # signed by a different CA: must be refused under mTLS
    other_client_key: Path


def make_tls_files(directory: Path) -> TlsFiles:
    """A throwaway CA, a server certificate for 127.0.0.1/localhost and client certificates."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = dt.datetime.now(dt.UTC)

    def name(cn: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])

    def write_key(key: ec.EllipticCurvePrivateKey, path: Path) -> Path:
        path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        return path

    def write_cert(cert: x509.Certificate, path: Path) -> Path:
        path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        return path

    def make_ca(cn: str) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
        key = ec.generate_private_key(ec.SECP256R1())
        cert = (
            x509.CertificateBuilder()
            .subject_name(name(cn))
            .issuer_name(name(cn))
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256())
        )
        return key, cert

    def leaf(
        ca: tuple[ec.EllipticCurvePrivateKey, x509.Certificate], cn: str, server: bool
    ) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
        key = ec.generate_private_key(ec.SECP256R1())
        builder = (
            x509.CertificateBuilder()
            .subject_name(name(cn))
            .issuer_name(ca[1].subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(
                x509.ExtendedKeyUsage(
                    [ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH]
                ),
                critical=False,
            )
        )
        if server:
            import ipaddress

            builder = builder.add_extension(
                x509.SubjectAlternativeName(
                    [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
                ),
                critical=False,
            )
        return key, builder.sign(ca[0], hashes.SHA256())

    ca = make_ca("masker-test-ca")
    other_ca = make_ca("someone-else-ca")
    server = leaf(ca, "localhost", server=True)
    client = leaf(ca, "masker-proxy", server=False)
    other = leaf(other_ca, "masker-proxy", server=False)
    return TlsFiles(
        ca=write_cert(ca[1], directory / "ca.pem"),
        server_cert=write_cert(server[1], directory / "server.pem"),
        server_key=write_key(server[0], directory / "server.key"),
        client_cert=write_cert(client[1], directory / "client.pem"),
        client_key=write_key(client[0], directory / "client.key"),
        other_client_cert=write_cert(other[1], directory / "other.pem"),
        other_client_key=write_key(other[0], directory / "other.key"),
    )
