"""Start ``masker serve`` as a real subprocess on a free loopback port, and stop it cleanly."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import httpx

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class ProxyProcess:
    process: subprocess.Popen[bytes]
    port: int
    log_path: Path
    log_handle: IO[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        if self.log_handle is not None:
            self.log_handle.close()
            self.log_handle = None


def start_proxy(env_overrides: dict[str, str], workdir: Path, *, ready_timeout: float = 60.0) -> ProxyProcess:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MASKER_")}
    env.update(
        {
            "MASKER_LISTEN_ADDR": f"127.0.0.1:{port}",
            "MASKER_DATA_DIR": str(workdir / "data"),
            "MASKER_POLICIES_DIR": str(ROOT / "policies"),
            "MASKER_RELOAD_INTERVAL": "0.2",
        }
    )
    env.update(env_overrides)
    log_path = workdir / f"proxy-{port}.log"
    handle = log_path.open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "masker", "serve"],
        cwd=workdir,
        env=env,
        stdout=handle,
        stderr=subprocess.STDOUT,
    )
    proxy = ProxyProcess(process, port, log_path, handle)
    deadline = time.monotonic() + ready_timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"masker serve exited with {process.returncode}:\n{proxy.log()[-3000:]}")
        try:
            if httpx.get(proxy.url + "/health", timeout=1).status_code in (200, 503):
                return proxy
        except httpx.HTTPError:
            time.sleep(0.1)
    proxy.stop()
    raise RuntimeError("masker serve did not become ready:\n" + proxy.log()[-3000:])
