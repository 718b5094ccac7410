"""The wire format of ``masker.ner.v1``: message classes and their conversion to ``NerSpan``.

Server and client both go through here, so the mapping between protobuf messages and the shared
detection types exists once. The method is registered through grpc's generic handler API with
these (de)serialisers, which keeps generated code down to typed message modules.
"""

from __future__ import annotations

from collections.abc import Sequence

from .ner import NerSpan

try:
    from ._proto.ner_pb2 import AnalyzeRequest, AnalyzeResponse, Span, TextSpans
except ImportError as exc:  # pragma: no cover - only on a checkout that skipped bootstrap
    raise ImportError("NER protobuf modules missing: run scripts/gen_proto.sh") from exc

SERVICE = "masker.ner.v1.NerService"
ANALYZE_METHOD = f"/{SERVICE}/Analyze"

__all__ = [
    "ANALYZE_METHOD",
    "SERVICE",
    "AnalyzeRequest",
    "AnalyzeResponse",
    "build_response",
    "spans_from_response",
]


def build_response(
    results: Sequence[Sequence[NerSpan]],
    *,
    model_name: str,
    model_version: str,
    batch_texts: int,
    batch_requests: int,
) -> AnalyzeResponse:
    return AnalyzeResponse(
        results=[
            TextSpans(spans=[Span(start=s.start, end=s.end, label=s.label, score=s.score) for s in spans])
            for spans in results
        ],
        model_name=model_name,
        model_version=model_version,
        batch_texts=batch_texts,
        batch_requests=batch_requests,
    )


class MalformedResponse(ValueError):
    """The response does not line up with the request (count or offsets out of range)."""


def spans_from_response(texts: Sequence[str], response: AnalyzeResponse) -> list[list[NerSpan]]:
    """Converts and validates: one result per text, offsets inside that text."""
    if len(response.results) != len(texts):
        raise MalformedResponse(f"expected {len(texts)} results, got {len(response.results)}")
    out: list[list[NerSpan]] = []
    for text, result in zip(texts, response.results, strict=True):
        spans: list[NerSpan] = []
        for span in result.spans:
            if not 0 <= span.start < span.end <= len(text):
                raise MalformedResponse("span offsets outside the text")
            # float32 on the wire: round so scores compare equal to the in-process values.
            spans.append(NerSpan(span.start, span.end, span.label, round(span.score, 6)))
        out.append(spans)
    return out
