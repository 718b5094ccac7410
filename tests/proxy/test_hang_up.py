"""A caller that hangs up on a non-streamed call hangs up on the LLM too, at once.

The upstream here is a raw TCP server that reads the proxy's request, never answers, and records
the moment the proxy closes the connection; the caller is a raw socket closed once the request is
known to be upstream. The proxy is the real ``masker serve`` process."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.proxy.conftest import write_agents
from tests.proxy_process import ProxyProcess, start_proxy

AGENT = "agt_01JTEST00000000000000000H1"
CANCEL_BUDGET_SECONDS = 0.100


@dataclass
class SilentUpstream:
    """Accepts connections, reads whatever arrives, never answers; records arrivals and closes."""

    sock: socket.socket
    received: threading.Event = field(default_factory=threading.Event)
    closed_at: list[float] = field(default_factory=list)

    @property
    def base_url(self) -> str:
        host, port = self.sock.getsockname()[:2]
        return f"http://{host}:{port}/v1"

    def serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._hold, args=(conn,), daemon=True).start()

    def _hold(self, conn: socket.socket) -> None:
        with conn:
            data = b""
            while True:
                chunk = conn.recv(65536)
                if not chunk:  # the proxy closed its side: the upstream call was abandoned
                    self.closed_at.append(time.monotonic())
                    return
                data += chunk
                if b"\r\n\r\n" in data and b'"model"' in data:
                    self.received.set()


@pytest.fixture(scope="module")
def silent() -> Iterator[SilentUpstream]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    upstream = SilentUpstream(sock)
    threading.Thread(target=upstream.serve, daemon=True).start()
    yield upstream
    sock.close()


@pytest.fixture(scope="module")
def hang_up_proxy(silent: SilentUpstream, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProxyProcess]:
    work = tmp_path_factory.mktemp("hangup")
    agents = work / "agents.yaml"
    write_agents(agents, [{"id": AGENT, "name": "hang-up", "upstream": {"base_url": silent.base_url}}])
    proc = start_proxy(
        {
            "MASKER_AGENTS_FILE": str(agents),
            "MASKER_OPENAI_API_KEY": "sk-test-not-a-key",
            "MASKER_UPSTREAM_TIMEOUT": "30",
            "MASKER_AUDIT_ENABLED": "false",
        },
        Path(work),
    )
    yield proc
    proc.stop()


# Every route that calls the upstream: chat completions (the ASGI hot path) and the Quart routes.
BODIES = {
    "chat/completions": {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hello there"}]},
    "responses": {"model": "gpt-4o-mini", "input": "Hello there"},
    "messages": {"model": "claude-x", "max_tokens": 16, "messages": [{"role": "user", "content": "Hi"}]},
}


@pytest.mark.parametrize("api", list(BODIES))
def test_a_non_streamed_call_is_cancelled_when_the_caller_hangs_up(
    hang_up_proxy: ProxyProcess, silent: SilentUpstream, api: str
) -> None:
    body = json.dumps(BODIES[api])
    request = (
        f"POST /proxy/{AGENT}/v1/{api} HTTP/1.1\r\nhost: 127.0.0.1\r\n"
        f"content-type: application/json\r\ncontent-length: {len(body)}\r\n\r\n{body}"
    ).encode()
    silent.received.clear()
    before = len(silent.closed_at)
    caller = socket.create_connection(("127.0.0.1", hang_up_proxy.port), timeout=10)
    caller.sendall(request)
    assert silent.received.wait(20), "the proxy never called the upstream"
    time.sleep(0.2)  # the call is settled upstream, waiting for an answer that never comes
    assert len(silent.closed_at) == before
    hung_up = time.monotonic()
    caller.close()
    deadline = hung_up + 5
    while len(silent.closed_at) == before and time.monotonic() < deadline:
        time.sleep(0.002)
    assert len(silent.closed_at) == before + 1, "the upstream call outlived its caller"
    took = silent.closed_at[-1] - hung_up
    print(f"upstream call cancelled {took * 1000:.1f} ms after the caller hung up")
    assert took < CANCEL_BUDGET_SECONDS
