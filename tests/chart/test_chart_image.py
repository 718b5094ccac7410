"""The container images' install steps, run for real without Docker.

Each Dockerfile's build stage is replayed: its COPY lines assemble a build context in a temp dir,
and its RUN line (scripts/image-install.sh) installs into a temp prefix, which ends with a smoke
check (`masker --version`, the spaCy model loads, the operator's packages import). A green run is
remembered by a hash of everything that defines the install, so a warm suite pays nothing; set
MASKER_IMAGE_SMOKE_FORCE=1 to run anyway.
"""

from __future__ import annotations

import hashlib
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from helm_tools import CACHE, CHART, ROOT

pytestmark = pytest.mark.slow


def _instructions(dockerfile: Path) -> list[tuple[str, str]]:
    text = dockerfile.read_text().replace("\\\n", " ")
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            op, _, rest = line.partition(" ")
            out.append((op.upper(), rest.strip()))
    return out


def _stages(dockerfile: Path) -> list[list[tuple[str, str]]]:
    stages: list[list[tuple[str, str]]] = []
    for op, rest in _instructions(dockerfile):
        if op == "FROM":
            stages.append([])
        if stages:
            stages[-1].append((op, rest))
    return stages


def _inputs_hash(dockerfile: Path, build: list[tuple[str, str]]) -> str:
    """Hash of the install's inputs: Dockerfile, the scripts it runs, the build files, the proto, Python.

    Source code is left out on purpose: the rest of the suite tests it, and a re-install on every
    edit would cost minutes for nothing the smoke check adds."""
    h = hashlib.sha256()
    for path in (
        dockerfile,
        ROOT / "scripts" / "image-install.sh",
        ROOT / "scripts" / "gen_proto.sh",
        ROOT / "pyproject.toml",
        ROOT / "setup.py",
        ROOT / "MANIFEST.in",
        *sorted((ROOT / "ner" / "masker_ner" / "proto").rglob("*.proto")),
    ):
        h.update(path.relative_to(ROOT).as_posix().encode() + b"\0" + path.read_bytes())
    h.update(repr(build).encode() + sys.version.encode())
    return h.hexdigest()[:20]


def _replay_build_stage(build: list[tuple[str, str]], tmp: Path) -> None:
    """COPY sources into tmp/ctx (mapping the image paths), then run the stage's RUN lines."""
    ctx, prefix = tmp / "ctx", tmp / "prefix"
    workdir = "/"
    mapping: dict[str, Path] = {}
    runs: list[str] = []
    for op, rest in build:
        if op == "WORKDIR":
            workdir = rest
        elif op == "COPY":
            *srcs, dest = shlex.split(rest)
            assert not any(s.startswith("--") for s in srcs), "build-stage COPY takes plain paths"
            dest_path = ctx / dest.lstrip("/")
            for src in srcs:
                source = ROOT / src
                target = dest_path / source.name if dest.endswith("/") else dest_path
                target.parent.mkdir(parents=True, exist_ok=True)
                if source.is_dir():
                    shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__", "_proto"))
                else:
                    shutil.copy2(source, target)
            mapping[workdir] = ctx / workdir.lstrip("/")
        elif op == "RUN":
            runs.append(rest)
    assert runs, "build stage has no RUN"
    env = {**os.environ, "MASKER_CACHE_DIR": str(CACHE)}
    for cmd in runs:
        argv = shlex.split(cmd)
        # Image paths -> temp paths: /src/... is the context, /opt/masker the prefix.
        argv = [str(ctx / a.lstrip("/")) if a.startswith("/src") else a for a in argv]
        argv = [str(prefix) if a == "/opt/masker" else a for a in argv]
        proc = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=ctx, timeout=900)
        assert proc.returncode == 0, f"{cmd} failed:\n{proc.stdout}\n{proc.stderr[-4000:]}"
        assert (prefix / "bin" / "masker").exists()


@pytest.mark.timeout(900)
@pytest.mark.parametrize("component", ["proxy", "operator"])
def test_image_install_steps_work(component: str, tmp_path: Path) -> None:
    dockerfile = ROOT / f"Dockerfile.{component}"
    stages = _stages(dockerfile)
    assert len(stages) == 2, "a build stage and a runtime stage"
    build = stages[0]
    runs = [rest for op, rest in build if op == "RUN"]
    assert runs == [f"bash /src/scripts/image-install.sh {component} /src /opt/masker"]
    if component == "operator" and not (ROOT / "operator" / "masker_operator" / "__init__.py").exists():
        pytest.skip("operator package not written yet (issue 6)")
    stamp = CACHE / "image-smoke" / f"{component}-{_inputs_hash(dockerfile, build)}.ok"
    if stamp.exists() and not os.environ.get("MASKER_IMAGE_SMOKE_FORCE"):
        return
    _replay_build_stage(build, tmp_path)
    stamp.parent.mkdir(parents=True, exist_ok=True)
    stamp.write_text("ok\n")


@pytest.mark.parametrize("component", ["proxy", "operator"])
def test_runtime_stage_is_non_root_and_matches_the_chart(component: str) -> None:
    runtime = dict(_stages(ROOT / f"Dockerfile.{component}")[1])
    from_line = _stages(ROOT / f"Dockerfile.{component}")[1][0][1]
    assert from_line == "${PYTHON_IMAGE}"
    assert "ARG PYTHON_IMAGE=python:3.11-slim" in (ROOT / f"Dockerfile.{component}").read_text()
    assert runtime["USER"] == "10001:10001"
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    assert values["podSecurityContext"]["runAsUser"] == 10001
    entrypoint = runtime["ENTRYPOINT"]
    if component == "proxy":
        assert entrypoint == '["masker"]' and runtime["CMD"] == '["serve"]'
        env = runtime["ENV"]
        assert "MASKER_POLICIES_DIR=/etc/masker/policies" in env and "MASKER_DATA_DIR=/data" in env
        assert re.search(r"COPY policies /etc/masker/policies", (ROOT / "Dockerfile.proxy").read_text())
    else:
        assert entrypoint == '["masker-operator"]'
