"""Address books and their contacts over the API (01 §11, 10 §2 row 12, K4)."""

from __future__ import annotations

from typing import Any

from api_harness import Service, service

from switchboard.api.keys import issue_api_key
from switchboard.store.contacts import ContactRepository

__all__ = ["service"]


def _book(svc: Service, name: str = "Partners", **extra: Any) -> str:
    response = svc.client.post(
        "/api/v1/address-books", json={"name": name, **extra}, headers=svc.auth()
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def _add(svc: Service, book: str, contact: dict[str, Any], key: str | None = None) -> Any:
    return svc.client.post(
        f"/api/v1/address-books/{book}/contacts", json=contact, headers=svc.auth(key)
    )


def test_a_book_is_configuration_with_a_unique_name(service: Service) -> None:
    _book(service, "Partners")
    again = service.client.post(
        "/api/v1/address-books", json={"name": " Partners "}, headers=service.auth()
    )
    assert again.status_code == 422
    assert again.json()["errors"][0]["code"] == "not_unique"
    too_long = service.client.post(
        "/api/v1/address-books", json={"name": "x" * 129}, headers=service.auth()
    )
    assert too_long.json()["errors"][0] == {
        "code": "too_long",
        "path": "name",
        "message": "name must be at most 128 characters; got 129.",
    }
    listed = service.client.get("/api/v1/address-books", headers=service.auth()).json()
    assert [b["name"] for b in listed["items"]] == ["Partners"]


def test_add_normalises_phones_to_e164_and_keeps_the_raw_value(service: Service) -> None:
    book = _book(service)
    added = _add(
        service,
        book,
        {
            "external_id": " c-1 ",
            "display_name": "Ada Lovelace",
            "business_phones": ["+41 44 555 01 99", "044 555 01 99"],
            "mobile_phones": ["+1 (206) 555-0100"],
            "addresses": [{"street": "Main St 1", "city": "Zurich"}],
            "custom_fields": [{"name": "Tier", "value": "gold"}],
        },
    )
    assert added.status_code == 201, added.text
    contact = added.json()
    assert contact["external_id"] == "c-1"
    assert contact["business_phones"] == ["+41 44 555 01 99", "044 555 01 99"]
    assert contact["e164"] == {
        "business_phones": ["+41445550199", None],
        "mobile_phones": ["+12065550100"],
        "home_phones": [],
    }
    assert contact["addresses"][0]["city"] == "Zurich"
    duplicate = _add(service, book, {"external_id": "c-1"})
    assert duplicate.status_code == 409
    assert duplicate.json()["code"] == "not_unique"


def test_limits_answer_422_naming_every_path(service: Service) -> None:
    book = _book(service)
    response = _add(
        service,
        book,
        {
            "external_id": "e" * 129,
            "first_name": "f" * 65,
            "email_addresses": [f"a{i}@x.test" for i in range(11)],
            "home_phones": ["1" * 33],
            "addresses": [{"postal_code": "9" * 41}],
            "custom_fields": [{"name": "a", "value": "v" * 1025}, {"name": "a"}],
        },
    )
    assert response.status_code == 422, response.text
    found = {(e["code"], e["path"]) for e in response.json()["errors"]}
    assert found == {
        ("too_long", "external_id"),
        ("too_long", "first_name"),
        ("limit_exceeded", "email_addresses"),
        ("too_long", "home_phones[0]"),
        ("too_long", "addresses[0].postal_code"),
        ("too_long", "custom_fields[0].value"),
        ("not_unique", "custom_fields[1].name"),
    }
    missing = _add(service, book, {"external_id": "  "})
    assert missing.json()["errors"][0]["code"] == "required"
    assert (
        service.client.get(f"/api/v1/address-books/{book}/contacts", headers=service.auth()).json()[
            "total"
        ]
        == 0
    )


def test_update_by_external_id_get_by_ids_delete_and_clear(service: Service) -> None:
    book = _book(service)
    base = f"/api/v1/address-books/{book}/contacts"
    for n in range(5):
        assert _add(service, book, {"external_id": f"c{n}", "company": "Acme"}).status_code == 201
    updated = service.client.put(
        base, json={"external_id": "c2", "company": "Globex"}, headers=service.auth()
    )
    assert updated.status_code == 200 and updated.json()["company"] == "Globex"
    unknown = service.client.put(base, json={"external_id": "nope"}, headers=service.auth())
    assert unknown.status_code == 404 and unknown.json()["code"] == "contact_not_found"

    some = service.client.get(
        base,
        params=[("external_id", "c2"), ("external_id", "c4"), ("external_id", "zz")],
        headers=service.auth(),
    ).json()
    assert [(c["external_id"], c["company"]) for c in some["items"]] == [
        ("c2", "Globex"),
        ("c4", "Acme"),
    ]

    first = service.client.get(base, params={"limit": 2}, headers=service.auth()).json()
    assert [c["external_id"] for c in first["items"]] == ["c0", "c1"]
    assert (first["total"], first["next_offset"]) == (5, 2)
    last = service.client.get(base, params={"offset": 4, "limit": 2}, headers=service.auth())
    assert [c["external_id"] for c in last.json()["items"]] == ["c4"]
    assert last.json()["next_offset"] is None

    deleted = service.client.post(
        f"{base}/delete", json={"external_ids": ["c0", "c1", "gone"]}, headers=service.auth()
    )
    assert deleted.json() == {"removed": ["c0", "c1"], "not_found": ["gone"]}
    cleared = service.client.post(f"{base}/clear", headers=service.auth())
    assert cleared.json() == {"removed": 3}
    assert service.client.get(base, headers=service.auth()).json()["total"] == 0


def test_deleting_a_book_deletes_its_contacts(service: Service) -> None:
    book = _book(service)
    _add(service, book, {"external_id": "c1"})
    deleted = service.client.delete(f"/api/v1/address-books/{book}", headers=service.auth())
    assert deleted.status_code == 204
    gone = service.client.get(f"/api/v1/address-books/{book}/contacts", headers=service.auth())
    assert gone.status_code == 404 and gone.json()["code"] == "address_book_not_found"
    stored = ContactRepository(service.tenancy.db, "tenant-a").page(book, offset=0, limit=10)
    assert stored == (0, [])


def test_keys_write_contacts_only_with_addressbooks_write(service: Service) -> None:
    book = _book(service)
    config_writer = issue_api_key(
        service.tenancy,
        "tenant-a",
        name="cw",
        scopes=["config:read", "config:write"],
        created_by="test",
    )
    refused = _add(service, book, {"external_id": "c1"}, key=config_writer)
    assert refused.status_code == 403 and refused.json()["code"] == "missing_scope"
    assert "addressbooks:write" in refused.json()["detail"]
    connector = issue_api_key(
        service.tenancy, "tenant-a", name="ab", scopes=["addressbooks:write"], created_by="test"
    )
    assert _add(service, book, {"external_id": "c1"}, key=connector).status_code == 201
    # 09 FA5: the connector lists the books it fills and their contacts with its one scope
    as_connector = service.auth(connector)
    books = service.client.get("/api/v1/address-books", headers=as_connector)
    assert books.status_code == 200 and [b["id"] for b in books.json()["items"]] == [book]
    contacts = service.client.get(f"/api/v1/address-books/{book}/contacts", headers=as_connector)
    assert contacts.status_code == 200 and contacts.json()["total"] == 1
    assert service.client.get("/api/v1/tags", headers=as_connector).status_code == 403
    reader = service.auth(service.read_only_a)
    listed = service.client.get(f"/api/v1/address-books/{book}/contacts", headers=reader)
    assert listed.status_code == 200 and listed.json()["total"] == 1
    assert _add(service, book, {"external_id": "c2"}, key=service.read_only_a).status_code == 403


def test_an_ou_scoped_key_sees_only_books_in_its_scope(service: Service) -> None:
    ou = service.client.post(
        "/api/v1/ous", json={"name": "Sales", "parent_id": "root"}, headers=service.auth()
    ).json()["id"]
    other = service.client.post(
        "/api/v1/ous", json={"name": "Support", "parent_id": "root"}, headers=service.auth()
    ).json()["id"]
    theirs = _book(service, "Sales book", ou_id=ou)
    not_theirs = _book(service, "Support book", ou_id=other)
    scoped = issue_api_key(
        service.tenancy,
        "tenant-a",
        name="ou",
        scopes=["config:read", "addressbooks:write"],
        created_by="test",
        ou_id=ou,
    )
    assert _add(service, theirs, {"external_id": "c1"}, key=scoped).status_code == 201
    hidden = _add(service, not_theirs, {"external_id": "c1"}, key=scoped)
    assert hidden.status_code == 404 and hidden.json()["code"] == "address_book_not_found"


def test_another_tenant_cannot_reach_the_contacts(service: Service) -> None:
    book = _book(service)
    _add(service, book, {"external_id": "secret", "display_name": "MARKER"})
    other = service.auth(service.key_b)
    base = f"/api/v1/address-books/{book}/contacts"
    for method, path, body in (
        ("GET", base, None),
        ("POST", base, {"external_id": "x"}),
        ("PUT", base, {"external_id": "secret"}),
        ("POST", f"{base}/delete", {"external_ids": ["secret"]}),
        ("POST", f"{base}/clear", None),
    ):
        response = service.client.request(method, path, json=body, headers=other)
        assert response.status_code == 404, (method, path, response.text)
        assert "MARKER" not in response.text
    still = service.client.get(base, headers=service.auth()).json()
    assert [c["display_name"] for c in still["items"]] == ["MARKER"]
