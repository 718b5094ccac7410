"""A small blocking WebSocket client (wsproto over a socket) for the Responses WebSocket mode tests:
the SDKs' WebSocket clients are not installed, and this speaks the protocol as plainly as they do."""

from __future__ import annotations

import contextlib
import json
import socket
from typing import Any

from wsproto import ConnectionType, WSConnection
from wsproto.events import (
    AcceptConnection,
    CloseConnection,
    Message,
    RejectConnection,
    RejectData,
    Request,
    TextMessage,
)


class WsRejected(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(f"WebSocket upgrade refused with HTTP {status}")
        self.status = status


class WsClient:
    def __init__(self, host: str, port: int, path: str, headers: dict[str, str] | None = None) -> None:
        self.sock = socket.create_connection((host, port), timeout=30)
        self.ws = WSConnection(ConnectionType.CLIENT)
        extra = [(k.encode(), v.encode()) for k, v in (headers or {}).items()]
        self.sock.sendall(self.ws.send(Request(host=f"{host}:{port}", target=path, extra_headers=extra)))
        self._pending: list[str] = []
        self._text = ""
        while True:
            for event in self._events():
                if isinstance(event, AcceptConnection):
                    return
                if isinstance(event, RejectConnection):
                    self.sock.close()
                    raise WsRejected(event.status_code)

    def _events(self) -> list[Any]:
        data = self.sock.recv(65536)
        self.ws.receive_data(data or None)
        return list(self.ws.events())

    def send_json(self, payload: dict[str, Any]) -> None:
        self.sock.sendall(self.ws.send(TextMessage(json.dumps(payload))))

    def receive_json(self) -> dict[str, Any]:
        while not self._pending:
            for event in self._events():
                if isinstance(event, TextMessage):
                    self._text += event.data
                    if event.message_finished:
                        self._pending.append(self._text)
                        self._text = ""
                elif isinstance(event, Message):
                    continue
                elif isinstance(event, CloseConnection | RejectData):
                    raise ConnectionError("the server closed the WebSocket")
        loaded: dict[str, Any] = json.loads(self._pending.pop(0))
        return loaded

    def until(self, kinds: tuple[str, ...]) -> list[dict[str, Any]]:
        """Every message up to and including the first whose type is in ``kinds``."""
        out = []
        while True:
            message = self.receive_json()
            out.append(message)
            if message.get("type") in kinds:
                return out

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.sock.sendall(self.ws.send(CloseConnection(code=1000)))
        self.sock.close()
