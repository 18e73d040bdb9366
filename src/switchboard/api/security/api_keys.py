"""API keys: the ``sbk_<key_id>_<secret>`` format, peppered storage and scopes.

Spec 10 §1.4 (K1, K4). An API key is a long random bearer secret, so unlike a password it does
not need a slow hash: nobody can brute-force 256 random bits. What storage has to prevent is
that a copy of the database alone is enough to use the keys, which is why only an HMAC of the
secret under a server-side *pepper* (a key kept outside the database) is stored.

The key id is part of the key so a request can find its database row by id and then compare a
single HMAC, instead of hashing and searching for the secret. Prefixing everything with
``sbk_`` makes leaked keys recognisable to secret scanners and to the log redaction
(:mod:`.redaction`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable
from typing import Final

__all__ = [
    "API_KEY_PREFIX",
    "KEY_ID_LENGTH",
    "MIN_PEPPER_BYTES",
    "SCOPES",
    "SECRET_BYTES",
    "SECRET_LENGTH",
    "generate_api_key",
    "parse_api_key",
    "secret_hmac",
    "validate_scopes",
    "verify_secret",
]

API_KEY_PREFIX: Final = "sbk_"
KEY_ID_LENGTH: Final = 12
SECRET_BYTES: Final = 32
# 32 bytes = 256 bits; base32 carries 5 bits per character, so 52 characters (the last one
# holds a single bit, the rest of it is zero padding).
SECRET_LENGTH: Final = -(-SECRET_BYTES * 8 // 5)
MIN_PEPPER_BYTES: Final = 32

# Lower-case RFC 4648 base32. Used for the id too, so the whole key is one case-insensitive-safe
# alphabet without look-alike characters (0/O, 1/l) and without "_", which keeps the separator
# unambiguous.
_ALPHABET: Final = "abcdefghijklmnopqrstuvwxyz234567"
_KEY_PATTERN: Final = re.compile(
    rf"sbk_([a-z2-7]{{{KEY_ID_LENGTH}}})_([a-z2-7]{{{SECRET_LENGTH}}})", re.ASCII
)

SCOPES: Final[tuple[str, ...]] = (
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
"""Every scope an API key may carry (K4), in the spec's order."""


def _encode_secret(raw: bytes) -> str:
    return base64.b32encode(raw).decode("ascii").rstrip("=").lower()


def generate_api_key() -> tuple[str, str, str]:
    """Create a new key and return ``(full_key, key_id, secret)``.

    The full key is what the user sees - exactly once, at creation (K1). Store ``key_id`` and
    ``secret_hmac(pepper, secret)``; discard ``full_key`` and ``secret`` after answering.
    Both parts come from :mod:`secrets`, the operating system's CSPRNG. The id (60 bits) only
    has to be unique, which the caller's unique constraint enforces; all the security is in the
    256-bit secret.
    """
    key_id = "".join(secrets.choice(_ALPHABET) for _ in range(KEY_ID_LENGTH))
    secret = _encode_secret(secrets.token_bytes(SECRET_BYTES))
    return f"{API_KEY_PREFIX}{key_id}_{secret}", key_id, secret


def parse_api_key(text: str) -> tuple[str, str] | None:
    """Split a presented key into ``(key_id, secret)``, or return ``None`` if it is malformed.

    The check is strict - exact prefix, lengths and lower-case alphabet, no surrounding
    whitespace, and the secret must be the canonical encoding of 32 bytes - so that anything
    which is not a key Switchboard could have issued is refused before a database lookup.
    ``None`` rather than an exception because "not an API key" is an ordinary answer (the
    caller may try the value as a JWT next).
    """
    if not isinstance(text, str):
        return None
    match = _KEY_PATTERN.fullmatch(text)
    if match is None:
        return None
    key_id, secret = match.group(1), match.group(2)
    # 52 characters hold 260 bits; the last 4 must be zero for the text to be the one encoding
    # of some 32 bytes. Rejecting the other spellings keeps "one key, one string".
    padded = secret.upper() + "=" * (-len(secret) % 8)
    if _encode_secret(base64.b32decode(padded)) != secret:
        return None
    return key_id, secret


def _check_pepper(pepper: bytes) -> None:
    if not isinstance(pepper, bytes | bytearray) or len(pepper) < MIN_PEPPER_BYTES:
        # A short or empty pepper would make the stored HMACs little better than plain hashes;
        # failing loudly at first use beats discovering it after keys have been issued.
        raise ValueError(f"the API-key pepper must be at least {MIN_PEPPER_BYTES} random bytes")


def secret_hmac(pepper: bytes, secret: str) -> str:
    """Return HMAC-SHA256(pepper, secret) as lower-case hex - the value to store (K1).

    Raises :class:`ValueError` if the pepper is shorter than :data:`MIN_PEPPER_BYTES`.
    """
    _check_pepper(pepper)
    return hmac.new(bytes(pepper), secret.encode("utf-8"), hashlib.sha256).hexdigest()


def verify_secret(pepper: bytes, secret: str, stored_hmac: str) -> bool:
    """Return whether *secret* matches *stored_hmac*, comparing in constant time.

    A plain ``==`` can stop at the first differing character, and that timing difference lets
    an attacker learn a valid HMAC byte by byte; :func:`hmac.compare_digest` does not.
    """
    expected = secret_hmac(pepper, secret)
    return hmac.compare_digest(expected.encode("ascii"), stored_hmac.encode("utf-8"))


def validate_scopes(scopes: Iterable[str]) -> list[str]:
    """Return the scope names in *scopes* that are not in :data:`SCOPES`.

    Each unknown name appears once, in the order first seen, so an error response can list
    them. An empty result means every scope is valid; whether an empty scope list is allowed is
    the caller's decision.
    """
    if isinstance(scopes, str):
        # A bare string is iterable too; checking it character by character would answer
        # nonsense instead of pointing at the caller's mistake.
        raise TypeError("scopes must be a collection of scope names, not a single string")
    known = frozenset(SCOPES)
    unknown: list[str] = []
    for scope in scopes:
        if scope not in known and scope not in unknown:
            unknown.append(scope)
    return unknown
