"""Input limits and malformed bodies (10 §11 IN1, IN3, IN4), over the real application.

Syntax, encoding, media type, nesting and array size go through the TestClient.
The limits the HTTP server's framing matters for — URL, header and body sizes,
a chunked body that never ends — go over a socket to the application served
by uvicorn (as `switchboard serve` runs it), byte for byte as a client sends
them, so "just under" and "just over" are exact. Each limit is probed with a
request that would otherwise create a task: just under, it does (the journal
grows); just over, it is refused and the journal is exactly as before.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from api_harness import Service, service
from stream_harness import live_server

from switchboard.api.limits import (
    MAX_ARRAY_ITEMS,
    MAX_BODY_BYTES,
    MAX_HEADER_BYTES,
    MAX_JSON_DEPTH,
    MAX_URL_BYTES,
)
from switchboard.api.tenancy import Tenancy
from switchboard.store.sql_journal import SqlJournal

__all__ = ["service"]

PROBLEM = "application/problem+json"


def _problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = response.json()
    assert body["status"] == status and body["code"] == code
    assert body["instance"] == response.headers["x-request-id"]
    assert body["detail"].endswith(".")
    return body


def _last_seq(tenancy: Tenancy) -> int:
    return SqlJournal(tenancy.db, "tenant-a").last_seq()


def _service_id(client: httpx.Client | Any, headers: dict[str, str]) -> str:
    created = client.post(
        "/api/v1/services",
        json={"name": "Front", "upn": "front@a.test", "user_assignment_type": "teams_based"},
        headers=headers,
    )
    assert created.status_code == 201, created.text
    sid: str = created.json()["id"]
    return sid


def _nested(levels: int) -> str:
    return "[" * levels + "]" * levels


# --- malformed syntax: 400, validation stays 422 --------------------------------------------


@pytest.mark.parametrize(
    ("body", "line", "column"),
    [
        (b'{\n  "service_id": "s",\n  "kind" "audio_inbound"\n}', 3, 10),  # missing colon
        (b'{"service_id": "s",}', 1, 20),  # trailing comma
        (b"{'service_id': 's'}", 1, 2),  # single quotes
        (b'{"service_id": "s"', 1, 19),  # truncated
        (b'{"service_id": "s"} {}', 1, 21),  # two documents
        (b'{"service_id": "s", "priority": NaN}', 1, 33),  # Python's parser takes NaN; JSON not
        (b'{"service_id": "s",\n "n": [1, -Infinity]}', 2, 11),
    ],
)
def test_a_body_that_is_not_json_is_a_400_naming_line_and_column(
    service: Service, body: bytes, line: int, column: int
) -> None:
    headers = {**service.auth(), "Content-Type": "application/json"}
    refused = service.client.post("/api/v1/tasks", content=body, headers=headers)
    problem = _problem(refused, 400, "malformed_json")
    assert (problem["line"], problem["column"]) == (line, column)
    assert f"line {line}, column {column}" in problem["detail"]
    assert problem["errors"] == [
        {"code": "malformed_json", "path": "", "message": problem["detail"]}
    ]


@pytest.mark.parametrize(
    ("body", "bad", "line", "column"),
    [
        (b'{"service_id": "caf\xe9"}', 0xE9, 1, 20),  # Latin-1, not UTF-8
        (b'{"service_id":\n "s\xc3\xa9\xff"}', 0xFF, 2, 5),  # after a valid "é": column in chars
        (b'{"service_id": "\xed\xa0\x80"}', 0xED, 1, 17),  # an encoded surrogate
        (b'\xef\xbb{"service_id": "s"}', 0xEF, 1, 1),  # a broken byte-order mark
    ],
)
def test_a_body_that_is_not_utf8_is_a_400(
    service: Service, body: bytes, bad: int, line: int, column: int
) -> None:
    headers = {**service.auth(), "Content-Type": "application/json"}
    refused = service.client.post("/api/v1/tasks", content=body, headers=headers)
    problem = _problem(refused, 400, "malformed_json")
    assert (problem["line"], problem["column"]) == (line, column)
    assert "not UTF-8" in problem["detail"] and f"0x{bad:02x}" in problem["detail"]


def test_validation_errors_stay_422(service: Service) -> None:
    refused = service.client.post(
        "/api/v1/tasks", json={"service_id": 5, "kind": "fax"}, headers=service.auth()
    )
    problem = _problem(refused, 422, "validation_failed")
    assert {e["path"] for e in problem["errors"]} == {"service_id", "kind"}


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "application/x-www-form-urlencoded",  # what `curl -d` sends without -H
        "application/xml",
        None,
    ],
)
def test_a_json_endpoint_refuses_other_media_types_with_415(
    service: Service, content_type: str | None
) -> None:
    sid = _service_id(service.client, service.auth())
    headers = service.auth() | ({"Content-Type": content_type} if content_type else {})
    body = json.dumps({"service_id": sid, "kind": "audio_inbound"}).encode()
    refused = service.client.post("/api/v1/tasks", content=body, headers=headers)
    problem = _problem(refused, 415, "unsupported_media_type")
    assert refused.headers["accept"] == "application/json"
    assert (content_type or "no Content-Type") in problem["detail"]


@pytest.mark.parametrize(
    "content_type", ["application/json; charset=utf-8", "Application/JSON", "application/x+json"]
)
def test_json_media_types_are_accepted(service: Service, content_type: str) -> None:
    sid = _service_id(service.client, service.auth())
    body = json.dumps({"service_id": sid, "kind": "audio_inbound"}).encode()
    headers = service.auth() | {"Content-Type": content_type}
    created = service.client.post("/api/v1/tasks", content=body, headers=headers)
    assert created.status_code == 201, created.text


# --- JSON shape: nesting depth and array size ------------------------------------------------


def _post_raw(svc: Service, text: str) -> httpx.Response:
    headers = svc.auth() | {"Content-Type": "application/json"}
    response: httpx.Response = svc.client.post(
        "/api/v1/tasks", content=text.encode(), headers=headers
    )
    return response


@pytest.mark.parametrize(
    "levels",
    [
        MAX_JSON_DEPTH + 1,  # parsed, then refused by the shape check
        100_000,  # too deep for the parser itself
    ],
)
def test_nesting_deeper_than_the_limit_is_refused_with_its_path(
    service: Service, levels: int
) -> None:
    # The body is level 1 and "x" level 2, so `levels - 1` arrays inside x reach `levels`.
    # Brackets inside strings must not count, or be taken for structure.
    text = '{"service_id": "[[{{", "x[": {"y": ' + _nested(levels - 2) + "}}"
    problem = _problem(_post_raw(service, text), 422, "limit_exceeded")
    path = "x[.y" + "[0]" * (MAX_JSON_DEPTH - 2)  # y is level 3
    assert problem["errors"] == [
        {"code": "limit_exceeded", "path": path, "message": problem["detail"]}
    ]
    assert problem["detail"].startswith(f"{path}: JSON may nest at most {MAX_JSON_DEPTH} levels")


def test_nesting_at_the_limit_passes_to_validation(service: Service) -> None:
    text = '{"service_id": "s", "x": ' + _nested(MAX_JSON_DEPTH - 1) + "}"
    problem = _problem(_post_raw(service, text), 422, "validation_failed")
    assert [(e["code"], e["path"]) for e in problem["errors"]] == [("unknown_field", "x")]


def test_a_body_nested_in_objects_too_deep_names_the_keys(service: Service) -> None:
    inner: Any = {}
    for _ in range(MAX_JSON_DEPTH):
        inner = {"k": inner}
    problem = _problem(
        service.client.post("/api/v1/tasks", json=inner, headers=service.auth()),
        422,
        "limit_exceeded",
    )
    assert problem["errors"][0]["path"] == ".".join(["k"] * MAX_JSON_DEPTH)


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({"service_id": "s", "x": [0] * (MAX_ARRAY_ITEMS + 1)}, "x"),
        ({"service_id": "s", "x": {"y": [[1], ["a"] * (MAX_ARRAY_ITEMS + 1)]}}, "x.y[1]"),
        ([None] * (MAX_ARRAY_ITEMS + 1), ""),
    ],
)
def test_an_array_longer_than_the_limit_is_refused_with_its_path(
    service: Service, body: Any, path: str
) -> None:
    refused = service.client.post("/api/v1/tasks", json=body, headers=service.auth())
    problem = _problem(refused, 422, "limit_exceeded")
    assert problem["errors"] == [
        {"code": "limit_exceeded", "path": path, "message": problem["detail"]}
    ]
    assert (
        f"at most {MAX_ARRAY_ITEMS} items; this one has {MAX_ARRAY_ITEMS + 1}"
        in (problem["detail"])
    )


def test_an_array_at_the_limit_passes_to_validation(service: Service) -> None:
    body = {"service_id": "s", "x": [0] * MAX_ARRAY_ITEMS}
    refused = service.client.post("/api/v1/tasks", json=body, headers=service.auth())
    problem = _problem(refused, 422, "validation_failed")
    assert [(e["code"], e["path"]) for e in problem["errors"]] == [("unknown_field", "x")]


# --- every JSON route, and the OpenAPI document -----------------------------------------------


def _operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            yield method, path, operation


def _takes_json(operation: dict[str, Any]) -> bool:
    return "application/json" in operation.get("requestBody", {}).get("content", {})


def test_every_route_with_a_body_reads_it_strictly(service: Service) -> None:
    """Every operation that takes a body refuses broken JSON with 400 and other media with 415.

    Whole routers are covered by `route_class=JsonRoute`; one that forgets it answers
    broken JSON with FastAPI's 422 and a text body with a validation error instead.
    """
    document = service.client.get("/api/openapi.json").json()
    with_body = [(m, p) for m, p, op in _operations(document) if _takes_json(op)]
    assert len(with_body) > 20
    as_json = service.auth() | {"Content-Type": "application/json"}
    as_text = service.auth() | {"Content-Type": "text/plain"}
    answers = {}
    for method, path in with_body:
        url = path.replace("{", "").replace("}", "")  # any value: the body is read first
        malformed = service.client.request(method, url, content=b"{", headers=as_json)
        plain = service.client.request(method, url, content=b"{}", headers=as_text)
        answers[f"{method.upper()} {path}"] = (
            (malformed.status_code, malformed.json().get("code")),
            (plain.status_code, plain.json().get("code")),
        )
    expected = ((400, "malformed_json"), (415, "unsupported_media_type"))
    wrong = {operation: got for operation, got in answers.items() if got != expected}
    assert not wrong, f"routers without route_class=JsonRoute (api.json_body): {wrong}"


def test_the_openapi_document_declares_the_refusals(service: Service) -> None:
    document = service.client.get("/api/openapi.json").json()
    problem = {"schema": {"$ref": "#/components/schemas/Problem"}}
    for method, path, operation in _operations(document):
        responses = operation["responses"]
        if path.startswith("/api/v1/"):
            for status in ("400", "414", "431"):
                assert responses[status]["content"] == {PROBLEM: problem}, (method, path, status)
        for status in ("413", "415"):
            assert (status in responses) == _takes_json(operation), (method, path, status)
            if status in responses:
                assert responses[status]["content"] == {PROBLEM: problem}


# --- sizes over a socket: URL, headers, body (declared and chunked) ---------------------------


@dataclass
class Live:
    port: int
    key: str
    tenancy: Tenancy
    service_id: str

    def task_body(self) -> bytes:
        return json.dumps({"service_id": self.service_id, "kind": "audio_inbound"}).encode()


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """The application under uvicorn's defaults (httptools) on a free loopback port."""
    with live_server(tmp_path_factory.mktemp("limits")) as server:
        with httpx.Client(base_url=server.base) as client:
            sid = _service_id(client, {"Authorization": f"Bearer {server.key_a}"})
        yield Live(server.port, server.key_a, server.tenancy, sid)


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: dict[str, Any]


def _head(target: str, headers: list[tuple[str, str]]) -> bytes:
    lines = [f"POST {target} HTTP/1.1"] + [f"{name}: {value}" for name, value in headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _header_bytes(headers: list[tuple[str, str]]) -> int:
    """The size the limit counts: each line as sent, "name: value" and CRLF."""
    return sum(len(name) + len(value) + 4 for name, value in headers)


def _task_headers(live: Live, body_length: int | None) -> list[tuple[str, str]]:
    headers = [
        ("Host", "127.0.0.1"),
        ("Authorization", f"Bearer {live.key}"),
        ("Content-Type", "application/json"),
    ]
    if body_length is None:
        return [*headers, ("Transfer-Encoding", "chunked")]
    return [*headers, ("Content-Length", str(body_length))]


def _read_reply(sock: socket.socket) -> Reply:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"connection closed before a response: {data!r}"
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    while len(rest) < int(headers["content-length"]):
        chunk = sock.recv(65536)
        assert chunk, "connection closed inside the response body"
        rest += chunk
    return Reply(int(status_line.split()[1]), headers, json.loads(rest))


def _exchange(live: Live, request: bytes) -> Reply:
    with socket.create_connection(("127.0.0.1", live.port), timeout=20) as sock:
        sock.sendall(request)
        return _read_reply(sock)


def _padded(body: bytes, size: int) -> bytes:
    """The same JSON document, padded with trailing whitespace to exactly `size` bytes."""
    assert len(body) <= size
    return body + b" " * (size - len(body))


def _assert_refused(reply: Reply, status: int, code: str) -> None:
    assert reply.status == status, reply.body
    assert reply.headers["content-type"].startswith(PROBLEM)
    assert reply.body["code"] == code and reply.body["status"] == status
    assert reply.body["instance"] == reply.headers["x-request-id"]


def _assert_created(live: Live, reply: Reply, seq_before: int) -> None:
    assert reply.status == 201, reply.body
    assert _last_seq(live.tenancy) > seq_before


def test_a_url_over_the_limit_is_a_414(live: Live) -> None:
    body = live.task_body()
    stem = "/api/v1/tasks?pad="
    for length, refused in ((MAX_URL_BYTES, False), (MAX_URL_BYTES + 1, True)):
        target = stem + "a" * (length - len(stem))
        assert len(target.encode()) == length
        before = _last_seq(live.tenancy)
        reply = _exchange(live, _head(target, _task_headers(live, len(body))) + body)
        if refused:
            _assert_refused(reply, 414, "url_too_long")
            assert reply.body["limit"] == MAX_URL_BYTES
            assert _last_seq(live.tenancy) == before
        else:
            _assert_created(live, reply, before)


def test_headers_over_the_limit_are_a_431(live: Live) -> None:
    body = live.task_body()
    for total, refused in ((MAX_HEADER_BYTES, False), (MAX_HEADER_BYTES + 1, True)):
        headers = _task_headers(live, len(body))
        pad = total - _header_bytes(headers) - _header_bytes([("X-Pad", "")])
        headers.append(("X-Pad", "p" * pad))
        assert _header_bytes(headers) == total
        before = _last_seq(live.tenancy)
        reply = _exchange(live, _head("/api/v1/tasks", headers) + body)
        if refused:
            _assert_refused(reply, 431, "headers_too_large")
            assert _last_seq(live.tenancy) == before
        else:
            _assert_created(live, reply, before)


def test_a_declared_body_over_the_limit_is_a_413_before_it_is_sent(live: Live) -> None:
    before = _last_seq(live.tenancy)
    exact = _padded(live.task_body(), MAX_BODY_BYTES)
    reply = _exchange(live, _head("/api/v1/tasks", _task_headers(live, len(exact))) + exact)
    _assert_created(live, reply, before)

    before = _last_seq(live.tenancy)
    with socket.create_connection(("127.0.0.1", live.port), timeout=20) as sock:
        # Only the head: the refusal must not wait for a body it will not read.
        sock.sendall(_head("/api/v1/tasks", _task_headers(live, MAX_BODY_BYTES + 1)))
        reply = _read_reply(sock)
        _assert_refused(reply, 413, "body_too_large")
        assert reply.headers["connection"] == "close"
        assert sock.recv(1) == b""  # closed, rather than waiting for the body
    assert _last_seq(live.tenancy) == before


def _chunks(data: bytes, size: int = 64 << 10) -> bytes:
    return b"".join(
        f"{len(part):x}\r\n".encode() + part + b"\r\n"
        for part in (data[i : i + size] for i in range(0, len(data), size))
    )


def test_a_chunked_body_over_the_limit_is_a_413_without_reading_on(live: Live) -> None:
    head = _head("/api/v1/tasks", _task_headers(live, None))
    before = _last_seq(live.tenancy)
    exact = _padded(live.task_body(), MAX_BODY_BYTES)
    reply = _exchange(live, head + _chunks(exact) + b"0\r\n\r\n")
    _assert_created(live, reply, before)

    before = _last_seq(live.tenancy)
    with socket.create_connection(("127.0.0.1", live.port), timeout=20) as sock:
        # One byte over, and the body never ends (no last chunk): an answer can only
        # come from counting what streams in, not from waiting for the whole body.
        sock.sendall(head + _chunks(_padded(live.task_body(), MAX_BODY_BYTES + 1)))
        reply = _read_reply(sock)
        _assert_refused(reply, 413, "body_too_large")
        assert reply.headers["connection"] == "close"
        assert sock.recv(1) == b""
    assert _last_seq(live.tenancy) == before


# --- nothing changes -------------------------------------------------------------------------


def test_a_refused_request_changes_nothing(service: Service) -> None:
    sid = _service_id(service.client, service.auth())
    valid = json.dumps({"service_id": sid, "kind": "audio_inbound"})
    as_json = service.auth() | {"Content-Type": "application/json"}
    post = service.client.post
    before = _last_seq(service.tenancy)
    refusals = [
        (post("/api/v1/tasks", content=valid[:-1].encode(), headers=as_json), 400),
        (post("/api/v1/tasks", content=valid.encode() + b"\xff", headers=as_json), 400),
        (post("/api/v1/tasks", content=valid.encode(), headers=service.auth()), 415),
        (
            post(
                "/api/v1/tasks",
                content=_padded(valid.encode(), MAX_BODY_BYTES + 1),
                headers=as_json,
            ),
            413,
        ),
        (post("/api/v1/tasks?p=" + "a" * MAX_URL_BYTES, content=valid, headers=as_json), 414),
        (
            post(
                "/api/v1/tasks",
                content=valid,
                headers=as_json | {"X-Pad": "p" * MAX_HEADER_BYTES},
            ),
            431,
        ),
        (
            post(
                "/api/v1/tasks",
                json={"service_id": sid, "custom_context": {"a": json.loads(_nested(40))}},
                headers=service.auth(),
            ),
            422,
        ),
    ]
    assert [r.status_code for r, _ in refusals] == [status for _, status in refusals]
    assert _last_seq(service.tenancy) == before
    assert post("/api/v1/tasks", content=valid, headers=as_json).status_code == 201
    assert _last_seq(service.tenancy) > before  # the same journal does show a write
