"""API keys: format, parsing, peppered HMAC and scopes (spec 10 K1, K4)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Callable

import pytest

from switchboard.api.security.api_keys import (
    MIN_PEPPER_BYTES,
    SCOPES,
    generate_api_key,
    parse_api_key,
    secret_hmac,
    validate_scopes,
    verify_secret,
)

PEPPER = bytes(range(32))
FULL_KEY_SHAPE = re.compile(r"sbk_[a-z2-7]{12}_[a-z2-7]{52}")


def test_generated_key_has_the_specs_format() -> None:
    full_key, key_id, secret = generate_api_key()
    assert FULL_KEY_SHAPE.fullmatch(full_key)
    assert full_key == f"sbk_{key_id}_{secret}"
    assert len(key_id) == 12
    # 32 random bytes, base32 without padding, lower case.
    assert "=" not in secret and secret == secret.lower()
    raw = base64.b32decode(secret.upper() + "=" * (-len(secret) % 8))
    assert len(raw) == 32


def test_generated_keys_are_unique() -> None:
    keys = [generate_api_key() for _ in range(200)]
    assert len({k[0] for k in keys}) == len({k[1] for k in keys}) == len({k[2] for k in keys})
    assert len({k[1] for k in keys}) == 200


def test_parse_round_trip() -> None:
    for _ in range(50):
        full_key, key_id, secret = generate_api_key()
        assert parse_api_key(full_key) == (key_id, secret)


def _valid() -> tuple[str, str, str]:
    return generate_api_key()


@pytest.mark.parametrize(
    "mutate",
    [
        pytest.param(lambda k, i, s: f"sbx_{i}_{s}", id="wrong-prefix"),
        pytest.param(lambda k, i, s: f"SBK_{i}_{s}", id="upper-prefix"),
        pytest.param(lambda k, i, s: f"{i}_{s}", id="no-prefix"),
        pytest.param(lambda k, i, s: f"sbk_{i[:11]}_{s}", id="id-too-short"),
        pytest.param(lambda k, i, s: f"sbk_{i}a_{s}", id="id-too-long"),
        pytest.param(lambda k, i, s: f"sbk_{i}_{s[:51]}", id="secret-too-short"),
        pytest.param(lambda k, i, s: f"sbk_{i}_{s}a", id="secret-too-long"),
        pytest.param(lambda k, i, s: f"sbk_{i}_{s}====", id="padding"),
        pytest.param(lambda k, i, s: f"sbk_{i}{s}", id="no-separator"),
        pytest.param(lambda k, i, s: f"sbk_{i}-{s}", id="wrong-separator"),
        pytest.param(lambda k, i, s: f"sbk_{i[:11]}0_{s}", id="id-digit-0"),
        pytest.param(lambda k, i, s: f"sbk_{i[:11]}1_{s}", id="id-digit-1"),
        pytest.param(lambda k, i, s: f"sbk_{i}_{s[:10]}8{s[11:]}", id="secret-digit-8"),
        pytest.param(lambda k, i, s: f"sbk_{i}_{s[:10]}9{s[11:]}", id="secret-digit-9"),
        pytest.param(lambda k, i, s: f"sbk_{i.upper()}_{s}", id="id-upper-case"),
        pytest.param(lambda k, i, s: f"sbk_{i}_{s.upper()}", id="secret-upper-case"),
        pytest.param(lambda k, i, s: f"sbk_{i}_{s[:20]}-{s[21:]}", id="secret-dash"),
        pytest.param(lambda k, i, s: f"sbk_{i}_{s[:20]}é{s[21:]}", id="secret-non-ascii"),
        pytest.param(lambda k, i, s: f" {k}", id="leading-space"),
        pytest.param(lambda k, i, s: f"{k}\n", id="trailing-newline"),
        pytest.param(lambda k, i, s: f"Bearer {k}", id="with-scheme"),
        pytest.param(lambda k, i, s: "", id="empty"),
    ],
)
def test_malformed_keys_are_rejected(mutate: Callable[[str, str, str], str]) -> None:
    full_key, key_id, secret = _valid()
    candidate = mutate(full_key, key_id, secret)
    assert parse_api_key(candidate) is None


@pytest.mark.parametrize("last", "bcdefghijklmnoprstuvwxyz234567")
def test_non_canonical_secret_encoding_is_rejected(last: str) -> None:
    # The 52nd character carries one bit; only "a" (0) and "q" (1) are canonical.
    _, key_id, secret = _valid()
    assert parse_api_key(f"sbk_{key_id}_{secret[:51]}{last}") is None
    assert parse_api_key(f"sbk_{key_id}_{secret[:51]}a") is not None
    assert parse_api_key(f"sbk_{key_id}_{secret[:51]}q") is not None


def test_non_string_input_is_rejected() -> None:
    assert parse_api_key(None) is None  # type: ignore[arg-type]
    full_key, _, _ = _valid()
    assert parse_api_key(full_key.encode()) is None  # type: ignore[arg-type]


# --- HMAC -------------------------------------------------------------------------------------
def test_secret_hmac_is_hmac_sha256_hex() -> None:
    _, _, secret = _valid()
    expected = hmac.new(PEPPER, secret.encode(), hashlib.sha256).hexdigest()
    assert secret_hmac(PEPPER, secret) == expected
    assert re.fullmatch(r"[0-9a-f]{64}", expected)


def test_verify_secret() -> None:
    _, _, secret = _valid()
    _, _, other_secret = _valid()
    stored = secret_hmac(PEPPER, secret)
    assert verify_secret(PEPPER, secret, stored) is True
    assert verify_secret(PEPPER, other_secret, stored) is False
    assert verify_secret(bytes(reversed(PEPPER)), secret, stored) is False, "other pepper"
    assert verify_secret(PEPPER, secret, stored[:-1] + ("0" if stored[-1] != "0" else "1")) is False
    assert verify_secret(PEPPER, secret, stored.upper()) is False
    assert verify_secret(PEPPER, secret, "") is False
    assert verify_secret(PEPPER, secret, "é" * 64) is False


def test_pepper_must_be_long_enough() -> None:
    with pytest.raises(ValueError, match="pepper"):
        secret_hmac(b"short", "secret")
    with pytest.raises(ValueError, match="pepper"):
        verify_secret(b"", "secret", "00")
    secret_hmac(b"p" * MIN_PEPPER_BYTES, "secret")


# --- scopes -----------------------------------------------------------------------------------
def test_scopes_are_the_k4_list() -> None:
    assert SCOPES == (
        "reporting:read",
        "flows:read",
        "flows:write",
        "triggers:manage",
        "addressbooks:write",
        "outbound:write",
        "tasks:write",
        "config:read",
        "config:write",
        "audit:read",
    )


def test_validate_scopes() -> None:
    assert validate_scopes(SCOPES) == []
    assert validate_scopes([]) == []
    assert validate_scopes(["flows:read", "flows:delete", "Flows:Read", "flows:delete", "*"]) == [
        "flows:delete",
        "Flows:Read",
        "*",
    ]


def test_validate_scopes_refuses_a_bare_string() -> None:
    with pytest.raises(TypeError):
        validate_scopes("flows:read")
