"""`masker serve` names the built-in echo upstream only when an agent will actually use it."""

from __future__ import annotations

from pathlib import Path

from masker.agents import load_agent_table
from masker.http.serve import _banner
from masker.settings import Settings

ECHO_LINE = "using the built-in echo upstream"


def _settings(tmp_path: Path, agents: str) -> Settings:
    (tmp_path / "agents.yaml").write_text(agents)
    return Settings.from_env(
        {"MASKER_AGENTS_FILE": str(tmp_path / "agents.yaml"), "MASKER_DATA_DIR": str(tmp_path)}
    )


def test_sidecar_with_the_agents_own_upstream_does_not_claim_echo(tmp_path: Path) -> None:
    settings = _settings(
        tmp_path,
        "version: 1\nagents:\n  - id: agt_01JD8X3Q4R5S6T7V8W9XAYBZC0\n    name: front-desk\n"
        "    upstream: {base_url: 'https://llm.example.test/v1'}\n",
    )
    assert settings.upstream.echo  # no process-wide upstream, as in an injected sidecar
    assert ECHO_LINE not in _banner(settings, None, load_agent_table(settings))


def test_agent_without_an_upstream_gets_the_echo_notice(tmp_path: Path) -> None:
    settings = _settings(
        tmp_path, "version: 1\nagents:\n  - id: agt_01JD8X3Q4R5S6T7V8W9XAYBZC0\n    name: demo\n"
    )
    assert ECHO_LINE in _banner(settings, None, load_agent_table(settings))
