"""Local-account passwords: argon2id parameters, policy and sign-in delays (spec 10 L1-L3)."""

from __future__ import annotations

import base64

import argon2
import pytest

from switchboard.api.security import passwords
from switchboard.api.security.passwords import (
    DUMMY_HASH,
    check_password_policy,
    common_passwords,
    hash_password,
    login_delay,
    needs_rehash,
    verify_against_dummy,
    verify_password,
)

PASSWORD = "Correct-Horse-Battery-Staple-7"


@pytest.fixture(scope="module")
def stored() -> str:
    # One argon2id hash costs real time and 64 MiB by design; share it across tests.
    return hash_password(PASSWORD)


def _b64(segment: str) -> bytes:
    return base64.b64decode(segment + "=" * (-len(segment) % 4))


# --- L1: hashing ------------------------------------------------------------------------------
def test_hash_uses_the_specs_argon2id_parameters(stored: str) -> None:
    # $argon2id$v=19$m=65536,t=3,p=4$<salt>$<hash>
    empty, variant, version, params, salt, digest = stored.split("$")
    assert empty == ""
    assert variant == "argon2id"
    assert version == "v=19"
    assert dict(p.split("=") for p in params.split(",")) == {"m": "65536", "t": "3", "p": "4"}
    assert len(_b64(salt)) == 16
    assert len(_b64(digest)) == 32

    extracted = argon2.extract_parameters(stored)
    assert extracted.type is argon2.Type.ID
    assert (extracted.time_cost, extracted.memory_cost, extracted.parallelism) == (3, 65536, 4)
    assert (extracted.salt_len, extracted.hash_len) == (16, 32)


def test_hashes_are_salted(stored: str) -> None:
    assert hash_password(PASSWORD) != stored


def test_verify_accepts_the_right_password_only(stored: str) -> None:
    assert verify_password(stored, PASSWORD) is True
    assert verify_password(stored, PASSWORD.lower()) is False
    assert verify_password(stored, "") is False


@pytest.mark.parametrize("bad_hash", ["", "not a hash", "$argon2id$v=19$m=65536,t=3,p=4$xx$yy"])
def test_verify_with_a_broken_hash_is_false_not_an_error(bad_hash: str) -> None:
    assert verify_password(bad_hash, PASSWORD) is False


def test_current_hash_needs_no_rehash(stored: str) -> None:
    assert needs_rehash(stored) is False


@pytest.mark.parametrize(
    "old_parameters",
    [
        {"time_cost": 2},
        {"memory_cost": 32 * 1024},
        {"parallelism": 2},
        {"salt_len": 8},
        {"hash_len": 16},
        {"type": argon2.Type.I},
    ],
    ids=lambda p: next(iter(p)),
)
def test_hash_with_other_parameters_needs_rehash(old_parameters: dict[str, object]) -> None:
    settings: dict[str, object] = {
        "time_cost": 1,
        "memory_cost": 8 * 1024,
        "parallelism": 1,
        "salt_len": 16,
        "hash_len": 32,
        "type": argon2.Type.ID,
    }
    settings.update(old_parameters)
    old_hasher = argon2.PasswordHasher(**settings)  # type: ignore[arg-type]
    old_hash = old_hasher.hash(PASSWORD)
    assert verify_password(old_hash, PASSWORD) is True, "old hashes keep working"
    assert needs_rehash(old_hash) is True


def test_unparseable_hash_needs_rehash() -> None:
    assert needs_rehash("plain-text?") is True


def test_dummy_hash_costs_as_much_as_a_real_one() -> None:
    # Same parameters => same time and memory per verification (L3).
    assert needs_rehash(DUMMY_HASH) is False
    assert verify_against_dummy(PASSWORD) is False


# --- L2: policy -------------------------------------------------------------------------------
def test_good_password_has_no_problems() -> None:
    assert check_password_policy("violet-Tram-41-quietly", "alice") == []


def test_length_bounds() -> None:
    assert check_password_policy("q7#Lm2!vR9x", "bob") == ["too_short"]
    assert check_password_policy("q7#Lm2!vR9xZ", "bob") == []
    long_ok = ("q7#Lm2!vR9xZ" * 22)[:256]
    assert check_password_policy(long_ok, "bob") == []
    assert check_password_policy(long_ok + "k", "bob") == ["too_long"]


def test_huge_input_is_answered_quickly() -> None:
    assert check_password_policy("!" * 1_000_000 + "a", "bob") == ["too_long"]


def test_length_counts_characters_not_bytes() -> None:
    assert check_password_policy("ÄÖÜäöüßé€Ωж", "bob") == ["too_short"]  # 11 chars, 22+ bytes


@pytest.mark.parametrize(
    ("password", "username"),
    [
        ("my-AliceSmith-rocks-42", "alicesmith"),
        ("my-alicesmith-rocks-42", "AliceSmith"),
        ("x-ALICE.SMITH@CONTOSO.COM-9", "alice.smith@contoso.com"),
        ("hello-alice.smith-2024x", "alice.smith@contoso.com"),  # UPN local part
    ],
)
def test_contains_username_is_case_insensitive(password: str, username: str) -> None:
    assert check_password_policy(password, username) == ["contains_username"]


def test_very_short_user_names_are_not_searched() -> None:
    assert check_password_policy("violet-Tram-41-quietly", "vi") == []
    assert check_password_policy("violet-Tram-41-quietly", "") == []


def test_bundled_list_is_loaded() -> None:
    common = common_passwords()
    assert len(common) >= 200
    assert {"password", "123456", "qwerty", "password1234", "123456789012"} <= common
    assert all(entry == entry.casefold() for entry in common)
    assert not any(entry.startswith("#") for entry in common)


@pytest.mark.parametrize(
    "password",
    [
        "password1234",  # listed as is
        "PASSWORD1234",  # any case
        "Password2024!",  # listed base word with decoration
        "!!Sunshine2025??",
        "passwordpassword",
        "MonkeyMonkeyMonkey",  # listed word repeated
        "aaaaaaaaaaaaaa",  # short unit repeated
        "abcabcabcabc",
        "abcdefghijklmn",  # runs
        "zyxwvutsrqpo",
        "345678901234",
        "987654321098",
    ],
)
def test_too_common(password: str) -> None:
    assert check_password_policy(password, "bob") == ["too_common"]


def test_several_problems_are_reported_together() -> None:
    assert check_password_policy("password", "password") == [
        "too_short",
        "contains_username",
        "too_common",
    ]


# --- L3: sign-in delays -----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("failures", "delay"),
    [
        (0, 0.0),
        (1, 0.0),
        (4, 0.0),
        (5, 1.0),
        (6, 2.0),
        (7, 4.0),
        (10, 32.0),
        (14, 512.0),
        (15, 900.0),
        (16, 900.0),
        (10**9, 900.0),
    ],
)
def test_login_delay(failures: int, delay: float) -> None:
    assert login_delay(failures) == delay


def test_login_delay_is_monotonic_and_capped_at_15_minutes() -> None:
    delays = [login_delay(n) for n in range(60)]
    assert delays == sorted(delays)
    assert max(delays) == 15 * 60
    assert passwords.FAILURE_WINDOW_SECONDS == 15 * 60
