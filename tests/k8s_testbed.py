"""A real Kubernetes control plane on loopback for tests: etcd + kube-apiserver + controller-manager.

Why: the operator, its admission webhook and the Helm chart are only believable when a real API
server validates the CRD, runs the webhook over TLS and garbage-collects owned objects. No Docker
here, so the binaries come from scripts/test.d/20-k8s-testbed.sh (Kubernetes 1.20.2 built from
Debian's source package, cached under $MASKER_CACHE_DIR/k8s) and etcd from Debian's etcd-server.

Use it from a conftest.py by importing the fixtures (pytest refuses ``pytest_plugins`` in a
conftest below the root directory once the whole suite is collected)::

    from tests.k8s_testbed import k8s_api, k8s_namespace, k8s_testbed  # noqa: F401

Every importing directory shares ONE control plane per pytest process (started on first use,
stopped when pytest unconfigures), so tests/operator and tests/chart do not pay twice.

* ``k8s_testbed`` (session) -> :class:`K8sTestbed`: server URL, CA file, an admin kubeconfig, and a
  second token/kubeconfig that authenticates as the ServiceAccount
  ``system:serviceaccount:masker-system:masker-operator`` with no permissions of its own, so RBAC
  manifests can be tested for real (authorization mode is RBAC).
* ``k8s_api`` (session) -> ``kubernetes.client.ApiClient`` logged in as admin.
* ``k8s_namespace`` (function) -> a fresh namespace name, deleted afterwards.

Or outside pytest: ``with start_testbed(workdir) as bed: ...``. Certificates are made with the
openssl CLI, tokens with ``secrets``; everything lives in a temporary directory. The API server
is stopped before etcd.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import socket
import ssl
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
import yaml

T = TypeVar("T")

CACHE_DIR = Path(os.environ.get("MASKER_CACHE_DIR", Path.home() / ".cache" / "masker"))
BIN_DIR = Path(os.environ.get("MASKER_K8S_BIN_DIR", CACHE_DIR / "k8s"))
ETCD = shutil.which("etcd") or "/usr/bin/etcd"
OPERATOR_SA_NAMESPACE = "masker-system"
OPERATOR_SA_NAME = "masker-operator"
OPERATOR_USER = f"system:serviceaccount:{OPERATOR_SA_NAMESPACE}:{OPERATOR_SA_NAME}"
START_TIMEOUT = 60.0


@dataclass(frozen=True)
class K8sTestbed:
    """How to reach the running test cluster."""

    server: str  # https://127.0.0.1:<port>
    ca_file: Path
    admin_token: str
    kubeconfig: Path  # admin (system:masters)
    operator_token: str  # authenticates as OPERATOR_USER, permissions only via RBAC
    operator_kubeconfig: Path
    workdir: Path

    def env(self, kubeconfig: Path | None = None) -> dict[str, str]:
        """Environment for a subprocess (kubectl, helm, the operator) using this cluster."""
        return {**os.environ, "KUBECONFIG": str(kubeconfig or self.kubeconfig)}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for(
    fn: Callable[[], T | None], timeout: float = 10.0, what: str = "condition", interval: float = 0.05
) -> T:
    """Poll ``fn`` until it returns something truthy; AssertionError after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = fn()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def wait_operator_up(
    proc: subprocess.Popen[bytes],
    liveness_port: int,
    webhook_port: int,
    output: Callable[[], str],
    timeout: float = 30.0,
) -> None:
    """Until the operator process answers its liveness probe and its webhook port accepts."""

    def up() -> bool:
        if proc.poll() is not None:
            raise AssertionError(f"operator exited {proc.returncode}:\n{output()}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{liveness_port}/healthz", timeout=1):
                pass
            socket.create_connection(("127.0.0.1", webhook_port), timeout=1).close()
        except OSError:
            return False
        return True

    wait_for(up, timeout=timeout, what="operator liveness + webhook port")


def stop_process(proc: subprocess.Popen[bytes], timeout: float = 15.0) -> None:
    proc.terminate()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_ca(directory: Path, name: str = "ca", cn: str = "masker-test-ca") -> tuple[Path, Path]:
    """A throwaway CA (EC P-256) made with openssl; returns (cert, key)."""
    directory.mkdir(parents=True, exist_ok=True)
    _openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", f"{name}.key", cwd=directory)
    _openssl(
        "req",
        "-x509",
        "-new",
        "-key",
        f"{name}.key",
        "-out",
        f"{name}.crt",
        "-days",
        "3",
        "-subj",
        f"/CN={cn}",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
        cwd=directory,
    )
    return directory / f"{name}.crt", directory / f"{name}.key"


def make_cert(
    directory: Path, name: str, ca: tuple[Path, Path], sans: list[str], cn: str
) -> tuple[Path, Path]:
    """A serving certificate signed by ``ca`` with the given subjectAltNames (``IP:…``/``DNS:…``)."""
    _openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", f"{name}.key", cwd=directory)
    _openssl("req", "-new", "-key", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={cn}", cwd=directory)
    ext = directory / f"{name}.ext"
    ext.write_text(
        "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n"
        "extendedKeyUsage=serverAuth\n"
        f"subjectAltName={','.join(sans)}\n"
    )
    _openssl(
        "x509",
        "-req",
        "-in",
        f"{name}.csr",
        "-CA",
        str(ca[0]),
        "-CAkey",
        str(ca[1]),
        "-CAcreateserial",
        "-out",
        f"{name}.crt",
        "-days",
        "3",
        "-extfile",
        ext.name,
        cwd=directory,
    )
    return directory / f"{name}.crt", directory / f"{name}.key"


def write_kubeconfig(path: Path, server: str, ca_file: Path, token: str, user: str) -> Path:
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {"name": "testbed", "cluster": {"server": server, "certificate-authority": str(ca_file)}}
        ],
        "users": [{"name": user, "user": {"token": token}}],
        "contexts": [{"name": "testbed", "context": {"cluster": "testbed", "user": user}}],
        "current-context": "testbed",
    }
    path.write_text(yaml.safe_dump(config))
    path.chmod(0o600)
    return path


class _Process:
    """A child process whose output goes to a log file, shown when something goes wrong."""

    def __init__(self, name: str, argv: list[str], log: Path) -> None:
        self.name = name
        self.log = log
        self._fh = log.open("wb")
        self.proc = subprocess.Popen(argv, stdout=self._fh, stderr=subprocess.STDOUT, start_new_session=True)

    def tail(self, lines: int = 40) -> str:
        text = self.log.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])

    def check_alive(self) -> None:
        if self.proc.poll() is not None:
            raise RuntimeError(f"{self.name} exited with {self.proc.returncode}:\n{self.tail()}")

    def stop(self, timeout: float = 10.0) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._fh.close()


def _wait_http(url: str, *, context: ssl.SSLContext | None, token: str | None, proc: _Process) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    while True:
        proc.check_alive()
        try:
            with urllib.request.urlopen(request, context=context, timeout=2) as resp:
                if resp.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError, ssl.SSLError):
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{proc.name} not ready at {url}:\n{proc.tail()}")
        time.sleep(0.1)


def binaries_present() -> bool:
    return (
        all((BIN_DIR / b).is_file() for b in ("kube-apiserver", "kube-controller-manager"))
        and Path(ETCD).is_file()
    )


@contextlib.contextmanager
def start_testbed(
    workdir: Path, *, controller_manager: bool = True, apiserver_args: tuple[str, ...] = ()
) -> Iterator[K8sTestbed]:
    """Start etcd, kube-apiserver (and kube-controller-manager); stop them in reverse order.

    ``apiserver_args`` are appended to the API server's flags (e.g. an audit log for a benchmark).
    """
    if not binaries_present():
        raise RuntimeError(
            f"Kubernetes test binaries missing under {BIN_DIR} or no {ETCD}: "
            "run scripts/test.d/20-k8s-testbed.sh (scripts/test.sh does)"
        )
    workdir.mkdir(parents=True, exist_ok=True)
    pki = workdir / "pki"
    ca = make_ca(pki)
    api_cert = make_cert(
        pki,
        "apiserver",
        ca,
        ["IP:127.0.0.1", "DNS:localhost", "IP:10.0.0.1", "DNS:kubernetes", "DNS:kubernetes.default.svc"],
        "kube-apiserver",
    )
    _openssl("genrsa", "-out", "sa.key", "2048", cwd=pki)
    _openssl("rsa", "-in", "sa.key", "-pubout", "-out", "sa.pub", cwd=pki)
    admin_token = secrets.token_hex(16)
    operator_token = secrets.token_hex(16)
    tokens = workdir / "tokens.csv"
    tokens.write_text(
        f'{admin_token},admin,admin,"system:masters"\n'
        f"{operator_token},{OPERATOR_USER},{uuid.uuid4()},"
        f'"system:serviceaccounts,system:serviceaccounts:{OPERATOR_SA_NAMESPACE},system:authenticated"\n'
    )
    tokens.chmod(0o600)
    etcd_port, peer_port, api_port = free_port(), free_port(), free_port()
    # etcd data on tmpfs when available: fsync-heavy and thrown away anyway.
    shm = Path("/dev/shm")
    etcd_data = Path(
        __import__("tempfile").mkdtemp(prefix="masker-etcd-", dir=shm if shm.is_dir() else workdir)
    )
    server = f"https://127.0.0.1:{api_port}"
    kubeconfig = write_kubeconfig(workdir / "admin.kubeconfig", server, ca[0], admin_token, "admin")
    operator_kubeconfig = write_kubeconfig(
        workdir / "operator.kubeconfig", server, ca[0], operator_token, OPERATOR_SA_NAME
    )
    procs: list[_Process] = []
    try:
        etcd = _Process(
            "etcd",
            [
                ETCD,
                "--name",
                "testbed",
                "--data-dir",
                str(etcd_data),
                "--listen-client-urls",
                f"http://127.0.0.1:{etcd_port}",
                "--advertise-client-urls",
                f"http://127.0.0.1:{etcd_port}",
                "--listen-peer-urls",
                f"http://127.0.0.1:{peer_port}",
                "--initial-advertise-peer-urls",
                f"http://127.0.0.1:{peer_port}",
                "--initial-cluster",
                f"testbed=http://127.0.0.1:{peer_port}",
                "--log-level",
                "warn",
            ],
            workdir / "etcd.log",
        )
        procs.append(etcd)
        _wait_http(f"http://127.0.0.1:{etcd_port}/health", context=None, token=None, proc=etcd)
        apiserver = _Process(
            "kube-apiserver",
            [
                str(BIN_DIR / "kube-apiserver"),
                "--etcd-servers",
                f"http://127.0.0.1:{etcd_port}",
                "--bind-address",
                "127.0.0.1",
                "--advertise-address",
                "127.0.0.1",
                "--secure-port",
                str(api_port),
                "--insecure-port",
                "0",
                "--tls-cert-file",
                str(api_cert[0]),
                "--tls-private-key-file",
                str(api_cert[1]),
                "--client-ca-file",
                str(ca[0]),
                "--token-auth-file",
                str(tokens),
                "--authorization-mode",
                "RBAC",
                "--service-account-key-file",
                str(pki / "sa.pub"),
                "--service-account-signing-key-file",
                str(pki / "sa.key"),
                "--service-account-issuer",
                "https://kubernetes.default.svc",
                "--service-cluster-ip-range",
                "10.0.0.0/24",
                "--allow-privileged=true",
                # No kubelet/token controller races: pods are validated, not run.
                "--disable-admission-plugins",
                "ServiceAccount",
                "--enable-admission-plugins",
                "MutatingAdmissionWebhook,ValidatingAdmissionWebhook",
                "--profiling=false",
                "--v=1",
                *apiserver_args,
            ],
            workdir / "kube-apiserver.log",
        )
        procs.append(apiserver)
        context = ssl.create_default_context(cafile=str(ca[0]))
        _wait_http(f"{server}/readyz", context=context, token=admin_token, proc=apiserver)
        if controller_manager:
            kcm = _Process(
                "kube-controller-manager",
                [
                    str(BIN_DIR / "kube-controller-manager"),
                    "--kubeconfig",
                    str(kubeconfig),
                    "--port",
                    "0",
                    "--secure-port",
                    "0",
                    "--leader-elect=false",
                    "--controllers",
                    "garbagecollector,namespace,deployment,replicaset,statefulset,"
                    "daemonset,job,serviceaccount,serviceaccount-token",
                    "--service-account-private-key-file",
                    str(pki / "sa.key"),
                    "--root-ca-file",
                    str(ca[0]),
                    "--use-service-account-credentials=false",
                    "--concurrent-gc-syncs",
                    "5",
                    "--v=1",
                ],
                workdir / "kube-controller-manager.log",
            )
            procs.append(kcm)
            time.sleep(0.2)
            kcm.check_alive()
        yield K8sTestbed(
            server=server,
            ca_file=ca[0],
            admin_token=admin_token,
            kubeconfig=kubeconfig,
            operator_token=operator_token,
            operator_kubeconfig=operator_kubeconfig,
            workdir=workdir,
        )
    finally:
        # Reverse order: controller-manager, API server, then etcd (the API server needs etcd to stop).
        for proc in reversed(procs):
            proc.stop()
        shutil.rmtree(etcd_data, ignore_errors=True)


def api_client(bed: K8sTestbed, token: str | None = None) -> Any:
    """A ``kubernetes.client.ApiClient`` for the test bed (admin unless another token is given)."""
    from kubernetes import client

    config = client.Configuration()
    config.host = bed.server
    config.ssl_ca_cert = str(bed.ca_file)
    config.api_key = {"authorization": token or bed.admin_token}
    config.api_key_prefix = {"authorization": "Bearer"}
    return client.ApiClient(config)


def apply_manifest(api: Any, path_or_docs: Path | list[dict[str, Any]], namespace: str | None = None) -> None:
    """Create every object of a YAML file (or list of dicts); tolerates already-existing ones."""
    from kubernetes import utils
    from kubernetes.client.exceptions import ApiException

    docs = (
        [d for d in yaml.safe_load_all(path_or_docs.read_text()) if d]
        if isinstance(path_or_docs, Path)
        else path_or_docs
    )
    for doc in docs:
        try:
            utils.create_from_dict(api, doc, namespace=namespace)
        except utils.FailToCreateError as exc:
            if not all(isinstance(e, ApiException) and e.status == 409 for e in exc.api_exceptions):
                raise


def install_crd(api: Any, path: Path, timeout: float = 10.0) -> None:
    """Create a CRD from a file and wait until it is Established (served)."""
    from kubernetes import client

    apply_manifest(api, path)
    names = [d["metadata"]["name"] for d in yaml.safe_load_all(path.read_text()) if d]
    ext = client.ApiextensionsV1Api(api)
    deadline = time.monotonic() + timeout
    for name in names:
        while True:
            crd = ext.read_custom_resource_definition(name)
            conditions = crd.status.conditions or []
            if any(c.type == "Established" and c.status == "True" for c in conditions):
                break
            if time.monotonic() > deadline:
                states = json.dumps([c.to_dict() for c in conditions])
                raise RuntimeError(f"CRD {name} not established: {states}")
            time.sleep(0.05)


# ----------------------------------------------------------------------------- pytest fixtures


_BED_KEY = pytest.StashKey[K8sTestbed]()


@pytest.fixture(scope="session")
def k8s_testbed(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> K8sTestbed:
    # Shared through the config stash rather than fixture caching: each conftest that imports
    # this fixture gets its own fixture definition, but they must all share one control plane.
    config = request.config
    bed = config.stash.get(_BED_KEY, None)
    if bed is None:
        stack = contextlib.ExitStack()
        bed = stack.enter_context(start_testbed(tmp_path_factory.mktemp("k8s")))
        config.add_cleanup(stack.close)
        config.stash[_BED_KEY] = bed
    return bed


@pytest.fixture(scope="session")
def k8s_api(k8s_testbed: K8sTestbed) -> Iterator[Any]:
    """Admin ``ApiClient`` for the shared test bed."""
    api = api_client(k8s_testbed)
    try:
        yield api
    finally:
        api.close()


@pytest.fixture
def k8s_namespace(k8s_api: Any) -> Iterator[str]:
    from kubernetes import client

    name = f"t-{uuid.uuid4().hex[:10]}"
    core = client.CoreV1Api(k8s_api)
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    try:
        yield name
    finally:
        with contextlib.suppress(Exception):
            core.delete_namespace(name)
