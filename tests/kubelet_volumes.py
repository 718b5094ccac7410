"""Play the kubelet's part for ConfigMap/Secret/projected volumes (the test bed runs no kubelet).

What a pod sees is rebuilt from the volume spec of a rendered Deployment and the objects it names,
and written the way the kubelet's atomic writer does: the payload in a fresh hidden timestamped
directory, the ``..data`` link swapped to it in one rename, and one visible link per top-level
name pointing through ``..data`` (a nested path such as ``agents.d/x.json`` is reached through the
link ``agents.d -> ..data/agents.d``). So a reader sees the whole old payload or the whole new one.

``VolumeSync`` keeps a directory in step with the API server, like the kubelet's periodic sync.
"""

from __future__ import annotations

import base64
import os
import shutil
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

Lookup = Callable[[str], Mapping[str, Any] | None]  # object name -> ConfigMap/Secret dict or None
DATA = "..data"


def project(directory: Path, files: Mapping[str, str]) -> bool:
    """Write ``files`` (relative path -> text) as one atomic update; False if nothing changed."""
    directory.mkdir(parents=True, exist_ok=True)
    if _current(directory) == dict(files):
        return False
    fresh = directory / f"..{time.strftime('%Y_%m_%d_%H_%M_%S')}.{uuid.uuid4().hex[:8]}"
    for rel, content in files.items():
        target = fresh / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content)
    fresh.mkdir(exist_ok=True)
    old = os.readlink(directory / DATA) if (directory / DATA).is_symlink() else None
    tmp_link = directory / "..data_tmp"
    tmp_link.symlink_to(fresh.name)
    os.replace(tmp_link, directory / DATA)
    tops = {rel.split("/", 1)[0] for rel in files}
    for top in tops:
        link = directory / top
        if not link.is_symlink():
            link.symlink_to(f"{DATA}/{top}")
    for entry in directory.iterdir():  # names that left the payload
        if not entry.name.startswith("..") and entry.name not in tops and entry.is_symlink():
            entry.unlink()
    if old:
        shutil.rmtree(directory / old, ignore_errors=True)
    return True


def _current(directory: Path) -> dict[str, str] | None:
    data = directory / DATA
    if not data.is_symlink():
        return None
    root = data.resolve()
    return {str(p.relative_to(root)): p.read_text() for p in sorted(root.rglob("*")) if p.is_file()}


def _items(obj: Mapping[str, Any], items: list[dict[str, Any]] | None, *, secret: bool) -> dict[str, str]:
    data = dict(obj.get("data") or {})
    if secret:
        data = {k: base64.b64decode(v).decode() for k, v in data.items()}
    if not items:
        return data
    return {item["path"]: data[item["key"]] for item in items if item["key"] in data}


def volume_files(volume: Mapping[str, Any], configmap: Lookup, secret: Lookup) -> dict[str, str]:
    """The files of one pod volume (configMap, secret or projected), optional sources honoured."""
    if "projected" in volume:
        sources = volume["projected"]["sources"]
    elif "configMap" in volume:
        sources = [{"configMap": volume["configMap"]}]
    elif "secret" in volume:
        ref = volume["secret"]
        sources = [{"secret": {**ref, "name": ref["secretName"]}}]
    else:
        raise ValueError(f"volume {volume.get('name')!r}: not a ConfigMap/Secret/projected volume")
    files: dict[str, str] = {}
    for source in sources:
        kind = "configMap" if "configMap" in source else "secret"
        ref = source[kind]
        obj = (configmap if kind == "configMap" else secret)(ref["name"])
        if obj is None:
            if not ref.get("optional"):
                raise LookupError(
                    f"{kind} {ref['name']} is missing and not optional: the pod would not start"
                )
            continue
        for path, content in _items(obj, ref.get("items"), secret=kind == "secret").items():
            if path in files:
                raise ValueError(f"projected volume: two sources write {path!r}")
            files[path] = content
    return files


def api_lookups(core: Any, namespace: str) -> tuple[Lookup, Lookup]:
    """Lookups against the API server (a ``kubernetes.client.CoreV1Api``), 404 -> None."""
    from kubernetes.client.exceptions import ApiException

    def get(read: Callable[[str, str], Any]) -> Lookup:
        def lookup(name: str) -> Mapping[str, Any] | None:
            try:
                obj = read(name, namespace)
            except ApiException as exc:
                if exc.status == 404:
                    return None
                raise
            return {"data": obj.data or {}}

        return lookup

    return get(core.read_namespaced_config_map), get(core.read_namespaced_secret)


class VolumeSync:
    """Keep ``directory`` in step with a pod volume, re-read every ``interval`` seconds."""

    def __init__(
        self, directory: Path, volume: Mapping[str, Any], configmap: Lookup, secret: Lookup, interval: float
    ) -> None:
        self.directory = directory
        self._volume = volume
        self._lookups = (configmap, secret)
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="kubelet-volume-sync", daemon=True)
        self.syncs = 0
        self.updates = 0
        self.errors: list[str] = []

    def sync(self) -> bool:
        changed = project(self.directory, volume_files(self._volume, *self._lookups))
        self.syncs += 1
        self.updates += changed
        return changed

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self.sync()
            except Exception as exc:  # the kubelet keeps the old payload and retries
                self.errors.append(f"{type(exc).__name__}: {exc}")

    def __enter__(self) -> VolumeSync:
        self.sync()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)
