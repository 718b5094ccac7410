"""Suite-wide fixtures. At the end of the session every registered synthetic PHI value is searched
for in what the suite's processes left behind (logs, audit files, metrics scrapes, span dumps)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import synthetic
from tests.leak_sweep import format_hits, sweep

_ARTEFACTS = ("**/*.log", "**/audit*/*.jsonl", "**/audit*/audit.head", "**/metrics*.txt", "**/spans*.json")


@pytest.fixture(scope="session", autouse=True)
def phi_leak_sweep(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    yield
    base = Path(tmp_path_factory.getbasetemp())
    targets = sorted({p for pattern in _ARTEFACTS for p in base.glob(pattern) if p.is_file()})
    hits = sweep(sorted(synthetic.VALUES), targets)
    assert not hits, "synthetic PHI found in logs/audit/metrics:\n" + format_hits(hits)
