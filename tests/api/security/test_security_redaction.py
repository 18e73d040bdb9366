"""Log redaction by key name and by value pattern (spec 10 SE1-SE2)."""

from __future__ import annotations

import copy
import json
from typing import Any

import jwt
import pytest
import structlog
from structlog.testing import CapturingLogger

from switchboard.api.security.api_keys import generate_api_key
from switchboard.api.security.redaction import (
    REDACTED,
    is_sensitive_key,
    redact_secrets,
    redact_text,
    redact_value,
)

API_KEY = generate_api_key()[0]
WEBHOOK_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw+/="
JWT = jwt.encode({"sub": "alice", "tid": "t-1"}, "k" * 32, algorithm="HS256")
OPAQUE_TOKEN = "opaqueAccessToken.with-some~chars+/=="


def run(**event: Any) -> dict[str, Any]:
    return dict(redact_secrets(None, "info", dict(event)))


# --- by key name ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "key",
    [
        "password",
        "Password",
        "new_password",
        "smtp_password",
        "secret",
        "webhook_secret",
        "client_secret",
        "Client-Secret",
        "clientSecret",
        "token",
        "access_token",
        "refresh-token",
        "idToken",
        "authorization",
        "Authorization",
        "proxy-authorization",
        "api_key",
        "X-API-Key",
        "apiKey",
        "cookie",
        "Set-Cookie",
        "passwd",
        "x_switchboard_signature",
    ],
)
def test_sensitive_key_names_are_redacted(key: str) -> None:
    assert is_sensitive_key(key)
    assert run(event="e", **{key: "plain value"})[key] == REDACTED


@pytest.mark.parametrize("value", [12345, 1.5, True, ["a", "b"], {"nested": "dict"}, b"bytes"])
def test_any_value_type_under_a_sensitive_key_is_redacted(value: object) -> None:
    assert run(event="e", password=value)["password"] == REDACTED


def test_none_under_a_sensitive_key_stays_visible() -> None:
    assert run(event="e", password=None)["password"] is None


@pytest.mark.parametrize("key", ["event", "user", "tenant_id", "status", "path", "count"])
def test_ordinary_keys_are_kept(key: str) -> None:
    assert not is_sensitive_key(key)
    assert run(**{"event": "e", key: "plain value"})[key] == "plain value"


def test_non_string_keys_are_not_sensitive() -> None:
    assert not is_sensitive_key(42)
    assert is_sensitive_key(b"cookie")


# --- by value pattern -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"key {API_KEY} used", f"key {REDACTED} used"),
        (f"secret={WEBHOOK_SECRET};", f"secret={REDACTED};"),
        (f"token {JWT}.", f"token {REDACTED}."),
        (f"Authorization: Bearer {OPAQUE_TOKEN}", f"Authorization: Bearer {REDACTED}"),
        (f"bearer {OPAQUE_TOKEN} end", f"bearer {REDACTED} end"),
        (f"BEARER\t{JWT}", f"BEARER\t{REDACTED}"),
        (
            "GET /odata/v4/Tasks?$top=5&api_key=abc123XYZ&x=1",
            f"GET /odata/v4/Tasks?$top=5&api_key={REDACTED}&x=1",
        ),
        (
            "https://idp/cb?access_token=abc&state=s",
            f"https://idp/cb?access_token={REDACTED}&state=s",
        ),
        (f"a {API_KEY} and {JWT}", f"a {REDACTED} and {REDACTED}"),
        ("nothing secret here", "nothing secret here"),
        ("eyJ alone is fine", "eyJ alone is fine"),
    ],
)
def test_value_patterns_are_masked(text: str, expected: str) -> None:
    assert redact_text(text) == expected
    assert run(event=text)["event"] == expected
    assert run(event="e", detail=text)["detail"] == expected


def test_jwt_with_empty_signature_and_jwe_shape_are_masked() -> None:
    unsigned = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJhIn0."
    jwe = "eyJhbGciOiJSU0EtT0FFUCJ9.ZW5jcnlwdGVkS2V5.aXY.Y2lwaGVy.dGFn"
    assert redact_text(f"[{unsigned}]") == f"[{REDACTED}]"
    assert redact_text(f"[{jwe}]") == f"[{REDACTED}]"


def test_redaction_is_idempotent() -> None:
    text = f"Bearer {JWT} ?api_key=x {API_KEY} {WEBHOOK_SECRET}"
    once = redact_text(text)
    assert redact_text(once) == once
    for secret in (JWT, API_KEY, WEBHOOK_SECRET):
        assert secret not in once


# --- nesting ----------------------------------------------------------------------------------
def test_nested_structures_are_redacted_without_touching_the_original() -> None:
    request = {
        "method": "POST",
        "headers": {"Authorization": f"Bearer {JWT}", "Accept": "application/json"},
        "body": [
            {"user": "alice", "password": "hunter2hunter2"},
            f"note mentioning {API_KEY}",
            ("tuple", WEBHOOK_SECRET),
        ],
        "meta": {"deeper": {"client_secret": "s3cr3t", "ids": {1, 2}}},
    }
    original = copy.deepcopy(request)

    result = run(event="incoming", request=request)["request"]

    assert result == {
        "method": "POST",
        "headers": {"Authorization": REDACTED, "Accept": "application/json"},
        "body": [
            {"user": "alice", "password": REDACTED},
            f"note mentioning {REDACTED}",
            ("tuple", REDACTED),
        ],
        "meta": {"deeper": {"client_secret": REDACTED, "ids": {1, 2}}},
    }
    assert request == original, "the caller's objects must not change"


def test_raw_header_pairs_are_redacted() -> None:
    headers = [(b"cookie", b"__Host-sb_session=abc"), (b"accept", b"*/*")]
    assert redact_value(headers) == [(b"cookie", REDACTED), (b"accept", b"*/*")]
    assert redact_value([("X-API-Key", "whatever")]) == [("X-API-Key", REDACTED)]


def test_bytes_and_exceptions_are_scanned() -> None:
    assert redact_value(f"Bearer {OPAQUE_TOKEN}".encode()) == f"Bearer {REDACTED}"
    assert redact_value(b"harmless") == b"harmless"
    error = ValueError(f"bad key {API_KEY}")
    assert redact_value(error) == f"ValueError: bad key {REDACTED}"
    harmless = ValueError("nope")
    assert redact_value(harmless) is harmless


def test_reference_cycles_do_not_break_logging() -> None:
    loop: dict[str, Any] = {"name": "loop"}
    loop["self"] = loop
    result = run(event="e", data=loop)["data"]
    depth = 0
    while isinstance(result, dict):
        result = result["self"]
        depth += 1
    assert result == REDACTED
    assert depth > 10


def test_other_objects_pass_through() -> None:
    marker = object()
    assert run(event="e", obj=marker, n=3, f=0.5, flag=False)["obj"] is marker


# --- in a real structlog pipeline -------------------------------------------------------------
def test_processor_in_a_structlog_pipeline() -> None:
    capture = CapturingLogger()
    log = structlog.wrap_logger(
        capture,
        processors=[
            structlog.processors.add_log_level,
            redact_secrets,
            structlog.processors.JSONRenderer(sort_keys=True),
        ],
    )
    log.info(
        f"request with Bearer {JWT}",
        password="hunter2hunter2",
        headers={"cookie": "sid=1", "user-agent": "curl"},
        url=f"/odata?api_key={API_KEY}",
    )
    (call,) = capture.calls
    line = call.args[0]
    for secret in ("hunter2hunter2", "sid=1", API_KEY, JWT):
        assert secret not in line
    assert json.loads(line) == {
        "event": f"request with Bearer {REDACTED}",
        "headers": {"cookie": REDACTED, "user-agent": "curl"},
        "level": "info",
        "password": REDACTED,
        "url": f"/odata?api_key={REDACTED}",
    }
