"""Issuing API keys: the secret is shown once and only its HMAC is stored (10 K1–K2)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from switchboard.api.security.api_keys import (
    generate_api_key,
    parse_api_key,
    secret_hmac,
    validate_scopes,
)
from switchboard.api.tenancy import Tenancy
from switchboard.domain.errors import DomainError
from switchboard.store.repositories import ApiKeyRepository

DEFAULT_LIFETIME = timedelta(days=365)


def issue_api_key(
    tenancy: Tenancy,
    tenant_id: str,
    *,
    name: str,
    scopes: Iterable[str],
    created_by: str,
    lifetime: timedelta = DEFAULT_LIFETIME,
    full_key: str | None = None,
    ou_id: str | None = None,
    service_ids: Iterable[str] | None = None,
) -> str:
    """Store a new key and return its full text (the only time it exists in clear).

    `full_key` lets an operator pin a known key (the demo tenant's
    `SWITCHBOARD_DEMO_API_KEY`); it must have the normal format.
    """
    scopes = list(scopes)
    unknown = validate_scopes(scopes)
    if unknown:
        raise DomainError(
            f"Unknown scopes: {', '.join(unknown)}.", code="invalid_format", field="scopes"
        )
    if full_key is None:
        full_key, key_id, secret = generate_api_key()
    else:
        parsed = parse_api_key(full_key)
        if parsed is None:
            raise DomainError(
                "The key must look like sbk_<12-character id>_<secret>.",
                code="invalid_format",
                field="api_key",
            )
        key_id, secret = parsed
    ApiKeyRepository(tenancy.db, tenant_id).insert(
        key_id,
        name=name,
        scopes=scopes,
        secret_hmac=secret_hmac(tenancy.settings.pepper(), secret),
        created_by=created_by,
        expires_at=datetime.now(UTC) + lifetime,
        ou_id=ou_id,
        service_ids=service_ids,
    )
    return full_key
