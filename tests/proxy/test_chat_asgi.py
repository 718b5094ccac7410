"""The chat endpoints are served as plain ASGI (``masker.http.chat_asgi``), not by Quart: the HTTP
details Quart used to handle must still hold, against a real ``masker serve``."""

from __future__ import annotations

import socket
import time
from urllib.parse import urlsplit

import httpx

from tests.fake_upstream import FakeUpstream
from tests.proxy.conftest import AGENT, Phi
from tests.proxy_process import ProxyProcess


def _url(proxy: ProxyProcess) -> str:
    return f"{proxy.url}/proxy/{AGENT}/v1/chat/completions"


def test_other_methods_get_405_openai_shaped(proxy: ProxyProcess) -> None:
    response = httpx.get(_url(proxy), timeout=10)
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert response.json()["error"]["code"] == "invalid_request"


def test_paths_beside_the_chat_routes_are_not_found(proxy: ProxyProcess) -> None:
    for path in (f"/proxy/{AGENT}/v1/chat/completions/x", "/proxy//v1/chat/completions", "/v1/chat"):
        response = httpx.post(proxy.url + path, json={}, timeout=10)
        assert response.status_code == 404, path
        assert response.json()["error"]["code"] == "not_found"


def test_chunked_body_over_the_limit_is_413(proxy: ProxyProcess) -> None:
    # No content-length to refuse up front: the limit (200,000 bytes here) holds while reading.
    def body() -> object:
        yield b'{"model": "echo", "messages": [{"role": "user", "content": "'
        for _ in range(30):
            yield b"a" * 10_000
        yield b'"}]}'

    response = httpx.post(
        _url(proxy), content=body(), headers={"content-type": "application/json"}, timeout=10
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "body_too_large"


def test_json_reply_headers(proxy: ProxyProcess, phi: Phi) -> None:
    response = httpx.post(
        _url(proxy),
        json={"model": "echo", "messages": [{"role": "user", "content": phi.sentence()}]},
        timeout=10,
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert int(response.headers["content-length"]) == len(response.content)
    assert len(response.headers["x-request-id"]) == 32
    assert response.json()["choices"][0]["message"]["content"] == phi.sentence()


def test_caller_hanging_up_mid_stream_hangs_up_on_the_llm(
    proxy: ProxyProcess, upstream: FakeUpstream, phi: Phi
) -> None:
    before = upstream.abandoned_streams
    with (
        httpx.Client(timeout=10) as client,
        client.stream(
            "POST",
            _url(proxy),
            json={
                "model": "slow",
                "stream": True,
                "messages": [{"role": "user", "content": phi.sentence() * 3}],
            },
        ) as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        lines = response.iter_lines()
        assert next(lines).startswith("data: ")
    # The stream would run for seconds more; the proxy must close the upstream connection instead.
    deadline = time.monotonic() + 5
    while upstream.abandoned_streams == before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert upstream.abandoned_streams == before + 1
    assert httpx.get(proxy.url + "/health", timeout=5).status_code == 200


def test_client_gone_before_body_is_harmless(proxy: ProxyProcess, phi: Phi) -> None:
    host, port = urlsplit(proxy.url).hostname, urlsplit(proxy.url).port
    assert host and port
    with socket.create_connection((host, port), timeout=5) as sock:
        sock.sendall(
            f"POST /proxy/{AGENT}/v1/chat/completions HTTP/1.1\r\nhost: x\r\n"
            "content-type: application/json\r\ncontent-length: 5000\r\n\r\n{".encode()
        )
    response = httpx.post(
        _url(proxy),
        json={"model": "echo", "messages": [{"role": "user", "content": phi.sentence()}]},
        timeout=10,
    )
    assert response.status_code == 200
