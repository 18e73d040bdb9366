"""The recorded bytes of a tenant's audio resources (spec 01 §9), one repository per tenant.

The resource itself is configuration, journaled and held by the engine with the
facts of its content; the bytes, up to 10 MB, are too big for either and live
here, one row per resource. The caller checks that the resource exists and that
the principal may touch it; this repository only knows resource ids.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select, update

from switchboard.store.repositories import _TenantBound as TenantBound
from switchboard.store.repositories import _utc as utc
from switchboard.store.schema import audio_contents as table

__all__ = ["AudioContentRepository", "StoredAudio"]


@dataclass(frozen=True, slots=True)
class StoredAudio:
    audio_resource_id: str
    content_type: str
    sha256: str
    data: bytes
    uploaded_at: datetime


def _stored(row: Mapping[Any, Any]) -> StoredAudio:
    return StoredAudio(
        audio_resource_id=row["audio_resource_id"],
        content_type=row["content_type"],
        sha256=row["sha256"],
        data=bytes(row["data"]),
        uploaded_at=row["uploaded_at"],
    )


class AudioContentRepository(TenantBound):
    """Audio content of one tenant's resources."""

    def put(
        self,
        resource_id: str,
        data: bytes,
        content_type: str,
        *,
        now: datetime | None = None,
    ) -> StoredAudio:
        """Store (or replace) the resource's recording, in one transaction."""
        row = {
            "tenant_id": self.tenant_id,
            "audio_resource_id": resource_id,
            "content_type": content_type,
            "sha256": hashlib.sha256(data).hexdigest(),
            "data": data,
            "uploaded_at": utc(now),
        }
        with self._transaction(write=True) as connection:
            replaced = connection.execute(
                update(table).where(self._resource(resource_id)).values(row)
            ).rowcount
            if replaced == 0:
                connection.execute(insert(table).values(row))
        return _stored(row)

    def get(self, resource_id: str) -> StoredAudio | None:
        """The resource's recording, or None when none was uploaded."""
        with self._transaction() as connection:
            row = (
                connection.execute(select(table).where(self._resource(resource_id)))
                .mappings()
                .one_or_none()
            )
        return None if row is None else _stored(row)

    def remove(self, resource_id: str) -> bool:
        """Forget the resource's recording; whether there was one."""
        with self._transaction(write=True) as connection:
            removed = connection.execute(delete(table).where(self._resource(resource_id)))
            return bool(removed.rowcount)

    def _resource(self, resource_id: str) -> Any:
        return (table.c.tenant_id == self.tenant_id) & (table.c.audio_resource_id == resource_id)
