"""What system and partner administrators see of a tenant's people and customers (10 PV2).

A tenant decides with two settings (01 §10, changed only by its tenant admins,
PV1) whether the administrators above it see identifiers:
`partner_may_see_user_identifiers` and `partner_may_see_customer_identifiers`.
While one is off, every answer to a system or partner admin shows `***` instead:

* user identifiers — a user's display name, UPN, e-mail and directory object id
  (users have no phone field yet); in user records on REST and in the user
  records that `config.upserted` events carry on the live stream;
* customer identifiers — a task's `caller` (number or UPN) and
  `customer_identifier`; in task answers on REST and in every event on the live
  stream that carries them (`task.created` among others); and the contact data
  of address books (names, UPN, e-mail and IM addresses, phone numbers, postal
  addresses: `CONTACT_FIELDS`), element by element, so a list keeps its length.

Ids stay as they are (decision): an administrator who may manage users must be
able to name them, and ids carry nothing about the person. Reporting's stable
pseudonyms (08 PM3) are reporting's. A value that is absent (null) stays null:
masking hides what a value is, not whether there is one.

Writing back what one read: a user record or contact sent by a masked principal
with a masked field exactly as it was shown keeps the stored value of that field
(`keep_masked`, `keep_masked_contact`), so a read-modify-write round trip cannot
overwrite a name it never saw.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from switchboard.domain.access import Access
from switchboard.domain.config import Tenant, User
from switchboard.engine.events import Event

MASK = "***"
USER_FIELDS = ("display_name", "upn", "email", "directory_object_id")
CUSTOMER_FIELDS = ("caller", "customer_identifier")
CONTACT_FIELDS = (
    "first_name",
    "last_name",
    "display_name",
    "initials",
    "user_principal_name",
    "im_addresses",
    "email_addresses",
    "business_phones",
    "mobile_phones",
    "home_phones",
    "addresses",
    "e164",
)


@dataclass(frozen=True, slots=True)
class Masking:
    users: bool = False
    customers: bool = False

    @classmethod
    def of(cls, access: Access, tenant: Tenant) -> Masking:
        """What `access` may not see in `tenant` (nothing, unless it is SA or PA)."""
        if not access.is_system:
            return NOTHING
        settings = tenant.settings
        return cls(
            users=not settings.partner_may_see_user_identifiers,
            customers=not settings.partner_may_see_customer_identifiers,
        )

    @property
    def anything(self) -> bool:
        return self.users or self.customers

    def user_json(self, data: dict[str, Any]) -> dict[str, Any]:
        return _masked(data, USER_FIELDS) if self.users else data

    def task_json(self, data: dict[str, Any]) -> dict[str, Any]:
        return _masked(data, CUSTOMER_FIELDS) if self.customers else data

    def contact_json(self, data: dict[str, Any]) -> dict[str, Any]:
        if not self.customers:
            return data
        return {k: (_mask_value(v) if k in CONTACT_FIELDS else v) for k, v in data.items()}

    def keep_masked_contact(self, sent: dict[str, Any], stored: dict[str, Any]) -> dict[str, Any]:
        """`sent` (a contact as written) with every field that reads exactly as `stored`
        was shown masked back at its stored value."""
        if not self.customers:
            return sent
        return {
            k: (
                stored[k]
                if k in CONTACT_FIELDS
                and k in stored
                and v == _mask_value(stored[k])
                and v != stored[k]
                else v
            )
            for k, v in sent.items()
        }

    def keep_masked(self, sent: User, stored: User) -> User:
        """`sent` with every masked field that still reads `***` back at its stored value."""
        if not self.users:
            return sent
        kept = dataclasses.replace(sent)
        for name in USER_FIELDS:
            if getattr(sent, name) == MASK:
                setattr(kept, name, getattr(stored, name))
        return kept

    def event(self, event: Event) -> Event:
        """The event as this principal may see it (the same object if nothing is hidden)."""
        data = event.data
        changed: dict[str, Any] = {}
        if self.customers:
            changed.update(
                {
                    k: MASK
                    for k in CUSTOMER_FIELDS
                    if isinstance(data.get(k), str) and data.get(k) != MASK
                }
            )
        if self.users and data.get("type") == "user":
            entity = data.get("entity")
            if isinstance(entity, User):
                changed["entity"] = mask_user(entity)
        if not changed:
            return event
        return dataclasses.replace(event, data={**data, **changed})


NOTHING = Masking()


def mask_user(user: User) -> User:
    """A copy of `user` with its identifiers masked (absent ones stay absent)."""
    masked = dataclasses.replace(user)
    for name in USER_FIELDS:
        if getattr(user, name) is not None:
            setattr(masked, name, MASK)
    return masked


def _masked(data: dict[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    return {k: (MASK if k in fields and v is not None else v) for k, v in data.items()}


def _mask_value(value: Any) -> Any:
    """Every text inside `value` as `***`, its shape (lists, objects, nulls) kept."""
    if isinstance(value, str):
        return MASK
    if isinstance(value, list | tuple):
        return [_mask_value(v) for v in value]
    if isinstance(value, dict):
        return {k: _mask_value(v) for k, v in value.items()}
    return value
