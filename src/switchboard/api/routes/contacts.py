"""The contacts of an address book (01 §11; 10 §2 row 12; key scope `addressbooks:write`).

Operations: add, update by `external_id`, get (a page, or by external ids),
delete by external ids, clear the book. The book is configuration and decides
who may do what: its OU scopes its contacts, so each request first looks the
book up on the tenant's writer (`Actor.allow`, 404 when invisible exactly as
when missing), then reads or writes the contacts in the store, off the event
loop. Contacts are not journaled (docs/decisions.md, "Address-book contacts").

Phone values are kept as given and normalised to E.164 where `phonenumbers`
can parse them; the normalised forms are shown beside the list they belong to,
in `e164`, at the same positions (null where a value did not parse).
"""

# No `from __future__ import annotations`: FastAPI reads the models below at runtime.

import asyncio
import dataclasses
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import Field

from switchboard.api.json_body import JsonRoute
from switchboard.api.masking import Masking
from switchboard.api.permissions import READ, WRITE, Actor, config_target, require
from switchboard.api.phones import to_e164
from switchboard.api.problems import RESPONSES, ApiProblem
from switchboard.api.schemas import Input, Page
from switchboard.api.tenancy import tenancy_of
from switchboard.domain.access import Capability
from switchboard.domain.contacts import (
    MAX_CONTACTS_PER_BOOK,
    PHONE_FIELDS,
    Contact,
    ContactField,
    PostalAddress,
    validate_contact,
)
from switchboard.domain.validation import ValidationFailed
from switchboard.engine.engine import Engine
from switchboard.store.contacts import BookFullError, ContactRepository, StoredContact
from switchboard.store.repositories import AlreadyExistsError

router = APIRouter(
    prefix="/api/v1/address-books/{entity_id}/contacts",
    responses=RESPONSES,
    tags=["Address books"],
    route_class=JsonRoute,
)

#: Most contacts a page, or external ids a request, may name.
MAX_PAGE = 1000


class AddressIn(Input):
    street: str | None = None
    city: str | None = None
    state: str | None = None
    country: str | None = None
    postal_code: str | None = None


class CustomFieldIn(Input):
    name: str
    value: str = ""


class ContactIn(Input):
    """A contact as a client writes it; limits as 01 §11 (422 `too_long` /
    `limit_exceeded` naming the field). `e164` is the server's."""

    external_id: str = Field(description="Required, at most 128; unique in the book.")
    first_name: str | None = None
    last_name: str | None = None
    display_name: str | None = None
    initials: str | None = None
    company: str | None = None
    department: str | None = None
    job_title: str | None = None
    user_principal_name: str | None = None
    im_addresses: list[str] = Field(default_factory=list)
    email_addresses: list[str] = Field(default_factory=list)
    business_phones: list[str] = Field(default_factory=list)
    mobile_phones: list[str] = Field(default_factory=list)
    home_phones: list[str] = Field(default_factory=list)
    addresses: list[AddressIn] = Field(default_factory=list)
    custom_fields: list[CustomFieldIn] = Field(default_factory=list)


class ExternalIdsIn(Input):
    external_ids: list[str] = Field(min_length=1, max_length=MAX_PAGE)


def _contact(body: ContactIn) -> dict[str, Any]:
    """The checked contact as stored and shown, or 422 with every problem."""
    fields: dict[str, Any] = body.model_dump(exclude={"addresses", "custom_fields"})
    raw = Contact(
        **{k: _frozen(v) for k, v in fields.items()},
        addresses=tuple(PostalAddress(**a.model_dump()) for a in body.addresses),
        custom_fields=tuple(ContactField(f.name, f.value) for f in body.custom_fields),
    )
    contact, issues = validate_contact(raw)
    if issues:
        raise ValidationFailed(issues)
    data = dataclasses.asdict(contact)
    data["e164"] = {name: [to_e164(raw) for raw in data[name]] for name in PHONE_FIELDS}
    return data


def _frozen(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def _shown(stored: StoredContact) -> dict[str, Any]:
    return {**stored.data, "updated_at": stored.updated_at.isoformat()}


def _contact_not_found(external_id: str) -> ApiProblem:
    return ApiProblem(
        404,
        "contact_not_found",
        f"The address book has no contact with external_id '{external_id}'.",
    )


@dataclass(frozen=True, slots=True)
class _Book:
    """The tenant's contacts, and how they are shown to this principal (10 PV2)."""

    contacts: ContactRepository
    masking: Masking

    def shown(self, stored: StoredContact) -> dict[str, Any]:
        return self.masking.contact_json(_shown(stored))


async def _repository(request: Request, actor: Actor, book_id: str) -> _Book:
    """The tenant's contacts, once the book is known to exist and be the actor's to use."""
    missing = ApiProblem(404, "address_book_not_found", f"No address_book with id '{book_id}'.")

    def check(engine: Engine) -> Masking:
        book = engine.state.address_books.get(book_id)
        if book is None:
            raise missing
        actor.allow(
            engine, config_target("address_book", book, engine.state, actor.mode), missing=missing
        )
        return actor.masking(engine)

    masking = await actor.run(check)
    return _Book(ContactRepository(tenancy_of(request).db, actor.principal.tenant_id), masking)


@router.post("", status_code=201, name="add_contact")
async def add_contact(
    entity_id: str,
    body: ContactIn,
    request: Request,
    actor: Actor = Depends(require(Capability.ADDRESS_BOOKS, WRITE)),
) -> dict[str, Any]:
    """Add a contact; 409 `not_unique` if its external_id is in the book already."""
    data = _contact(body)
    book = await _repository(request, actor, entity_id)
    try:
        stored = await asyncio.to_thread(
            book.contacts.add, entity_id, data["external_id"], data, limit=MAX_CONTACTS_PER_BOOK
        )
    except AlreadyExistsError as taken:
        raise ApiProblem(
            409,
            "not_unique",
            f"The address book already has a contact with external_id '{data['external_id']}'.",
            errors=[
                {"code": "not_unique", "path": "external_id", "message": "external_id is taken."}
            ],
        ) from taken
    except BookFullError as full:
        raise ApiProblem(
            422,
            "limit_exceeded",
            f"An address book holds at most {MAX_CONTACTS_PER_BOOK} contacts.",
            errors=[{"code": "limit_exceeded", "path": "", "message": str(full)}],
        ) from full
    return book.shown(stored)


@router.put("", name="update_contact")
async def update_contact(
    entity_id: str,
    body: ContactIn,
    request: Request,
    actor: Actor = Depends(require(Capability.ADDRESS_BOOKS, WRITE)),
) -> dict[str, Any]:
    """Replace the contact with the body's external_id; 404 `contact_not_found`."""
    book = await _repository(request, actor, entity_id)
    if book.masking.customers:
        # What a masked principal read as *** and sent back stays as stored (PV2).
        found = await asyncio.to_thread(book.contacts.get, entity_id, [body.external_id])
        if found:
            sent = body.model_dump()
            body = ContactIn(**book.masking.keep_masked_contact(sent, found[0].data))
    data = _contact(body)
    stored = await asyncio.to_thread(book.contacts.replace, entity_id, data["external_id"], data)
    if stored is None:
        raise _contact_not_found(data["external_id"])
    return book.shown(stored)


@router.get("", response_model=Page, name="list_contacts")
async def list_contacts(
    entity_id: str,
    request: Request,
    response: Response,
    external_id: list[str] | None = Query(
        None, max_length=MAX_PAGE, description="Only these (repeat the parameter); no paging."
    ),
    offset: int = Query(0, ge=0),
    limit: int = Query(100, ge=1, le=MAX_PAGE),
    actor: Actor = Depends(require(Capability.ADDRESS_BOOKS, READ)),
) -> Page:
    """A page of the book's contacts in external_id order, or the ones named."""
    book = await _repository(request, actor, entity_id)
    if external_id:
        found = await asyncio.to_thread(book.contacts.get, entity_id, external_id)
        items = [book.shown(c) for c in found]
        return Page(items=items, total=len(items), offset=0, limit=MAX_PAGE, next_offset=None)
    total, page = await asyncio.to_thread(book.contacts.page, entity_id, offset=offset, limit=limit)
    following = offset + limit
    return Page(
        items=[book.shown(c) for c in page],
        total=total,
        offset=offset,
        limit=limit,
        next_offset=following if following < total else None,
    )


@router.post("/delete", name="delete_contacts")
async def delete_contacts(
    entity_id: str,
    body: ExternalIdsIn,
    request: Request,
    actor: Actor = Depends(require(Capability.ADDRESS_BOOKS, WRITE)),
) -> dict[str, list[str]]:
    """Remove the contacts named; which were removed and which were not there."""
    book = await _repository(request, actor, entity_id)
    removed = await asyncio.to_thread(book.contacts.delete, entity_id, body.external_ids)
    gone = set(removed)
    not_found = sorted({e for e in body.external_ids if e not in gone})
    return {"removed": removed, "not_found": not_found}


@router.post("/clear", name="clear_contacts")
async def clear_contacts(
    entity_id: str,
    request: Request,
    actor: Actor = Depends(require(Capability.ADDRESS_BOOKS, WRITE)),
) -> dict[str, int]:
    """Empty the book; how many contacts it had."""
    book = await _repository(request, actor, entity_id)
    return {"removed": await asyncio.to_thread(book.contacts.clear, entity_id)}


async def drop_contacts(request: Request, tenant_id: str, book_id: str) -> None:
    """After a book's removal was journaled: its contacts go too (`config.py` calls this).

    Done after the journal, so a refused removal keeps them; if the process stops in
    between, the rows stay behind unreachable (no route serves a missing book's
    contacts, and book ids are never reused).
    """
    contacts = ContactRepository(tenancy_of(request).db, tenant_id)
    await asyncio.to_thread(contacts.clear, book_id)
