"""Verified keys are trusted for a short while; revocation takes effect when that ends."""

from __future__ import annotations

from api_harness import Service, service

from switchboard.api.security.api_keys import parse_api_key
from switchboard.store.repositories import ApiKeyRepository

__all__ = ["service"]


def test_a_revoked_key_stops_working_once_its_cached_trust_expires(service: Service) -> None:
    headers = service.auth()
    assert service.client.get("/api/v1/services", headers=headers).status_code == 200
    parsed = parse_api_key(service.key_a)
    assert parsed is not None
    assert ApiKeyRepository(service.tenancy.db, "tenant-a").revoke(parsed[0])
    # Still trusted from the cache (at most AUTH_CACHE_S) ...
    assert service.client.get("/api/v1/services", headers=headers).status_code == 200
    for digest, (principal, _until) in list(service.tenancy.auth_cache.items()):
        service.tenancy.auth_cache[digest] = (principal, 0.0)  # ... until the trust runs out
    refused = service.client.get("/api/v1/services", headers=headers)
    assert refused.status_code == 401 and refused.json()["code"] == "invalid_credentials"


def test_the_cache_holds_no_key_in_clear(service: Service) -> None:
    service.client.get("/api/v1/services", headers=service.auth())
    assert service.tenancy.auth_cache
    assert all(service.key_a not in digest for digest in service.tenancy.auth_cache)
    wrong = service.client.get("/api/v1/services", headers={"X-API-Key": service.key_a + "x"})
    assert wrong.status_code == 401  # refusals are not cached as successes
