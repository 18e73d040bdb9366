"""The `$skiptoken` of server-driven paging: opaque, signed, bound to its query (08 OD8).

A token carries the position after the last row of a page — the values of the
`$orderby` properties and the `Id` of that row (keyset paging) — and how many rows
were delivered so far (for `$top` across pages). It is signed with an HMAC so a
client cannot forge positions, and names a digest of the tenant, entity set,
`$filter` and `$orderby` it was made for, so it cannot be carried to another query.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from switchboard.reporting.odata.errors import bad_request

_SIGNATURE_BYTES = 16


@dataclass(frozen=True, slots=True)
class Position:
    values: tuple[Any, ...]  # JSON-able values of the $orderby properties, then the key
    delivered: int


def query_digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


def issue(secret: bytes, digest: str, position: Position) -> str:
    payload = json.dumps(
        {"q": digest, "k": list(position.values), "n": position.delivered},
        separators=(",", ":"),
    ).encode()
    mac = hmac.new(secret, payload, hashlib.sha256).digest()[:_SIGNATURE_BYTES]
    return f"{_b64(payload)}.{_b64(mac)}"


def read(secret: bytes, digest: str, token: str, width: int) -> Position:
    """The position in `token`, or 400 if it is not one this service made for this query."""
    refused = bad_request(
        "$skiptoken is not one this service issued for this query; "
        "start again from the first page.",
        target="$skiptoken",
    )
    body, _, signature = token.partition(".")
    try:
        payload, mac = _unb64(body), _unb64(signature)
    except (binascii.Error, ValueError):
        raise refused from None
    expected = hmac.new(secret, payload, hashlib.sha256).digest()[:_SIGNATURE_BYTES]
    if not hmac.compare_digest(mac, expected):
        raise refused
    data = json.loads(payload)
    values: Sequence[Any] = data.get("k", [])
    if data.get("q") != digest or len(values) != width or not isinstance(data.get("n"), int):
        raise refused
    return Position(tuple(values), data["n"])


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
