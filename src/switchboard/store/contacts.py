"""The contacts of a tenant's address books (spec 01 §11), one repository per tenant.

Address books are configuration and live in the engine; their contacts do not:
a tenant may hold hundreds of thousands, and no routing decision reads them
(docs/decisions.md, "Address-book contacts"). Each operation here is one
transaction, so a request changes all it names or nothing. The caller has
checked that the book exists and that the principal may touch it; this
repository only knows book ids.

`data` is the contact as the API shows it (a JSON object); the repository
keeps it as given and keys it by (book, `external_id`), which is also the
order pages come in.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select, update

from switchboard.store.repositories import RepositoryError, _refusals
from switchboard.store.repositories import _TenantBound as TenantBound
from switchboard.store.repositories import _utc as utc
from switchboard.store.schema import address_book_contacts as table

__all__ = ["BookFullError", "ContactRepository", "StoredContact"]


class BookFullError(RepositoryError):
    """Adding would take the book past its contact limit."""


@dataclass(frozen=True, slots=True)
class StoredContact:
    address_book_id: str
    external_id: str
    data: dict[str, Any]
    created_at: datetime
    updated_at: datetime


def _contact(row: Mapping[Any, Any]) -> StoredContact:
    return StoredContact(
        address_book_id=row["address_book_id"],
        external_id=row["external_id"],
        data=dict(row["data"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


class ContactRepository(TenantBound):
    """Contacts of one tenant's address books."""

    def add(
        self,
        book_id: str,
        external_id: str,
        data: Mapping[str, Any],
        *,
        limit: int,
        now: datetime | None = None,
    ) -> StoredContact:
        """Store a new contact; `AlreadyExistsError` if its external id is taken in the
        book, `BookFullError` if the book holds `limit` contacts already."""
        at = utc(now)
        row = {
            "tenant_id": self.tenant_id,
            "address_book_id": book_id,
            "external_id": external_id,
            "data": dict(data),
            "created_at": at,
            "updated_at": at,
        }
        with (
            _refusals(
                f"the address book already has a contact with external_id {external_id!r}",
                self._missing_tenant(),
            ),
            self._transaction(write=True) as connection,
        ):
            count = connection.execute(
                select(func.count()).select_from(table).where(self._book(book_id))
            ).scalar_one()
            if count >= limit:
                raise BookFullError(f"the address book holds {count} contacts; at most {limit}")
            connection.execute(insert(table).values(row))
        return _contact(row)

    def replace(
        self,
        book_id: str,
        external_id: str,
        data: Mapping[str, Any],
        *,
        now: datetime | None = None,
    ) -> StoredContact | None:
        """Replace an existing contact's data; None if the book has no such contact."""
        condition = self._book(book_id) & (table.c.external_id == external_id)
        with self._transaction(write=True) as connection:
            changed = connection.execute(
                update(table).where(condition).values(data=dict(data), updated_at=utc(now))
            ).rowcount
            if changed != 1:
                return None
            row = connection.execute(select(table).where(condition)).mappings().one()
        return _contact(row)

    def get(self, book_id: str, external_ids: Iterable[str]) -> list[StoredContact]:
        """The contacts with these external ids that exist, in external-id order."""
        wanted = sorted(set(external_ids))
        if not wanted:
            return []
        query = (
            select(table)
            .where(self._book(book_id), table.c.external_id.in_(wanted))
            .order_by(table.c.external_id)
        )
        with self._transaction() as connection:
            rows = connection.execute(query).mappings().all()
        return [_contact(row) for row in rows]

    def page(self, book_id: str, *, offset: int, limit: int) -> tuple[int, list[StoredContact]]:
        """How many contacts the book has, and `limit` of them from `offset` on."""
        query = (
            select(table)
            .where(self._book(book_id))
            .order_by(table.c.external_id)
            .offset(offset)
            .limit(limit)
        )
        with self._transaction() as connection:
            total = connection.execute(
                select(func.count()).select_from(table).where(self._book(book_id))
            ).scalar_one()
            rows = connection.execute(query).mappings().all()
        return total, [_contact(row) for row in rows]

    def delete(self, book_id: str, external_ids: Iterable[str]) -> list[str]:
        """Remove these contacts; the external ids that were there, sorted."""
        wanted = sorted(set(external_ids))
        if not wanted:
            return []
        condition = self._book(book_id) & table.c.external_id.in_(wanted)
        with self._transaction(write=True) as connection:
            found = connection.execute(
                select(table.c.external_id).where(condition).order_by(table.c.external_id)
            ).scalars()
            removed = list(found)
            connection.execute(delete(table).where(condition))
        return removed

    def clear(self, book_id: str) -> int:
        """Remove every contact of the book; how many there were."""
        with self._transaction(write=True) as connection:
            return connection.execute(delete(table).where(self._book(book_id))).rowcount

    def _book(self, book_id: str) -> Any:
        return (table.c.tenant_id == self.tenant_id) & (table.c.address_book_id == book_id)
