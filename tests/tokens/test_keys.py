"""Keys: MASKER_KEY_K_<NAME> parsing, and rotation in reversible-aead mode (vault-mode rotation is
in test_vault.py because it needs the store)."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest

from masker.detect.types import Entity
from masker.errors import ConfigError
from masker.tokens.codec import AEAD, Codec, ShredUnsupported
from masker.tokens.grammar import find_tokens
from masker.tokens.keys import available_key_names, load_keyring, local_key

from .conftest import make_ring


async def _resolve(codec: Codec, token: str) -> str | None:
    (match,) = find_tokens(token)
    assert match.body is not None
    return await codec.session("c").resolve(match.body)


async def test_aead_rotation_new_tokens_use_newest_key_old_ones_resolve() -> None:
    old = Codec("agent-k", make_ring("K1"), mode=AEAD)
    t_old = old.session("c").tokenize(Entity.PERSON, "Dana Whitfield")
    rotated = Codec("agent-k", make_ring("K2", "K1"), mode=AEAD)
    t_new = rotated.session("c").tokenize(Entity.PERSON, "Dana Whitfield")
    assert t_new != t_old
    assert find_tokens(t_new)[0].body[0] == make_ring("K2").current.kid  # type: ignore[index]
    assert await _resolve(rotated, t_old) == "Dana Whitfield"
    assert await _resolve(rotated, t_new) == "Dana Whitfield"
    # Retiring K1 makes its tokens unresolvable (and the rehydrator speaks a fallback phrase).
    assert await _resolve(Codec("agent-k", make_ring("K2"), mode=AEAD), t_old) is None
    # Tokens are bound to agent and conversation.
    assert await _resolve(Codec("agent-x", make_ring("K2", "K1"), mode=AEAD), t_new) is None


async def test_aead_tokens_are_deterministic_and_cannot_be_shredded() -> None:
    codec = Codec("agent-k", make_ring("K1"), mode=AEAD)
    assert codec.session("c").tokenize(Entity.SSN, "123-45-6789") == codec.session("c").tokenize(
        Entity.SSN, "123-45-6789"
    )
    with pytest.raises(ShredUnsupported):
        await codec.shred("c")


def test_keyring_from_env_newest_first_and_bad_keys_rejected(tmp_path: Path) -> None:
    good = base64.b64encode(os.urandom(32)).decode()
    env = {"MASKER_KEY_K_2024": good, "MASKER_KEY_K_2025": good, "OTHER": "x"}
    names = available_key_names(None, env)
    assert names == ["2025", "2024"]
    assert load_keyring(names, None, env).current.name == "2025"
    with pytest.raises(ConfigError, match="32 bytes"):
        load_keyring(["X"], None, {"MASKER_KEY_K_X": base64.b64encode(b"short").decode()})
    with pytest.raises(ConfigError, match="not valid base64"):
        load_keyring(["X"], None, {"MASKER_KEY_K_X": "!!!"})
    with pytest.raises(ConfigError, match="is not set"):
        load_keyring(["Y"], None, env)
    # The secrets directory (as the operator mounts it) wins over the environment.
    (tmp_path / "MASKER_KEY_K_2025").write_text(base64.b64encode(b"k" * 32).decode())
    assert load_keyring(["2025"], tmp_path, env).current.material == b"k" * 32


def test_local_key_is_created_once_with_private_permissions(tmp_path: Path) -> None:
    first = local_key(tmp_path)
    assert local_key(tmp_path).material == first.material
    path = tmp_path / "keys" / "MASKER_KEY_K_LOCAL"
    assert path.stat().st_mode & 0o777 == 0o600


def test_ttl_must_be_positive_and_mode_known() -> None:
    with pytest.raises(ValueError, match="ttl_seconds"):
        Codec("a", make_ring("K1"), ttl_seconds=0)
    with pytest.raises(ValueError, match="mode"):
        Codec("a", make_ring("K1"), mode="rot13")
