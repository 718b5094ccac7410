"""X-Vapi-Signature verification: valid, tampered, malformed, prefixed, rotated secrets."""

from __future__ import annotations

import hashlib
import hmac

from hypothesis import given
from hypothesis import strategies as st

from masker.signatures import sign, verify_signature

SECRET = "whsec-test-secret"
BODY = b'{"message":{"type":"assistant-request"}}'


def test_valid_signature_verifies() -> None:
    sig = hmac.new(SECRET.encode(), BODY, hashlib.sha256).hexdigest()
    assert verify_signature(BODY, sig, [SECRET])


def test_sha256_prefix_and_uppercase_hex_accepted() -> None:
    sig = sign(BODY, SECRET)
    assert verify_signature(BODY, "sha256=" + sig, [SECRET])
    assert verify_signature(BODY, "SHA256=" + sig.upper(), [SECRET])
    assert verify_signature(BODY, f"  {sig}  ", [SECRET])


def test_tampered_body_rejected() -> None:
    sig = sign(BODY, SECRET)
    assert not verify_signature(BODY + b" ", sig, [SECRET])


def test_wrong_secret_rejected() -> None:
    assert not verify_signature(BODY, sign(BODY, "other"), [SECRET])


def test_missing_or_malformed_header_rejected() -> None:
    sig = sign(BODY, SECRET)
    for header in (None, "", "sha256=", sig[:-1], sig + "0", "z" * 64, "sha1=" + sig, "sha256=sha256=" + sig):
        assert not verify_signature(BODY, header, [SECRET]), header


def test_no_secret_configured_is_false() -> None:
    assert not verify_signature(BODY, sign(BODY, SECRET), [])
    assert not verify_signature(BODY, sign(BODY, SECRET), [None, ""])


def test_any_of_several_secrets_matches() -> None:
    """Agent secret plus MASKER_VAPI_WEBHOOK_SECRET, or old and new during a rotation."""
    assert verify_signature(BODY, sign(BODY, "new"), ["old", "new"])
    assert verify_signature(BODY, sign(BODY, b"old"), [b"old", "new"])


@given(body=st.binary(max_size=2048), secret=st.text(min_size=1, max_size=64), flip=st.integers(0, 63))
def test_roundtrip_and_any_single_hex_change_fails(body: bytes, secret: str, flip: int) -> None:
    sig = sign(body, secret)
    assert verify_signature(body, sig, [secret])
    changed = sig[:flip] + ("0" if sig[flip] != "0" else "1") + sig[flip + 1 :]
    assert not verify_signature(body, changed, [secret])


@given(header=st.text(max_size=100))
def test_arbitrary_headers_never_raise(header: str) -> None:
    assert verify_signature(BODY, header, [SECRET]) in (True, False)
