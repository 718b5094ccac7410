"""Fixtures for the observability tests: real Redis on loopback, a closed port, an audit key."""

from __future__ import annotations

import base64
import os
import socket
import uuid
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as redis_asyncio

REDIS_URL = os.environ.get("MASKER_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture
def redis_url() -> str:
    return REDIS_URL


@pytest.fixture
def audit_key_b64() -> str:
    return base64.b64encode(os.urandom(32)).decode()


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


@pytest.fixture
async def redis_prefix() -> AsyncIterator[str]:
    """A key prefix unique to this test; its keys are deleted afterwards."""
    prefix = f"masker-test:{uuid.uuid4().hex}:"
    yield prefix
    client = redis_asyncio.Redis.from_url(REDIS_URL)
    try:
        keys = [k async for k in client.scan_iter(match=prefix + "*")]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()
