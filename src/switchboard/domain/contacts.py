"""Contacts of an address book (01 §11): their fields, limits and checks.

Pure like the rest of the domain. A contact is checked on its own — every field
against the table of 01 §11, all problems at once, each naming its path in the
request body (`addresses[0].street`, `custom_fields[2].name`). Whether its
`external_id` is free in the book, and whether the book is full, are questions
for whoever stores contacts (`switchboard.store.contacts`), because the engine
does not hold them: a book may have 100 000.

Phone numbers are not parsed here: E.164 normalisation needs `phonenumbers`,
which the API layer uses (`switchboard.api.phones`); this module only checks
what any phone value must satisfy (text, at most 32 characters).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from switchboard.domain.validation import Issue

__all__ = [
    "MAX_CONTACTS_PER_BOOK",
    "PHONE_FIELDS",
    "Contact",
    "ContactField",
    "PostalAddress",
    "validate_contact",
]

#: 01 §12: contacts per address book (decision).
MAX_CONTACTS_PER_BOOK: Final = 100_000

#: The contact's phone lists, each normalised to E.164 where it parses.
PHONE_FIELDS: Final = ("business_phones", "mobile_phones", "home_phones")

#: Text fields of a contact and their maximum length (01 §11).
_TEXT_LIMITS: Final = {
    "first_name": 64,
    "last_name": 64,
    "display_name": 256,
    "initials": 16,
    "company": 64,
    "department": 64,
    "job_title": 128,
    "user_principal_name": 128,
}
#: List fields of text: (most items, longest item).
_LIST_LIMITS: Final = {
    "im_addresses": (10, 128),
    "email_addresses": (10, 128),
    "business_phones": (10, 32),
    "mobile_phones": (10, 32),
    "home_phones": (10, 32),
}
_ADDRESS_LIMITS: Final = {
    "street": 1024,
    "city": 128,
    "state": 128,
    "country": 128,
    "postal_code": 40,
}
MAX_ADDRESSES: Final = 10
MAX_CUSTOM_FIELDS: Final = 20


@dataclass(frozen=True, slots=True)
class PostalAddress:
    street: str | None = None
    city: str | None = None
    state: str | None = None
    country: str | None = None
    postal_code: str | None = None


@dataclass(frozen=True, slots=True)
class ContactField:
    """A custom field: `name` unique within the contact."""

    name: str
    value: str = ""


@dataclass(frozen=True, slots=True)
class Contact:
    """One entry of an address book, identified in it by `external_id`."""

    external_id: str
    first_name: str | None = None
    last_name: str | None = None
    display_name: str | None = None
    initials: str | None = None
    company: str | None = None
    department: str | None = None
    job_title: str | None = None
    user_principal_name: str | None = None
    im_addresses: tuple[str, ...] = ()
    email_addresses: tuple[str, ...] = ()
    business_phones: tuple[str, ...] = ()
    mobile_phones: tuple[str, ...] = ()
    home_phones: tuple[str, ...] = ()
    addresses: tuple[PostalAddress, ...] = ()
    custom_fields: tuple[ContactField, ...] = ()


def validate_contact(contact: Contact) -> tuple[Contact, list[Issue]]:
    """The contact with its text trimmed (blank optional text becomes None), and every
    problem found; the contact is only meaningful when there are none."""
    issues: list[Issue] = []
    external_id = _text(issues, "external_id", contact.external_id, 128, required=True)
    changes: dict[str, object] = {"external_id": external_id or ""}
    for name, limit in _TEXT_LIMITS.items():
        changes[name] = _text(issues, name, getattr(contact, name), limit)
    for name, (most, longest) in _LIST_LIMITS.items():
        changes[name] = _texts(issues, name, getattr(contact, name), most, longest)
    changes["addresses"] = _addresses(issues, contact.addresses)
    changes["custom_fields"] = _custom_fields(issues, contact.custom_fields)
    return dataclasses.replace(contact, **changes), issues  # type: ignore[arg-type]


def _text(
    issues: list[Issue], path: str, value: str | None, limit: int, *, required: bool = False
) -> str | None:
    name = path.rsplit(".", 1)[-1].split("[", 1)[0]
    text = value.strip() if value is not None else ""
    if not text:
        if required:
            issues.append(
                Issue("required", path, f"{name} is required; expected 1 to {limit} characters.")
            )
        return None
    if len(text) > limit:
        issues.append(
            Issue(
                "too_long",
                path,
                f"{name} must be at most {limit} characters; got {len(text)}.",
            )
        )
    return text


def _too_many(issues: list[Issue], path: str, count: int, most: int) -> None:
    if count > most:
        issues.append(
            Issue("limit_exceeded", path, f"{path} holds at most {most} items; got {count}.")
        )


def _texts(
    issues: list[Issue], path: str, values: Sequence[str], most: int, longest: int
) -> tuple[str, ...]:
    _too_many(issues, path, len(values), most)
    kept: list[str] = []
    for index, value in enumerate(values):
        text = _text(issues, f"{path}[{index}]", value, longest, required=True)
        kept.append(text or "")
    return tuple(kept)


def _addresses(
    issues: list[Issue], addresses: Sequence[PostalAddress]
) -> tuple[PostalAddress, ...]:
    _too_many(issues, "addresses", len(addresses), MAX_ADDRESSES)
    kept = []
    for index, address in enumerate(addresses):
        parts = {
            name: _text(issues, f"addresses[{index}].{name}", getattr(address, name), limit)
            for name, limit in _ADDRESS_LIMITS.items()
        }
        kept.append(PostalAddress(**parts))
    return tuple(kept)


def _custom_fields(
    issues: list[Issue], custom_fields: Sequence[ContactField]
) -> tuple[ContactField, ...]:
    _too_many(issues, "custom_fields", len(custom_fields), MAX_CUSTOM_FIELDS)
    kept = []
    seen: set[str] = set()
    for index, item in enumerate(custom_fields):
        path = f"custom_fields[{index}]"
        name = _text(issues, f"{path}.name", item.name, 64, required=True)
        value = _text(issues, f"{path}.value", item.value, 1024) or ""
        if name is not None and name in seen:
            issues.append(
                Issue(
                    "not_unique",
                    f"{path}.name",
                    f"name must be unique within the contact; {name!r} is used twice.",
                )
            )
        if name is not None:
            seen.add(name)
        kept.append(ContactField(name or "", value))
    return tuple(kept)
