"""Fixtures for the NER service tests: the in-process model and a shared server process."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from masker_ner.model import SpacyNer
from tests.ner.ner_harness import NerServer


@pytest.fixture(scope="session")
def spacy_ner() -> SpacyNer:
    return SpacyNer()


@pytest.fixture(scope="module")
def ner_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NerServer]:
    """A server with tight limits, shared by the tests of one module."""
    server = NerServer(args=["--max-texts-per-call", "64", "--max-message-bytes", "65536"])
    server.start(tmp_path_factory.mktemp("ner")).wait_serving()
    yield server
    server.stop()
