"""Verification of OIDC bearer tokens (Entra ID and other identity providers).

Spec 10 §1.1 (A1-A4). The HTTP layer passes the text after ``Authorization: Bearer`` to
:meth:`OidcVerifier.verify` and gets back either the few claims it needs to find the tenant and
user, or a :class:`TokenRejected` whose ``reason_code`` it can log and map to a 401.

What this module decides, and why:

* **Algorithms are an allow-list of asymmetric ones** (RS256/384/512, PS256, ES256). ``none``
  would accept unsigned tokens, and HS* would let anyone who knows the *public* key forge
  tokens by using it as an HMAC secret - the classic algorithm-confusion attack. The key's type
  must also fit the algorithm, and a key that declares its ``alg`` is only used with that one.
* **The key is chosen by issuer first, then by ``kid``.** The unverified ``iss`` only selects
  which configured JWKS to look in; a token naming an unconfigured issuer is refused before any
  network traffic, and after the signature check ``iss`` is verified again. So a token signed by
  issuer A's keys can never be accepted as issuer B.
* **Keys are cached (24 h) and refreshed on demand.** Identity providers rotate keys and
  announce new ones in the JWKS, so a ``kid`` we have not seen triggers one refresh. Anyone can
  send tokens with random ``kid`` values, though, so such refreshes are limited to one per
  minute per issuer; in between, unknown keys are refused without a request to the IdP.
* **Time claims get 60 s of leeway** for clock skew between the IdP and this server.
* **Rights are not read from the token** (A5). The verifier only returns identity claims; the
  caller maps ``tid`` to a tenant, ``oid``/``preferred_username`` to a user, and must also check
  that ``iss`` is one of *that tenant's* issuers.

``verify`` may fetch a JWKS over the network (with a timeout) on a cache miss, so async code
should call it from a worker thread. It is safe to share one verifier between threads.
"""

from __future__ import annotations

import ipaddress
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Final, Literal
from urllib.parse import urlsplit

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa

__all__ = [
    "ALLOWED_ALGORITHMS",
    "JWKS_CACHE_SECONDS",
    "JWKS_FETCH_TIMEOUT_SECONDS",
    "JWKS_RETRY_AFTER_FAILURE_SECONDS",
    "LEEWAY_SECONDS",
    "MAX_TOKEN_CHARS",
    "UNKNOWN_KID_REFRESH_SECONDS",
    "Claims",
    "JwksUnavailable",
    "OidcVerifier",
    "RejectReason",
    "TokenRejected",
]

ALLOWED_ALGORITHMS: Final = frozenset({"RS256", "RS384", "RS512", "PS256", "ES256"})
LEEWAY_SECONDS: Final = 60.0
JWKS_CACHE_SECONDS: Final = 24 * 3600.0
UNKNOWN_KID_REFRESH_SECONDS: Final = 60.0
JWKS_RETRY_AFTER_FAILURE_SECONDS: Final = 10.0
JWKS_FETCH_TIMEOUT_SECONDS: Final = 10.0
# Far above any real token (Entra access tokens with many groups stay well below 8 KiB) and
# equal to the header limit of spec 10 IN1; refusing early avoids parsing attacker megabytes.
MAX_TOKEN_CHARS: Final = 16 * 1024

RejectReason = Literal[
    "malformed",
    "bad_algorithm",
    "unknown_issuer",
    "bad_audience",
    "expired",
    "not_yet_valid",
    "bad_signature",
    "unknown_key",
    "missing_claim",
    "jwks_unavailable",
]


class TokenRejected(Exception):
    """The token cannot be used to authenticate; ``reason_code`` says why.

    ``reason_code`` is a stable machine-readable value (see :data:`RejectReason`) for logs,
    metrics and tests. ``message`` is a short English explanation for logs. Neither ever
    contains the token itself, but both may name header fields such as ``kid`` or ``alg``, so
    neither is meant for the client: the HTTP answer should be a plain 401.
    """

    def __init__(self, reason_code: RejectReason, message: str) -> None:
        super().__init__(reason_code, message)
        self.reason_code: RejectReason = reason_code
        self.message = message

    def __str__(self) -> str:
        return f"{self.reason_code}: {self.message}"


class JwksUnavailable(TokenRejected):
    """The issuer's key set could not be fetched or contained no usable signing keys.

    A subclass of :class:`TokenRejected` so that a handler that only knows the base class still
    refuses the request, which is the safe default. A handler that cares can tell this apart:
    it is our (or the IdP's) problem rather than the client's, so a 503 is the honest answer.
    """

    def __init__(self, message: str) -> None:
        super().__init__("jwks_unavailable", message)


@dataclass(frozen=True)
class Claims:
    """The identity claims of a verified token.

    ``oid`` and ``preferred_username`` are each optional, but at least one is present (A4
    selects the user by ``oid`` and falls back to the UPN). ``groups`` is ``None`` when the
    token has no ``groups`` claim - Entra leaves it out when a user is in too many groups - so
    the caller knows it has to ask the directory instead (A5); an empty tuple means "in no
    groups". ``raw`` holds every claim, read-only, for anything else a caller needs; it is left
    out of ``repr`` to keep personal data out of accidental log lines.
    """

    iss: str
    tid: str
    oid: str | None
    preferred_username: str | None
    groups: tuple[str, ...] | None
    raw: Mapping[str, Any] = field(repr=False, compare=False)


def _shorten(value: object) -> str:
    """Quote an attacker-controlled value for a message without letting it grow the log."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _check_jwks_url(issuer: str, url: str) -> None:
    """Require TLS for key sets, except on loopback (local IdPs in development and tests).

    Whoever can alter the JWKS response can mint tokens for every user, so a plain-HTTP URL to
    a remote host would be a configuration mistake with drastic consequences.
    """
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme == "https" and host:
        return
    if parts.scheme == "http" and host:
        try:
            loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = False
        if loopback:
            return
    raise ValueError(f"JWKS URL for issuer {issuer!r} must be https (http only on loopback)")


def _string_list(value: Sequence[str], what: str) -> tuple[str, ...]:
    if isinstance(value, str):
        raise TypeError(f"{what} must be a sequence of strings, not a single string")
    items = tuple(value)
    if not items or not all(isinstance(item, str) and item for item in items):
        raise ValueError(f"{what} must be a non-empty sequence of non-empty strings")
    return items


class _IssuerKeys:
    """The signing keys of one issuer: a cached JWKS plus the limits on refetching it.

    ``PyJWKClient`` does the fetching and parsing and caches the key set for ``cache_seconds``.
    Its own per-key LRU cache stays off: it never expires, so a key the IdP has withdrawn (for
    instance after a compromise) would stay trusted until the process restarts. Its built-in
    refresh cooldown is off too, because it also counts the initial download; here only
    refreshes caused by unknown ``kid`` values are limited, so a rotation that happens soon
    after start-up is still picked up at once.

    Two more rules keep an IdP outage from turning into a Switchboard outage: after a failed
    fetch no new attempt is made for ``retry_after_failure`` seconds (otherwise every request
    would wait for the fetch timeout in turn), and meanwhile the last key set that was fetched
    successfully stays in use. Only when there has never been a good key set do callers get
    :class:`JwksUnavailable`.
    """

    def __init__(
        self,
        url: str,
        *,
        cache_seconds: float,
        refresh_interval: float,
        retry_after_failure: float,
        timeout: float,
        clock: Callable[[], float],
    ) -> None:
        self._client = jwt.PyJWKClient(
            url,
            cache_keys=False,
            cache_jwk_set=True,
            lifespan=cache_seconds,
            timeout=timeout,
            cooldown_duration=0,
        )
        self._refresh_interval = refresh_interval
        self._retry_after_failure = retry_after_failure
        self._clock = clock
        self._lock = threading.Lock()
        self._last_unknown_kid_fetch: float | None = None
        self._last_failure: float | None = None
        self._last_good: list[jwt.PyJWK] | None = None

    def _cache_is_fresh(self) -> bool:
        cache = self._client.jwk_set_cache
        return cache is not None and cache.get() is not None

    def _keys(self, *, refresh: bool) -> list[jwt.PyJWK]:
        """The current signing keys; fetches when asked to or when the cache has expired."""
        if not refresh and self._cache_is_fresh():
            try:
                return self._client.get_signing_keys()
            except jwt.PyJWTError:
                pass  # a cached set without usable signing keys: treat it like a stale one
        now = self._clock()
        if self._last_failure is not None and now - self._last_failure < self._retry_after_failure:
            return self._fallback("the last attempt to load signing keys failed")
        try:
            keys = self._client.get_signing_keys(refresh=True)
        except (jwt.PyJWTError, ValueError, OSError) as error:
            # Connection failures, non-JSON answers and key sets without usable signing keys
            # all mean the same here: no new keys this time.
            self._last_failure = now
            return self._fallback(f"cannot load signing keys: {type(error).__name__}")
        self._last_failure = None
        self._last_good = keys
        return keys

    def _fallback(self, reason: str) -> list[jwt.PyJWK]:
        if self._last_good is None:
            raise JwksUnavailable(reason)
        return self._last_good

    @staticmethod
    def _match(keys: list[jwt.PyJWK], kid: str) -> jwt.PyJWK | None:
        return next((key for key in keys if key.key_id == kid), None)

    def signing_key(self, kid: str) -> jwt.PyJWK:
        with self._lock:
            about_to_fetch = not self._cache_is_fresh()
            key = self._match(self._keys(refresh=False), kid)
            if key is not None:
                return key
            now = self._clock()
            if about_to_fetch:
                # The set was (re)loaded just now; refreshing again could not show anything
                # newer, but it counts as this minute's refresh.
                self._last_unknown_kid_fetch = now
            elif (
                self._last_unknown_kid_fetch is None
                or now - self._last_unknown_kid_fetch >= self._refresh_interval
            ):
                self._last_unknown_kid_fetch = now
                key = self._match(self._keys(refresh=True), kid)
                if key is not None:
                    return key
            raise TokenRejected("unknown_key", f"no signing key with kid {_shorten(kid)}")


def _public_key_for(jwk: jwt.PyJWK, alg: str) -> Any:
    """Return the key object to verify *alg* with, refusing a key of the wrong kind.

    PyJWT binds a JWK without an ``alg`` member to a default algorithm (RS256 for any RSA key),
    which would refuse RS384/RS512/PS256 tokens signed with that very key; so the raw public
    key is used with the token's algorithm, after checking that the two fit together.
    """
    # PyJWK keeps the JWK's members only in a private attribute; read it defensively so a
    # future PyJWT that renames it degrades to "no declared alg" instead of failing.
    jwk_data: Mapping[str, Any] = getattr(jwk, "_jwk_data", {})
    declared_alg = jwk_data.get("alg")
    if declared_alg is not None and declared_alg != alg:
        raise TokenRejected(
            "bad_algorithm",
            f"token uses {alg} but key {_shorten(jwk.key_id)} is for {_shorten(declared_alg)}",
        )
    key = jwk.key
    if alg.startswith(("RS", "PS")):
        fits = isinstance(key, rsa.RSAPublicKey)
    else:  # ES256, the only other allowed algorithm
        fits = isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP256R1)
    if not fits:
        raise TokenRejected(
            "bad_algorithm", f"key {_shorten(jwk.key_id)} is not a public key for {alg}"
        )
    return key


def _optional_string_claim(payload: Mapping[str, Any], name: str) -> str | None:
    value = payload.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise TokenRejected("malformed", f"claim {name!r} is not a string")
    return value


class OidcVerifier:
    """Verifies bearer JWTs from a fixed set of issuers for a fixed set of audiences.

    ``issuers`` are the exact ``iss`` values to accept (for Entra v2
    ``https://login.microsoftonline.com/{tid}/v2.0``, v1 ``https://sts.windows.net/{tid}/``);
    ``audiences`` are Switchboard's application id and/or Application ID URI; ``jwks_urls``
    gives each issuer's key-set URL (for Entra
    ``https://login.microsoftonline.com/{tid}/discovery/v2.0/keys``). Every issuer needs a
    URL, and a URL for an issuer that is not configured is treated as a configuration mistake.

    The keyword arguments exist for tests and unusual deployments. ``clock`` (monotonic
    seconds) drives the unknown-``kid`` refresh limit and the back-off after a failed fetch;
    the 24 h cache lifetime is timed by ``PyJWKClient`` itself.
    """

    def __init__(
        self,
        issuers: Sequence[str],
        audiences: Sequence[str],
        jwks_urls: Mapping[str, str],
        *,
        leeway: float = LEEWAY_SECONDS,
        jwks_cache_seconds: float = JWKS_CACHE_SECONDS,
        unknown_kid_refresh_seconds: float = UNKNOWN_KID_REFRESH_SECONDS,
        jwks_retry_after_failure_seconds: float = JWKS_RETRY_AFTER_FAILURE_SECONDS,
        fetch_timeout: float = JWKS_FETCH_TIMEOUT_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        issuer_list = _string_list(issuers, "issuers")
        self._audiences: list[str] = list(_string_list(audiences, "audiences"))
        missing = [iss for iss in issuer_list if iss not in jwks_urls]
        extra = [iss for iss in jwks_urls if iss not in issuer_list]
        if missing or extra:
            raise ValueError(
                f"jwks_urls must name exactly the configured issuers "
                f"(missing: {missing}, not configured: {extra})"
            )
        self._leeway = leeway
        self._keys: dict[str, _IssuerKeys] = {}
        for issuer in issuer_list:
            _check_jwks_url(issuer, jwks_urls[issuer])
            self._keys[issuer] = _IssuerKeys(
                jwks_urls[issuer],
                cache_seconds=jwks_cache_seconds,
                refresh_interval=unknown_kid_refresh_seconds,
                retry_after_failure=jwks_retry_after_failure_seconds,
                timeout=fetch_timeout,
                clock=clock,
            )

    @property
    def issuers(self) -> tuple[str, ...]:
        return tuple(self._keys)

    def verify(self, token: str) -> Claims:
        """Verify *token* and return its identity claims, or raise :class:`TokenRejected`.

        Checks, in order: shape, algorithm, issuer, signing key, signature, then ``exp``,
        ``nbf``, ``iat`` (60 s leeway), ``iss`` and ``aud``, and finally the presence of
        ``tid`` and of ``oid`` or ``preferred_username``. The signature is checked before any
        claim is trusted, so an expired token with a forged signature is reported as
        ``bad_signature``, not ``expired``.
        """
        header, unverified = self._parse_unverified(token)

        alg = header.get("alg")
        if not isinstance(alg, str) or alg not in ALLOWED_ALGORITHMS:
            raise TokenRejected("bad_algorithm", f"algorithm {_shorten(alg)} is not accepted")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise TokenRejected("malformed", "token header has no key id (kid)")

        issuer = unverified.get("iss")
        if issuer is None:
            raise TokenRejected("missing_claim", "claim 'iss' is missing")
        if not isinstance(issuer, str):
            raise TokenRejected("malformed", "claim 'iss' is not a string")
        issuer_keys = self._keys.get(issuer)
        if issuer_keys is None:
            raise TokenRejected("unknown_issuer", f"issuer {_shorten(issuer)} is not configured")

        public_key = _public_key_for(issuer_keys.signing_key(kid), alg)
        payload = self._decode(token, public_key, issuer)
        return self._claims(issuer, payload)

    @staticmethod
    def _parse_unverified(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """Read header and claims without trusting them, only to pick issuer and key."""
        if not isinstance(token, str) or not token:
            raise TokenRejected("malformed", "token is empty or not text")
        if len(token) > MAX_TOKEN_CHARS:
            raise TokenRejected("malformed", "token is too long")
        if token.count(".") != 2:
            raise TokenRejected("malformed", "token is not a signed JWT (three segments)")
        try:
            header = jwt.get_unverified_header(token)
            payload = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError as error:
            raise TokenRejected("malformed", f"cannot decode token: {error}") from error
        if not isinstance(payload, dict):
            raise TokenRejected("malformed", "token payload is not a JSON object")
        return header, payload

    def _decode(self, token: str, public_key: Any, issuer: str) -> dict[str, Any]:
        try:
            payload = jwt.decode(
                token,
                key=public_key,
                algorithms=sorted(ALLOWED_ALGORITHMS),
                audience=self._audiences,
                issuer=issuer,
                leeway=self._leeway,
                options={"require": ["exp", "iss", "aud"], "enforce_minimum_key_length": True},
            )
        except jwt.InvalidSignatureError as error:
            raise TokenRejected("bad_signature", "signature verification failed") from error
        except jwt.ExpiredSignatureError as error:
            raise TokenRejected("expired", "token has expired") from error
        except jwt.ImmatureSignatureError as error:
            raise TokenRejected("not_yet_valid", str(error)) from error
        except jwt.InvalidAudienceError as error:
            raise TokenRejected("bad_audience", "audience is not this application") from error
        except jwt.InvalidIssuerError as error:
            raise TokenRejected("unknown_issuer", str(error)) from error
        except jwt.MissingRequiredClaimError as error:
            raise TokenRejected("missing_claim", f"claim {error.claim!r} is missing") from error
        except jwt.InvalidAlgorithmError as error:
            raise TokenRejected("bad_algorithm", str(error)) from error
        except jwt.InvalidKeyError as error:
            raise TokenRejected("unknown_key", f"signing key is unusable: {error}") from error
        except jwt.PyJWTError as error:
            raise TokenRejected("malformed", str(error)) from error
        if not isinstance(payload, dict):
            raise TokenRejected("malformed", "token payload is not a JSON object")
        return payload

    @staticmethod
    def _claims(issuer: str, payload: dict[str, Any]) -> Claims:
        tid = _optional_string_claim(payload, "tid")
        if tid is None:
            raise TokenRejected("missing_claim", "claim 'tid' is missing")
        oid = _optional_string_claim(payload, "oid")
        username = _optional_string_claim(payload, "preferred_username")
        if oid is None and username is None:
            raise TokenRejected("missing_claim", "neither 'oid' nor 'preferred_username' is set")
        raw_groups = payload.get("groups")
        groups: tuple[str, ...] | None = None
        if raw_groups is not None:
            if not isinstance(raw_groups, list) or not all(
                isinstance(group, str) for group in raw_groups
            ):
                raise TokenRejected("malformed", "claim 'groups' is not a list of strings")
            groups = tuple(raw_groups)
        return Claims(
            iss=issuer,
            tid=tid,
            oid=oid,
            preferred_username=username,
            groups=groups,
            raw=MappingProxyType(payload),
        )
