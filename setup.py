"""Build hook: a wheel (or ``pip install .``) carries everything the package needs at run time.

Two things are produced at build time rather than committed:

* the NER wire contract's protobuf modules (``masker_contracts/_proto/ner_pb2.py`` + ``.pyi``),
  generated from ``proxy/masker_contracts/proto`` with ``grpc_tools`` (a build requirement in
  pyproject.toml), exactly as ``scripts/gen_proto.sh`` does for a development checkout;
* the shipped policies (``policies/*.yaml``), copied to ``masker/_policies`` so an installed proxy
  finds them without ``MASKER_POLICIES_DIR`` and without depending on its working directory.

All other metadata lives in pyproject.toml.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
PROTO_ROOT = ROOT / "proxy" / "masker_contracts" / "proto"
PROTO = "masker/ner/v1/ner.proto"
POLICIES = ROOT / "policies"


def generate_proto(out_dir: Path) -> None:
    """``ner_pb2.py`` and ``ner_pb2.pyi`` into ``out_dir``; raises if protoc fails."""
    import grpc_tools
    from grpc_tools import protoc

    include = Path(grpc_tools.__file__).parent / "_proto"  # google/protobuf/*.proto
    with tempfile.TemporaryDirectory() as tmp:
        status = protoc.main(
            [
                "grpc_tools.protoc",
                f"-I{PROTO_ROOT}",
                f"-I{include}",
                f"--python_out={tmp}",
                f"--pyi_out={tmp}",
                str(PROTO_ROOT / PROTO),
            ]
        )
        if status != 0:
            raise RuntimeError(f"protoc failed on {PROTO} (exit {status})")
        out_dir.mkdir(parents=True, exist_ok=True)
        for name in ("ner_pb2.py", "ner_pb2.pyi"):
            generated = (Path(tmp) / "masker" / "ner" / "v1" / name).read_text(encoding="utf-8")
            # Generated code is not ours to type-check (google.protobuf ships no stubs here).
            (out_dir / name).write_text("# mypy: ignore-errors\n" + generated, encoding="utf-8")


class BuildPyWithGenerated(build_py):
    def run(self) -> None:
        super().run()
        build_lib = Path(self.build_lib)
        generate_proto(build_lib / "masker_contracts" / "_proto")
        if POLICIES.is_dir():
            target = build_lib / "masker" / "_policies"
            target.mkdir(parents=True, exist_ok=True)
            for policy in sorted([*POLICIES.glob("*.yaml"), *POLICIES.glob("*.yml")]):
                shutil.copyfile(policy, target / policy.name)


setup(cmdclass={"build_py": BuildPyWithGenerated})
