"""OidcVerifier against a real JWKS endpoint on loopback (spec 10 A1-A4).

Keys are generated locally, the JWKS is served by ``http.server`` in a thread, and tokens are
signed with PyJWT, so the whole path - fetch, cache, refresh, signature, claims - runs for real.
"""

from __future__ import annotations

import base64
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import FrozenInstanceError
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from switchboard.api.security.oidc import (
    ALLOWED_ALGORITHMS,
    Claims,
    JwksUnavailable,
    OidcVerifier,
    TokenRejected,
)

TID = "11111111-2222-3333-4444-555555555555"
ISSUER = f"https://login.microsoftonline.com/{TID}/v2.0"
OTHER_ISSUER = "https://idp.example.org/realms/other"
AUDIENCE = "6f1c2d3e-aaaa-bbbb-cccc-0123456789ab"
APP_ID_URI = "api://switchboard"


# --- keys -------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def rsa_key_2() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def ec_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def public_jwk(private_key: Any, kid: str, **extra: Any) -> dict[str, Any]:
    """The public half of *private_key* as a JWK, the way an IdP publishes it (no ``alg``)."""
    public = private_key.public_key()
    if isinstance(public, rsa.RSAPublicKey):
        jwk = RSAAlgorithm.to_jwk(public, as_dict=True)
    else:
        jwk = ECAlgorithm.to_jwk(public, as_dict=True)
    return {**jwk, "kid": kid, "use": "sig", **extra}


# --- JWKS server ------------------------------------------------------------------------------
class JwksServer:
    """Serves ``self.keys`` as a JWKS on 127.0.0.1 and counts the requests it answers."""

    def __init__(self) -> None:
        self.keys: list[dict[str, Any]] = []
        self.status = 200
        self.requests = 0
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                with server._lock:
                    server.requests += 1
                    body = json.dumps({"keys": server.keys}).encode()
                    status = server.status
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # keep test output clean

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}/keys"
        # A short poll interval keeps shutdown() - which waits for the next poll - fast.
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)


@pytest.fixture
def jwks(rsa_key: rsa.RSAPrivateKey, ec_key: ec.EllipticCurvePrivateKey) -> Iterator[JwksServer]:
    server = JwksServer()
    server.keys = [public_jwk(rsa_key, "rsa-1"), public_jwk(ec_key, "ec-1")]
    server.start()
    try:
        yield server
    finally:
        server.stop()


class FakeClock:
    """Monotonic clock the test moves by hand; it drives only the refresh limit."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def verifier(jwks: JwksServer, clock: FakeClock) -> OidcVerifier:
    return OidcVerifier(
        issuers=[ISSUER],
        audiences=[AUDIENCE, APP_ID_URI],
        jwks_urls={ISSUER: jwks.url},
        fetch_timeout=5,
        clock=clock,
    )


# --- tokens -----------------------------------------------------------------------------------
def claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    payload: dict[str, Any] = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": now,
        "nbf": now,
        "exp": now + 3600,
        "tid": TID,
        "oid": "aaaaaaaa-0000-0000-0000-000000000001",
        "preferred_username": "alice@contoso.com",
        "groups": ["g-admins", "g-agents"],
    }
    payload.update(overrides)
    return {k: v for k, v in payload.items() if v is not None}


def sign(key: Any, kid: str | None = "rsa-1", alg: str = "RS256", **overrides: Any) -> str:
    headers = {"kid": kid} if kid is not None else {}
    return jwt.encode(claims(**overrides), key, algorithm=alg, headers=headers)


def b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def rejected(verify: Callable[[str], Claims], token: str) -> TokenRejected:
    with pytest.raises(TokenRejected) as info:
        verify(token)
    if len(token) > 8:
        assert token not in str(info.value), "the token must never appear in the message"
    return info.value


# --- acceptance -------------------------------------------------------------------------------
def test_accepts_valid_rs256_token(verifier: OidcVerifier, rsa_key: rsa.RSAPrivateKey) -> None:
    result = verifier.verify(sign(rsa_key))
    assert result == Claims(
        iss=ISSUER,
        tid=TID,
        oid="aaaaaaaa-0000-0000-0000-000000000001",
        preferred_username="alice@contoso.com",
        groups=("g-admins", "g-agents"),
        raw={},
    )
    assert result.raw["aud"] == AUDIENCE
    with pytest.raises(TypeError):
        result.raw["tid"] = "other"  # type: ignore[index]
    with pytest.raises(FrozenInstanceError):
        result.tid = "other"  # type: ignore[misc]


@pytest.mark.parametrize("alg", ["RS256", "RS384", "RS512", "PS256"])
def test_accepts_every_allowed_rsa_algorithm_with_one_key(
    verifier: OidcVerifier, rsa_key: rsa.RSAPrivateKey, alg: str
) -> None:
    # The JWK carries no "alg", as at Entra: one RSA key serves all RSA algorithms.
    assert verifier.verify(sign(rsa_key, alg=alg)).tid == TID


def test_accepts_es256(verifier: OidcVerifier, ec_key: ec.EllipticCurvePrivateKey) -> None:
    assert verifier.verify(sign(ec_key, kid="ec-1", alg="ES256")).tid == TID


def test_allowed_algorithms_are_the_specs() -> None:
    assert sorted(ALLOWED_ALGORITHMS) == ["ES256", "PS256", "RS256", "RS384", "RS512"]


def test_either_audience_is_accepted_also_inside_a_list(
    verifier: OidcVerifier, rsa_key: rsa.RSAPrivateKey
) -> None:
    verifier.verify(sign(rsa_key, aud=APP_ID_URI))
    verifier.verify(sign(rsa_key, aud=["someone-else", AUDIENCE]))


def test_user_may_be_identified_by_oid_or_upn_only(
    verifier: OidcVerifier, rsa_key: rsa.RSAPrivateKey
) -> None:
    by_upn = verifier.verify(sign(rsa_key, oid=None))
    assert (by_upn.oid, by_upn.preferred_username) == (None, "alice@contoso.com")
    by_oid = verifier.verify(sign(rsa_key, preferred_username=None))
    assert (by_oid.oid, by_oid.preferred_username) == (
        "aaaaaaaa-0000-0000-0000-000000000001",
        None,
    )


def test_missing_groups_claim_is_none_not_empty(
    verifier: OidcVerifier, rsa_key: rsa.RSAPrivateKey
) -> None:
    assert verifier.verify(sign(rsa_key, groups=None)).groups is None
    assert verifier.verify(sign(rsa_key, groups=[])).groups == ()


def test_keys_are_cached_between_tokens(
    verifier: OidcVerifier, jwks: JwksServer, rsa_key: rsa.RSAPrivateKey
) -> None:
    for _ in range(3):
        verifier.verify(sign(rsa_key))
    assert jwks.requests == 1


# --- algorithm --------------------------------------------------------------------------------
def test_rejects_hs256_even_with_a_known_kid(verifier: OidcVerifier, jwks: JwksServer) -> None:
    token = sign(b"k" * 32, kid="rsa-1", alg="HS256")
    assert rejected(verifier.verify, token).reason_code == "bad_algorithm"
    assert jwks.requests == 0, "refused before any key lookup"


@pytest.mark.parametrize("alg", ["none", "None", "NONE", "HS384", "HS512", "ES512", ""])
def test_rejects_alg_none_and_other_algorithms(verifier: OidcVerifier, alg: str) -> None:
    token = f"{b64({'alg': alg, 'typ': 'JWT', 'kid': 'rsa-1'})}.{b64(claims())}."
    assert rejected(verifier.verify, token).reason_code == "bad_algorithm"


@pytest.mark.parametrize("header", [{"kid": "rsa-1"}, {"kid": "rsa-1", "alg": ["RS256"]}])
def test_rejects_header_without_a_usable_alg(
    verifier: OidcVerifier, header: dict[str, Any]
) -> None:
    token = f"{b64(header)}.{b64(claims())}.c2ln"
    assert rejected(verifier.verify, token).reason_code == "bad_algorithm"


def test_rejects_algorithm_that_does_not_fit_the_key(
    verifier: OidcVerifier, ec_key: ec.EllipticCurvePrivateKey, rsa_key: rsa.RSAPrivateKey
) -> None:
    # An ES256 token pointing at the RSA key, and an RS256 token pointing at the EC key.
    assert rejected(verifier.verify, sign(ec_key, kid="rsa-1", alg="ES256")).reason_code == (
        "bad_algorithm"
    )
    assert rejected(verifier.verify, sign(rsa_key, kid="ec-1")).reason_code == "bad_algorithm"


def test_key_with_declared_alg_is_used_only_with_it(
    jwks: JwksServer, clock: FakeClock, rsa_key: rsa.RSAPrivateKey
) -> None:
    jwks.keys = [public_jwk(rsa_key, "rsa-1", alg="RS256")]
    verifier = OidcVerifier([ISSUER], [AUDIENCE], {ISSUER: jwks.url}, clock=clock)
    verifier.verify(sign(rsa_key, alg="RS256"))
    assert rejected(verifier.verify, sign(rsa_key, alg="RS512")).reason_code == "bad_algorithm"


# --- signature --------------------------------------------------------------------------------
def test_rejects_token_signed_by_another_key_under_a_known_kid(
    verifier: OidcVerifier, rsa_key_2: rsa.RSAPrivateKey
) -> None:
    assert rejected(verifier.verify, sign(rsa_key_2)).reason_code == "bad_signature"


def test_rejects_tampered_payload(verifier: OidcVerifier, rsa_key: rsa.RSAPrivateKey) -> None:
    header, _, signature = sign(rsa_key).split(".")
    forged = f"{header}.{b64(claims(tid='99999999-9999-9999-9999-999999999999'))}.{signature}"
    assert rejected(verifier.verify, forged).reason_code == "bad_signature"


def test_signature_is_checked_before_expiry(
    verifier: OidcVerifier, rsa_key_2: rsa.RSAPrivateKey
) -> None:
    token = sign(rsa_key_2, exp=int(time.time()) - 3600)
    assert rejected(verifier.verify, token).reason_code == "bad_signature"


# --- time claims ------------------------------------------------------------------------------
def test_expired_beyond_leeway_is_rejected(
    verifier: OidcVerifier, rsa_key: rsa.RSAPrivateKey
) -> None:
    now = int(time.time())
    token = sign(rsa_key, iat=now - 7200, nbf=now - 7200, exp=now - 90)
    assert rejected(verifier.verify, token).reason_code == "expired"


def test_expired_within_leeway_is_accepted(
    verifier: OidcVerifier, rsa_key: rsa.RSAPrivateKey
) -> None:
    now = int(time.time())
    verifier.verify(sign(rsa_key, iat=now - 7200, nbf=now - 7200, exp=now - 30))


@pytest.mark.parametrize("claim", ["nbf", "iat"])
def test_not_yet_valid_beyond_leeway_is_rejected(
    verifier: OidcVerifier, rsa_key: rsa.RSAPrivateKey, claim: str
) -> None:
    future: dict[str, Any] = {claim: int(time.time()) + 120}
    token = sign(rsa_key, **future)
    assert rejected(verifier.verify, token).reason_code == "not_yet_valid"


@pytest.mark.parametrize("claim", ["nbf", "iat"])
def test_not_yet_valid_within_leeway_is_accepted(
    verifier: OidcVerifier, rsa_key: rsa.RSAPrivateKey, claim: str
) -> None:
    future: dict[str, Any] = {claim: int(time.time()) + 30}
    verifier.verify(sign(rsa_key, **future))


# --- issuer and audience ----------------------------------------------------------------------
def test_wrong_audience_is_rejected(verifier: OidcVerifier, rsa_key: rsa.RSAPrivateKey) -> None:
    assert rejected(verifier.verify, sign(rsa_key, aud="api://other")).reason_code == (
        "bad_audience"
    )
    assert rejected(verifier.verify, sign(rsa_key, aud=["a", "b"])).reason_code == ("bad_audience")


def test_unknown_issuer_is_rejected_without_fetching_keys(
    verifier: OidcVerifier, jwks: JwksServer, rsa_key: rsa.RSAPrivateKey
) -> None:
    token = sign(rsa_key, iss="https://login.microsoftonline.com/evil/v2.0")
    assert rejected(verifier.verify, token).reason_code == "unknown_issuer"
    assert jwks.requests == 0


def test_token_of_one_issuer_signed_with_the_other_issuers_key_is_rejected(
    jwks: JwksServer, clock: FakeClock, rsa_key: rsa.RSAPrivateKey, rsa_key_2: rsa.RSAPrivateKey
) -> None:
    other = JwksServer()
    other.keys = [public_jwk(rsa_key_2, "other-1")]
    other.start()
    try:
        verifier = OidcVerifier(
            [ISSUER, OTHER_ISSUER],
            [AUDIENCE],
            {ISSUER: jwks.url, OTHER_ISSUER: other.url},
            clock=clock,
        )
        assert verifier.verify(sign(rsa_key_2, kid="other-1", iss=OTHER_ISSUER)).iss == (
            OTHER_ISSUER
        )
        # Claims to come from OTHER_ISSUER but is signed with ISSUER's key.
        token = sign(rsa_key, kid="rsa-1", iss=OTHER_ISSUER)
        assert rejected(verifier.verify, token).reason_code == "unknown_key"
    finally:
        other.stop()


# --- required claims --------------------------------------------------------------------------
@pytest.mark.parametrize("claim", ["tid", "exp", "aud", "iss"])
def test_missing_required_claim(
    verifier: OidcVerifier, rsa_key: rsa.RSAPrivateKey, claim: str
) -> None:
    without: dict[str, Any] = {claim: None}
    assert rejected(verifier.verify, sign(rsa_key, **without)).reason_code == "missing_claim"


def test_missing_both_user_claims(verifier: OidcVerifier, rsa_key: rsa.RSAPrivateKey) -> None:
    token = sign(rsa_key, oid=None, preferred_username=None)
    assert rejected(verifier.verify, token).reason_code == "missing_claim"


@pytest.mark.parametrize(
    "overrides", [{"tid": 42}, {"oid": ["x"]}, {"groups": "g-admins"}, {"groups": [1, 2]}]
)
def test_wrongly_typed_claims_are_malformed(
    verifier: OidcVerifier, rsa_key: rsa.RSAPrivateKey, overrides: dict[str, Any]
) -> None:
    assert rejected(verifier.verify, sign(rsa_key, **overrides)).reason_code == "malformed"


# --- malformed input --------------------------------------------------------------------------
@pytest.mark.parametrize(
    "token",
    [
        "",
        "not-a-token",
        "a.b",
        "a.b.c",
        "a.b.c.d.e",
        "!!!.???.###",
        f"{b64({'alg': 'RS256', 'kid': 'rsa-1'})}.bm90IGpzb24.c2ln",  # payload "not json"
        "eyJhbGciOiJSUzI1NiJ9." + "A" * 20_000 + ".c2ln",
    ],
)
def test_malformed_tokens(verifier: OidcVerifier, jwks: JwksServer, token: str) -> None:
    assert rejected(verifier.verify, token).reason_code == "malformed"
    assert jwks.requests == 0


def test_non_string_token_is_malformed(verifier: OidcVerifier) -> None:
    with pytest.raises(TokenRejected) as info:
        verifier.verify(None)  # type: ignore[arg-type]
    assert info.value.reason_code == "malformed"


def test_token_without_kid_is_malformed(verifier: OidcVerifier, rsa_key: rsa.RSAPrivateKey) -> None:
    assert rejected(verifier.verify, sign(rsa_key, kid=None)).reason_code == "malformed"


# --- unknown keys, refresh limit and rotation -------------------------------------------------
def test_unknown_kid_refreshes_once_then_waits_a_minute(
    verifier: OidcVerifier, jwks: JwksServer, clock: FakeClock, rsa_key: rsa.RSAPrivateKey
) -> None:
    verifier.verify(sign(rsa_key))
    assert jwks.requests == 1

    unknown = sign(rsa_key, kid="nobody")
    assert rejected(verifier.verify, unknown).reason_code == "unknown_key"
    assert jwks.requests == 2, "an unknown kid triggers one refresh"

    for _ in range(5):
        assert rejected(verifier.verify, unknown).reason_code == "unknown_key"
    clock.now += 59
    assert rejected(verifier.verify, unknown).reason_code == "unknown_key"
    assert jwks.requests == 2, "no further refresh within the minute"

    clock.now += 1
    assert rejected(verifier.verify, unknown).reason_code == "unknown_key"
    assert jwks.requests == 3, "a minute later the next unknown kid may refresh again"

    verifier.verify(sign(rsa_key))
    assert jwks.requests == 3, "known keys keep coming from the cache"


def test_unknown_kid_on_first_use_does_not_fetch_twice(
    verifier: OidcVerifier, jwks: JwksServer, rsa_key: rsa.RSAPrivateKey
) -> None:
    assert rejected(verifier.verify, sign(rsa_key, kid="nobody")).reason_code == "unknown_key"
    assert jwks.requests == 1


def test_rotated_key_is_picked_up_after_refresh_and_withdrawn_key_dropped(
    verifier: OidcVerifier,
    jwks: JwksServer,
    clock: FakeClock,
    rsa_key: rsa.RSAPrivateKey,
    rsa_key_2: rsa.RSAPrivateKey,
) -> None:
    verifier.verify(sign(rsa_key))
    assert jwks.requests == 1

    # The IdP rotates: rsa-2 replaces rsa-1.
    jwks.keys = [public_jwk(rsa_key_2, "rsa-2")]
    # Until a refresh happens, the cached rsa-1 is still trusted.
    verifier.verify(sign(rsa_key))
    assert jwks.requests == 1

    result = verifier.verify(sign(rsa_key_2, kid="rsa-2"))
    assert result.tid == TID
    assert jwks.requests == 2

    # The refreshed set no longer contains rsa-1, so its tokens now fail.
    assert rejected(verifier.verify, sign(rsa_key)).reason_code == "unknown_key"
    clock.now += 60
    assert rejected(verifier.verify, sign(rsa_key)).reason_code == "unknown_key"
    assert jwks.requests == 3


def test_rotation_right_after_start_is_not_held_back(
    verifier: OidcVerifier,
    jwks: JwksServer,
    rsa_key: rsa.RSAPrivateKey,
    rsa_key_2: rsa.RSAPrivateKey,
) -> None:
    verifier.verify(sign(rsa_key))
    jwks.keys = [*jwks.keys, public_jwk(rsa_key_2, "rsa-2")]
    assert verifier.verify(sign(rsa_key_2, kid="rsa-2")).tid == TID


# --- JWKS unavailable -------------------------------------------------------------------------
def test_unreachable_jwks_is_reported_as_such(clock: FakeClock, rsa_key: rsa.RSAPrivateKey) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    verifier = OidcVerifier(
        [ISSUER], [AUDIENCE], {ISSUER: f"http://127.0.0.1:{port}/keys"}, clock=clock
    )
    with pytest.raises(JwksUnavailable) as info:
        verifier.verify(sign(rsa_key))
    assert isinstance(info.value, TokenRejected)
    assert info.value.reason_code == "jwks_unavailable"


def test_jwks_without_usable_keys_is_unavailable(
    jwks: JwksServer, clock: FakeClock, rsa_key: rsa.RSAPrivateKey
) -> None:
    jwks.keys = [{"kty": "unknown", "kid": "x"}]
    verifier = OidcVerifier([ISSUER], [AUDIENCE], {ISSUER: jwks.url}, clock=clock)
    assert rejected(verifier.verify, sign(rsa_key)).reason_code == "jwks_unavailable"


def test_failed_fetch_is_not_retried_for_a_while(
    jwks: JwksServer, clock: FakeClock, rsa_key: rsa.RSAPrivateKey
) -> None:
    jwks.status = 503
    verifier = OidcVerifier([ISSUER], [AUDIENCE], {ISSUER: jwks.url}, clock=clock)
    token = sign(rsa_key)
    for _ in range(3):
        assert rejected(verifier.verify, token).reason_code == "jwks_unavailable"
    assert jwks.requests == 1, "requests do not each wait for a failing IdP"

    jwks.status = 200
    clock.now += 9
    assert rejected(verifier.verify, token).reason_code == "jwks_unavailable"
    clock.now += 1
    assert verifier.verify(token).tid == TID
    assert jwks.requests == 2


def test_last_good_keys_stay_in_use_while_the_idp_is_down(
    jwks: JwksServer, clock: FakeClock, rsa_key: rsa.RSAPrivateKey
) -> None:
    verifier = OidcVerifier(
        [ISSUER], [AUDIENCE], {ISSUER: jwks.url}, jwks_cache_seconds=0.05, clock=clock
    )
    token = sign(rsa_key)
    verifier.verify(token)
    jwks.status = 500
    time.sleep(0.1)  # let the (real-time) key-set cache expire

    assert verifier.verify(token).tid == TID, "expired cache + failed fetch: last good keys"
    assert verifier.verify(token).tid == TID
    assert jwks.requests == 2, "one failed attempt, then the back-off"
    assert rejected(verifier.verify, sign(rsa_key, kid="nobody")).reason_code == "unknown_key"


# --- configuration ----------------------------------------------------------------------------
def test_configuration_is_checked() -> None:
    url = {ISSUER: "https://login.microsoftonline.com/common/discovery/v2.0/keys"}
    OidcVerifier([ISSUER], [AUDIENCE], url)
    with pytest.raises(TypeError):
        OidcVerifier(ISSUER, [AUDIENCE], url)
    with pytest.raises(ValueError, match="issuers"):
        OidcVerifier([], [AUDIENCE], {})
    with pytest.raises(ValueError, match="audiences"):
        OidcVerifier([ISSUER], [], url)
    with pytest.raises(ValueError, match="missing"):
        OidcVerifier([ISSUER, OTHER_ISSUER], [AUDIENCE], url)
    with pytest.raises(ValueError, match="not configured"):
        OidcVerifier([ISSUER], [AUDIENCE], {**url, OTHER_ISSUER: "https://idp.example.org/k"})
    with pytest.raises(ValueError, match="https"):
        OidcVerifier([ISSUER], [AUDIENCE], {ISSUER: "http://idp.example.org/keys"})
    OidcVerifier([ISSUER], [AUDIENCE], {ISSUER: "http://localhost:8080/keys"})
    OidcVerifier([ISSUER], [AUDIENCE], {ISSUER: "http://[::1]:8080/keys"})
