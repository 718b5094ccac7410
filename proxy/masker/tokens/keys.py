"""Key material: ``MASKER_KEY_K_<NAME>`` (base64, 32 bytes), newest first, with per-purpose subkeys.

Keys are resolved from the secrets directory (one file per name, as the operator mounts them) and
then the environment. Each token carries the key-id symbol of the key that made it, so after a
rotation new tokens use the newest key and older tokens still resolve with the older ones.
"""

from __future__ import annotations

import base64
import binascii
import os
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from ..errors import ConfigError
from .grammar import key_symbol

KEY_ENV_PREFIX = "MASKER_KEY_K_"
LOCAL_KEY_NAME = "LOCAL"


def decode_key(name: str, raw: str) -> bytes:
    try:
        key = base64.b64decode(raw.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ConfigError(f"key {name}: not valid base64") from exc
    if len(key) != 32:
        raise ConfigError(f"key {name}: must decode to 32 bytes")
    return key


@cache
def _subkey(master: bytes, purpose: str, scope: str, length: int) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(), length=length, salt=None, info=f"masker/{purpose}/{scope}".encode()
    ).derive(master)


@dataclass(frozen=True)
class Key:
    name: str
    material: bytes = field(repr=False)

    @property
    def kid(self) -> str:
        return key_symbol(self.name)

    def derive(self, purpose: str, scope: str, length: int = 32) -> bytes:
        """A subkey per purpose (token-id, vault, aead, hash) and agent."""
        return _subkey(self.material, purpose, scope, length)


@dataclass(frozen=True)
class KeyRing:
    keys: tuple[Key, ...]  # newest first

    def __post_init__(self) -> None:
        if not self.keys:
            raise ConfigError("a key ring needs at least one key")

    @property
    def current(self) -> Key:
        return self.keys[0]

    def by_kid(self, kid: str) -> list[Key]:
        return [k for k in self.keys if k.kid == kid]


def read_secret(name: str, secrets_dir: Path | None, env: Mapping[str, str]) -> str | None:
    """A named secret: ``<secrets_dir>/<name>`` first, then the environment variable."""
    if secrets_dir is not None:
        path = secrets_dir / name
        try:
            return path.read_text(encoding="utf-8").strip()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            pass
        except OSError as exc:
            raise ConfigError(f"secret {name}: cannot be read") from exc
    value = env.get(name)
    return value.strip() if value else None


def available_key_names(secrets_dir: Path | None, env: Mapping[str, str]) -> list[str]:
    names = {k[len(KEY_ENV_PREFIX) :] for k in env if k.startswith(KEY_ENV_PREFIX)}
    if secrets_dir is not None and secrets_dir.is_dir():
        names |= {
            p.name[len(KEY_ENV_PREFIX) :] for p in secrets_dir.iterdir() if p.name.startswith(KEY_ENV_PREFIX)
        }
    return sorted(names, reverse=True)


def load_keyring(
    names: Sequence[str], secrets_dir: Path | None, env: Mapping[str, str], *, file_prefix: str = ""
) -> KeyRing:
    """Keys by name; ``file_prefix`` scopes the files (the key name, and so its kid, stays)."""
    keys = []
    for name in names:
        raw = read_secret(file_prefix + KEY_ENV_PREFIX + name, secrets_dir, env)
        if raw is None:
            raise ConfigError(f"key {name}: {KEY_ENV_PREFIX}{name} is not set")
        keys.append(Key(name, decode_key(name, raw)))
    return KeyRing(tuple(keys))


def local_secret(data_dir: Path, name: str) -> str:
    """The embedded default for a named 32-byte secret: generated once, kept (0600) in the data
    dir as base64, so a restart keeps resolving old tokens and continuing the audit chain."""
    path = data_dir / "keys" / name
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another worker process won the race
            return path.read_text().strip()
        with os.fdopen(fd, "w") as handle:
            handle.write(base64.b64encode(secrets.token_bytes(32)).decode())
    return path.read_text().strip()


def local_key(data_dir: Path) -> Key:
    """The embedded default token/vault key (no ``MASKER_KEY_K_*`` configured)."""
    name = KEY_ENV_PREFIX + LOCAL_KEY_NAME
    return Key(LOCAL_KEY_NAME, decode_key(LOCAL_KEY_NAME, local_secret(data_dir, name)))
