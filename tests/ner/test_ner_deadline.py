"""The client's deadline grows with the text sent (a cold conversation sends its whole history)."""

from __future__ import annotations

from masker.detect.ner_grpc import GrpcNer


async def test_deadline_scales_with_characters() -> None:
    client = GrpcNer("127.0.0.1:9", timeout_ms=80, timeout_per_kchar_ms=20)
    try:
        assert client.budget_s(["hi"]) < 0.081
        assert abs(client.budget_s(["x" * 4000]) - 0.160) < 1e-9
        assert client.budget_s(["x" * 1000] * 12) > client.budget_s(["x" * 1000])
    finally:
        await client.close()
