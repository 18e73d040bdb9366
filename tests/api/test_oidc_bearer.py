"""OIDC bearer tokens against the real service and a local, Entra-shaped key endpoint (10 A1–A5).

Keys are generated here, published as JWKS by `http.server` on 127.0.0.1 at
`{authority}/{tid}/discovery/v2.0/keys`, and tokens are minted with PyJWT; the
service is pointed at that authority, so fetching, caching, signature, claims,
tenant link and user lookup all run for real.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import pytest
from api_harness import Service, service
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm
from sign_in_harness import TENANT_ADMIN, make_user

from switchboard.api import oidc_auth

__all__ = ["service"]

AUDIENCE = "api://switchboard-test"
DIR_A = "aaaaaaaa-0000-4000-8000-00000000000a"
DIR_B = "bbbbbbbb-0000-4000-8000-00000000000b"
DIR_C = "cccccccc-0000-4000-8000-00000000000c"  # a directory no tenant is linked to


class Directory:
    """One directory tenant of the local identity provider: its keys and JWKS."""

    def __init__(self, tid: str) -> None:
        self.tid = tid
        self.rsa = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.ec = ec.generate_private_key(ec.SECP256R1())
        self.published = [
            {**RSAAlgorithm.to_jwk(self.rsa.public_key(), as_dict=True), "kid": f"rsa-{tid}"},
            {**ECAlgorithm.to_jwk(self.ec.public_key(), as_dict=True), "kid": f"ec-{tid}"},
        ]


class IdentityProvider:
    """Serves each directory's JWKS at the Entra path on a loopback port."""

    def __init__(self, *directories: Directory) -> None:
        self.directories = {d.tid: d for d in directories}
        self.fetches: list[str] = []
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                provider.fetches.append(self.path)
                tid, _, rest = self.path.lstrip("/").partition("/")
                found = provider.directories.get(tid)
                if found is None or rest != "discovery/v2.0/keys":
                    self.send_error(404)
                    return
                body = json.dumps({"keys": found.published}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.authority = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def issuer(self, tid: str) -> str:
        return f"{self.authority}/{tid}/v2.0"

    def token(
        self,
        tid: str,
        /,
        *,
        oid: str | None = None,
        upn: str | None = None,
        key: str = "rsa",
        signer: Directory | None = None,
        headers: dict[str, Any] | None = None,
        **claims: Any,
    ) -> str:
        """A token of directory `tid`, signed with its RSA (RS256) or EC (ES256) key."""
        directory = signer or self.directories[tid]
        now = int(time.time())
        payload: dict[str, Any] = {
            "iss": self.issuer(tid),
            "aud": AUDIENCE,
            "tid": tid,
            "iat": now,
            "nbf": now,
            "exp": now + 3600,
        }
        if oid is not None:
            payload["oid"] = oid
        if upn is not None:
            payload["preferred_username"] = upn
        payload.update(claims)
        private: Any = directory.rsa if key == "rsa" else directory.ec
        algorithm = "RS256" if key == "rsa" else "ES256"
        kid = f"{key}-{directory.tid}"
        return jwt.encode(payload, private, algorithm, headers={"kid": kid, **(headers or {})})

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def idp() -> Iterator[IdentityProvider]:
    provider = IdentityProvider(Directory(DIR_A), Directory(DIR_B), Directory(DIR_C))
    yield provider
    provider.close()


@pytest.fixture
def linked(service: Service, idp: IdentityProvider) -> Service:
    """tenant-a linked to directory A, tenant-b to B; C is linked to nothing."""
    service.settings.oidc_audiences = (AUDIENCE,)
    service.settings.oidc_authority = idp.authority
    assert service.tenancy.tenants.set_directory_tenant_id("tenant-a", DIR_A)
    assert service.tenancy.tenants.set_directory_tenant_id("tenant-b", DIR_B)
    oidc_auth.reload(service.tenancy)
    return service


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _me(svc: Service, token: str) -> Any:  # httpx.Response
    return svc.client.get("/api/v1/auth/me", headers=_bearer(token))


def _refused(answer: Any, token: str, code: str = "invalid_token") -> None:
    assert answer.status_code == 401, answer.text
    assert answer.json()["code"] == code
    assert answer.headers["www-authenticate"].startswith("Bearer")
    # Not the token, nor any part of it, comes back.
    for part in [token, *token.split(".")]:
        if len(part) > 8:
            assert part not in answer.text


def test_a_valid_token_finds_the_user_by_object_id(linked: Service, idp: IdentityProvider) -> None:
    user_id = make_user(linked, "anna@acme.test", directory_object_id="oid-anna")
    # The object id wins even when the token's UPN names nobody (renamed in the directory).
    token = idp.token(DIR_A, oid="oid-anna", upn="anna.renamed@acme.test")
    me = _me(linked, token)
    assert me.status_code == 200, me.text
    body = me.json()
    assert body["user_id"] == user_id and body["method"] == "oidc"
    assert body["tenant_id"] == "tenant-a" and body["csrf_token"] is None
    assert token not in me.text


def test_es256_tokens_are_accepted_too(linked: Service, idp: IdentityProvider) -> None:
    user_id = make_user(linked, "anna@acme.test", directory_object_id="oid-anna")
    me = _me(linked, idp.token(DIR_A, oid="oid-anna", key="ec"))
    assert me.status_code == 200, me.text
    assert me.json()["user_id"] == user_id


def test_without_an_object_id_match_the_upn_is_the_fallback(
    linked: Service, idp: IdentityProvider
) -> None:
    user_id = make_user(linked, "bert@acme.test")
    by_name = _me(linked, idp.token(DIR_A, oid="oid-unknown", upn="BERT@acme.test"))
    assert by_name.status_code == 200, by_name.text
    assert by_name.json()["user_id"] == user_id
    no_oid = _me(linked, idp.token(DIR_A, upn="bert@acme.test"))
    assert no_oid.status_code == 200 and no_oid.json()["user_id"] == user_id


def test_the_upn_never_reaches_a_user_bound_to_another_object(
    linked: Service, idp: IdentityProvider
) -> None:
    """A UPN can be given to someone new; the bound object id is the identity."""
    make_user(linked, "anna@acme.test", directory_object_id="oid-anna", roles=TENANT_ADMIN)
    token = idp.token(DIR_A, oid="oid-newcomer", upn="anna@acme.test")
    _refused(_me(linked, token), token, "unknown_user")


def test_a_valid_token_for_nobody_here_is_unknown_user(
    linked: Service, idp: IdentityProvider
) -> None:
    token = idp.token(DIR_A, oid="oid-stranger", upn="stranger@acme.test")
    answer = _me(linked, token)
    _refused(answer, token, "unknown_user")


def test_a_disabled_user_is_refused(linked: Service, idp: IdentityProvider) -> None:
    make_user(linked, "anna@acme.test", directory_object_id="oid-anna", enabled=False)
    token = idp.token(DIR_A, oid="oid-anna")
    _refused(_me(linked, token), token, "unknown_user")


def _forged_hs256(idp: IdentityProvider, payload: dict[str, Any], secret: bytes) -> str:
    """An HS256 token made by hand: PyJWT itself refuses a PEM as an HMAC secret."""

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    header = {"alg": "HS256", "typ": "JWT", "kid": f"rsa-{DIR_A}"}
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(payload).encode())}"
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(signature)}"


def test_tokens_that_must_not_pass(linked: Service, idp: IdentityProvider) -> None:
    make_user(linked, "anna@acme.test", directory_object_id="oid-anna", roles=TENANT_ADMIN)
    now = int(time.time())
    valid = jwt.decode(idp.token(DIR_A, oid="oid-anna"), options={"verify_signature": False})
    public_pem = (
        idp.directories[DIR_A]
        .rsa.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    bad = {
        "wrong audience": idp.token(DIR_A, oid="oid-anna", aud="api://someone-else"),
        "expired": idp.token(DIR_A, oid="oid-anna", exp=now - 3600, iat=now - 7200),
        "not yet valid": idp.token(DIR_A, oid="oid-anna", nbf=now + 3600),
        "wrong issuer": idp.token(DIR_A, oid="oid-anna", iss="https://idp.example.org/a"),
        "unlinked directory": idp.token(DIR_C, oid="oid-anna"),
        "A's issuer, B's tid": idp.token(DIR_A, oid="oid-anna", tid=DIR_B),
        "B's issuer, signed by A": idp.token(DIR_B, oid="oid-anna", signer=idp.directories[DIR_A]),
        "HS256 keyed with the public key": _forged_hs256(idp, valid, public_pem),
        "HS256 with a guessed secret": jwt.encode(
            valid, "a-guessed-secret-of-thirty-two-bytes", "HS256", headers={"kid": f"rsa-{DIR_A}"}
        ),
        "alg none": jwt.encode(valid, "", "none", headers={"kid": f"rsa-{DIR_A}"}),
        "unknown kid": idp.token(DIR_A, oid="oid-anna", headers={"kid": "rotated-away"}),
        "no tid": idp.token(DIR_A, oid="oid-anna", tid=None),
        "tampered claims": _tamper(idp.token(DIR_A, oid="oid-other"), oid="oid-anna"),
    }
    assert _me(linked, idp.token(DIR_A, oid="oid-anna")).status_code == 200  # the baseline
    for case, token in bad.items():
        answer = _me(linked, token)
        assert answer.status_code == 401, (case, answer.text)
        _refused(answer, token)
        writes = linked.client.post(
            "/api/v1/services",
            json={"name": "X", "upn": "x@acme.test", "user_assignment_type": "teams_based"},
            headers=_bearer(token),
        )
        assert writes.status_code == 401, (case, writes.text)


def _tamper(token: str, **changes: Any) -> str:
    """Swap the payload of a validly signed token, keeping its signature."""
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims.update(changes)
    encoded = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{header}.{encoded}.{signature}"


def test_a_directory_tenants_token_never_reaches_another_tenant(
    linked: Service, idp: IdentityProvider
) -> None:
    make_user(linked, "anna@acme.test", directory_object_id="oid-anna", roles=TENANT_ADMIN)
    # The same person (same object id) exists in tenant-b as well, as its admin.
    make_user(
        linked,
        "anna@beta.test",
        key=linked.key_b,
        directory_object_id="oid-anna",
        roles=TENANT_ADMIN,
    )
    theirs = linked.client.post(
        "/api/v1/services",
        json={"name": "Beta", "upn": "beta@beta.test", "user_assignment_type": "teams_based"},
        headers=linked.auth(linked.key_b),
    )
    assert theirs.status_code == 201
    their_id = theirs.json()["id"]

    token_a = idp.token(DIR_A, oid="oid-anna")
    assert _me(linked, token_a).json()["tenant_id"] == "tenant-a"
    listed = linked.client.get("/api/v1/services", headers=_bearer(token_a))
    assert listed.status_code == 200 and listed.json()["items"] == []
    direct = linked.client.get(f"/api/v1/services/{their_id}", headers=_bearer(token_a))
    assert direct.status_code == 404
    changed = linked.client.delete(f"/api/v1/services/{their_id}", headers=_bearer(token_a))
    assert changed.status_code == 404
    still = linked.client.get(f"/api/v1/services/{their_id}", headers=linked.auth(linked.key_b))
    assert still.status_code == 200

    # A token whose claims say directory B but which A's keys signed gets nowhere either.
    crossed = idp.token(DIR_B, oid="oid-anna", signer=idp.directories[DIR_A])
    _refused(linked.client.get("/api/v1/services", headers=_bearer(crossed)), crossed)
    token_b = idp.token(DIR_B, oid="oid-anna")
    assert _me(linked, token_b).json()["tenant_id"] == "tenant-b"


def test_rights_come_from_roles_not_from_token_claims(
    linked: Service, idp: IdentityProvider
) -> None:
    make_user(linked, "bert@acme.test", directory_object_id="oid-bert")
    token = idp.token(
        DIR_A, oid="oid-bert", roles=["tenant_admin"], groups=["admins"], scp="config:write"
    )
    me = _me(linked, token)
    assert me.status_code == 200 and me.json()["roles"] == []
    refused = linked.client.post(
        "/api/v1/services",
        json={"name": "X", "upn": "x@acme.test", "user_assignment_type": "teams_based"},
        headers=_bearer(token),
    )
    assert refused.status_code == 403


def test_bearer_requests_need_no_csrf_token(linked: Service, idp: IdentityProvider) -> None:
    make_user(linked, "anna@acme.test", directory_object_id="oid-anna", roles=TENANT_ADMIN)
    created = linked.client.post(
        "/api/v1/services",
        json={"name": "X", "upn": "x@acme.test", "user_assignment_type": "teams_based"},
        headers={**_bearer(idp.token(DIR_A, oid="oid-anna")), "Origin": "https://elsewhere.test"},
    )
    assert created.status_code == 201, created.text


def test_keys_are_fetched_once_and_then_cached(linked: Service, idp: IdentityProvider) -> None:
    make_user(linked, "anna@acme.test", directory_object_id="oid-anna")
    before = len(idp.fetches)
    for _ in range(3):
        assert _me(linked, idp.token(DIR_A, oid="oid-anna")).status_code == 200
    assert idp.fetches[before:] == [f"/{DIR_A}/discovery/v2.0/keys"]


def test_without_an_audience_bearer_tokens_are_not_accepted(
    linked: Service, idp: IdentityProvider
) -> None:
    make_user(linked, "anna@acme.test", directory_object_id="oid-anna")
    linked.settings.oidc_audiences = ()
    oidc_auth.reload(linked.tenancy)
    token = idp.token(DIR_A, oid="oid-anna")
    _refused(_me(linked, token), token, "oidc_not_configured")


def test_a_newly_linked_directory_works_after_reload(
    linked: Service, idp: IdentityProvider
) -> None:
    make_user(linked, "anna@acme.test", directory_object_id="oid-anna")
    token = idp.token(DIR_C, oid="oid-anna")
    _refused(_me(linked, token), token)
    assert linked.tenancy.tenants.set_directory_tenant_id("tenant-a", DIR_C)
    oidc_auth.reload(linked.tenancy)
    assert _me(linked, token).status_code == 200
    old = idp.token(DIR_A, oid="oid-anna")
    _refused(_me(linked, old), old)  # A is no longer linked to anyone


def test_an_empty_or_odd_bearer_is_a_plain_401(linked: Service) -> None:
    # "Bearer " and then only what str.strip() removes (a server passes e.g. NBSP, the test
    # client a vertical tab): an empty credential, not a missing one, and never a 500.
    for value in ("Bearer \t\x0b", "Bearer a.b.c", "Bearer ...", "Bearer sbk_x.y.z"):
        answer = linked.client.get("/api/v1/auth/me", headers={"Authorization": value})
        assert answer.status_code == 401, (value, answer.text)


def test_unreachable_keys_are_the_services_problem_not_the_callers(
    linked: Service, idp: IdentityProvider
) -> None:
    """A directory whose key set cannot be fetched: 503 to retry, not a 401 to sign in again."""
    lost = "dddddddd-0000-4000-8000-00000000000d"  # the local IdP serves no keys for it
    make_user(linked, "anna@acme.test", directory_object_id="oid-anna")
    assert linked.tenancy.tenants.set_directory_tenant_id("tenant-a", lost)
    oidc_auth.reload(linked.tenancy)
    token = idp.token(lost, oid="oid-anna", signer=idp.directories[DIR_A])
    answer = _me(linked, token)
    assert answer.status_code == 503, answer.text
    assert answer.json()["code"] == "identity_provider_unavailable"
    assert int(answer.headers["retry-after"]) > 0
    assert token not in answer.text
