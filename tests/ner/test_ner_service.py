"""The NER server as users run it: a separate process on loopback, reached over gRPC."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
from pathlib import Path

import grpc
import pytest

from masker.detect.ner_grpc import GrpcNer
from masker.detect.types import NerUnavailable
from masker_contracts import ner_wire as wire
from masker_ner.model import MODEL_NAME, SpacyNer
from tests.ner.ner_harness import REPO, NerServer, health_status, make_tls_files, raw_analyze, synthetic_texts


def test_health_reports_not_serving_until_the_model_is_loaded(tmp_path: Path) -> None:
    server = NerServer().start(tmp_path)
    try:
        seen = server.wait_status("SERVING")
        # The listener is up long before spaCy has loaded, so the first answer is NOT_SERVING.
        assert seen == ["NOT_SERVING", "SERVING"]
        assert server.metrics()["masker_ner_ready"] == 1.0
    finally:
        server.stop()


def test_check_command_reports_serving(ner_server: NerServer) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "masker", "ner", "check", "--addr", ner_server.addr],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=30,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "SERVING"


async def test_batch_results_match_the_in_process_model(ner_server: NerServer, spacy_ner: SpacyNer) -> None:
    texts = synthetic_texts(48)
    expected = spacy_ner.analyze(texts)
    assert sum(map(len, expected)) > 40  # the texts do contain entities
    client = GrpcNer(ner_server.addr, timeout_ms=30_000)
    try:
        assert await client.analyze(texts) == expected
        assert await client.analyze([]) == []
        assert (client.model_name, client.model_version) == (MODEL_NAME, spacy_ner.model_version)
    finally:
        await client.close()


async def test_lone_surrogates_keep_offsets(ner_server: NerServer, spacy_ner: SpacyNer) -> None:
    # JSON can carry "\ud800"; protobuf strings cannot. The client substitutes U+FFFD one for one.
    text = "Maria Lopez \ud800 moved to Denver last year."
    client = GrpcNer(ner_server.addr, timeout_ms=30_000)
    try:
        spans = await client.analyze([text])
    finally:
        await client.close()
    assert spans == spacy_ner.analyze([text.replace("\ud800", "\ufffd")])
    assert "Denver" in {text[s.start : s.end] for s in spans[0]}  # offsets past the surrogate hold


def test_response_names_the_model_and_the_pass(ner_server: NerServer, spacy_ner: SpacyNer) -> None:
    response = raw_analyze(ner_server.addr, synthetic_texts(3))
    assert response.model_name == MODEL_NAME
    assert response.model_version == spacy_ner.model_version
    assert response.batch_texts >= 3 and response.batch_requests >= 1


def test_too_many_texts_is_invalid_argument(ner_server: NerServer) -> None:
    with pytest.raises(grpc.RpcError) as info:
        raw_analyze(ner_server.addr, ["ok"] * 65)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_oversized_message_is_refused(ner_server: NerServer) -> None:
    with pytest.raises(grpc.RpcError) as info:
        raw_analyze(ner_server.addr, ["x" * 70_000])
    assert info.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED


async def test_refused_call_does_not_trip_the_breaker(ner_server: NerServer) -> None:
    client = GrpcNer(ner_server.addr, timeout_ms=30_000, breaker_failures=1)
    try:
        with pytest.raises(NerUnavailable, match="INVALID_ARGUMENT"):
            await client.analyze(["ok"] * 65)
        assert client.breaker.state == "closed"
        assert await client.analyze(["Jane Roe lives in Denver."]) != [[]]
    finally:
        await client.close()


async def _concurrent_raw(addr: str, texts: list[str]) -> list[wire.AnalyzeResponse]:
    async with grpc.aio.insecure_channel(addr) as channel:
        call = channel.unary_unary(
            wire.ANALYZE_METHOD,
            request_serializer=wire.AnalyzeRequest.SerializeToString,
            response_deserializer=wire.AnalyzeResponse.FromString,
        )
        return list(await asyncio.gather(*(call(wire.AnalyzeRequest(texts=[t]), timeout=60) for t in texts)))


async def test_concurrent_calls_share_one_model_pass(tmp_path: Path, spacy_ner: SpacyNer) -> None:
    # A window far longer than the test: the pass starts exactly when the 8th text arrives.
    server = NerServer(args=["--batch-window-ms", "30000", "--max-batch-texts", "8"])
    server.start(tmp_path).wait_serving()
    try:
        texts = synthetic_texts(8)
        responses = await _concurrent_raw(server.addr, texts)
        assert [(r.batch_requests, r.batch_texts) for r in responses] == [(8, 8)] * 8
        got = [wire.spans_from_response([t], r)[0] for t, r in zip(texts, responses, strict=True)]
        assert got == spacy_ner.analyze(texts)  # each caller got its own text's spans back
        metrics = server.metrics()
        assert metrics["masker_ner_batch_requests_count"] == 1
        assert metrics["masker_ner_batch_texts_sum"] == 8
        assert metrics["masker_ner_requests_total{code=OK}"] == 8
    finally:
        server.stop()


async def test_without_batching_each_call_is_its_own_pass(tmp_path: Path) -> None:
    server = NerServer(args=["--no-batching"]).start(tmp_path).wait_serving()
    try:
        responses = await _concurrent_raw(server.addr, synthetic_texts(8))
        assert {(r.batch_requests, r.batch_texts) for r in responses} == {(1, 1)}
        assert server.metrics()["masker_ner_batch_requests_count"] == 8
    finally:
        server.stop()


async def test_mutual_tls(tmp_path: Path) -> None:
    tls = make_tls_files(tmp_path)
    args = ["--tls-cert", str(tls.server_cert), "--tls-key", str(tls.server_key)]
    server = NerServer(args=[*args, "--tls-client-ca", str(tls.ca)])
    server.start(tmp_path).wait_ready_metric()
    text = ["Maria Garcia flew to Chicago."]
    good = GrpcNer(
        server.addr,
        timeout_ms=30_000,
        tls_ca=str(tls.ca),
        tls_cert=str(tls.client_cert),
        tls_key=str(tls.client_key),
    )
    stranger = GrpcNer(
        server.addr,
        timeout_ms=5_000,
        tls_ca=str(tls.ca),
        tls_cert=str(tls.other_client_cert),
        tls_key=str(tls.other_client_key),
    )
    anonymous = GrpcNer(server.addr, timeout_ms=5_000, tls_ca=str(tls.ca))
    plaintext = GrpcNer(server.addr, timeout_ms=5_000)
    try:
        assert [s.label for s in (await good.analyze(text))[0]] == ["PERSON", "GPE"]
        for client in (stranger, anonymous, plaintext):
            with pytest.raises(NerUnavailable):
                await client.analyze(text)
        assert health_status(server.addr) is None  # plaintext probes get nothing either
    finally:
        for client in (good, stranger, anonymous, plaintext):
            await client.close()
        server.stop()


async def test_sigterm_drains_in_flight_calls(tmp_path: Path, spacy_ner: SpacyNer) -> None:
    # The long window keeps a call in flight until well after SIGTERM; the shutdown delay keeps
    # the listener up long enough to observe NOT_SERVING.
    server = NerServer(
        args=["--batch-window-ms", "3000", "--max-batch-texts", "1000", "--shutdown-delay", "1"]
    )
    server.start(tmp_path).wait_serving()
    texts = synthetic_texts(4)
    client = GrpcNer(server.addr, timeout_ms=60_000)
    try:
        in_flight = asyncio.create_task(client.analyze(texts))

        def wait_in_flight() -> None:
            while server.metrics()["masker_ner_inflight_requests"] < 1:
                time.sleep(0.01)

        await asyncio.wait_for(asyncio.to_thread(wait_in_flight), 30)
        server.signal(signal.SIGTERM)
        seen = await asyncio.to_thread(server.wait_status, "NOT_SERVING", 30)
        assert seen[-1] == "NOT_SERVING"
        assert not in_flight.done()
        assert await in_flight == spacy_ner.analyze(texts)
        assert await asyncio.to_thread(server.wait_exit) == 0
        with pytest.raises(NerUnavailable):
            await client.analyze(texts)
    finally:
        await client.close()
        server.stop()


def test_a_model_that_cannot_load_never_serves(tmp_path: Path) -> None:
    server = NerServer(args=["--model", "no_such_spacy_model"]).start(tmp_path)
    assert server.wait_exit() == 1
    assert "NER server failed" in server.log()


def test_a_taken_port_is_an_error_not_a_shared_listener(ner_server: NerServer, tmp_path: Path) -> None:
    # gRPC defaults to SO_REUSEPORT; the server turns it off so two servers never split traffic.
    second = NerServer(port=ner_server.port).start(tmp_path)
    assert second.wait_exit() == 1
    assert "Failed to bind" in second.log()
