"""The OData v4 feed of historical reporting at `/odata` (spec 08 §8; docs/reporting-odata.md).

Routes: the service document (`/odata/`), `$metadata`, and per entity set the
collection (`/odata/{Set}`), its count (`/odata/{Set}/$count`) and one entity by
key (`/odata/{Set}({key})`). Every route is guarded by the 08 §7 row of its set
(`require`), and what a principal reads is decided on the tenant's writer —
`Access.may_read_reports` and `report_scope` — then put into the query's WHERE
clause (`switchboard.reporting.odata.query`), which runs off the event loop.

Credentials (08 OD11): everything `/api/v1` accepts, plus the API key as the
`api_key` query parameter (Power BI's `ApiKeyName`); the access log never holds
query strings, and the redaction processor masks `api_key=` wherever it appears.

Errors are the OData JSON error format (OD10): `ODataErrors`, an ASGI middleware
on `/odata`, turns every problem document the application answers there
(authentication, permissions, unknown paths, input limits) into
`{"error": {"code", "message", "target", "details"}}`, answers methods other
than GET with 501 (the feed is read-only, OD7), and puts `OData-Version: 4.0` on
every response (OD9). The routes are not in the OpenAPI document, which
describes the JSON API; `$metadata` describes these.
"""

# No `from __future__ import annotations`: FastAPI reads the route signatures at runtime.

import hashlib
import hmac
import re
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine, Iterable, Mapping, MutableMapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import orjson
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import Response
from starlette.datastructures import URLPath
from starlette.routing import BaseRoute, Match, NoMatchFound
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from switchboard.api.auth import authenticate_api_key, bearer
from switchboard.api.json_body import JsonRoute
from switchboard.api.permissions import READ, Actor, require, world
from switchboard.api.problems import PROBLEM
from switchboard.api.tenancy import tenancy_of
from switchboard.domain.access import Access, Capability, Target
from switchboard.engine.engine import Engine
from switchboard.reporting.odata.csdl import metadata_xml
from switchboard.reporting.odata.errors import ODataError, bad_request
from switchboard.reporting.odata.model import GUID, INT32, INT64, EntitySet
from switchboard.reporting.odata.options import Options, parse_options
from switchboard.reporting.odata.query import DEFAULT_PAGE, MAX_PAGE, Context, Paging
from switchboard.reporting.odata.sets import ENTITY_SETS

PREFIX = "/odata"
ODATA_VERSION = (b"odata-version", b"4.0")
JSON_MINIMAL = "application/json;odata.metadata=minimal;odata.streaming=true"
JSON_NONE = "application/json;odata.metadata=none;odata.streaming=true"

router = APIRouter(prefix=PREFIX, include_in_schema=False, route_class=JsonRoute)


# ---------------------------------------------------------------------- limits (OD12)


@dataclass
class ODataLimits:
    """Concurrent OData requests per tenant and per deployment (08 OD12); beyond: 429."""

    per_tenant: int = 20
    total: int = 2000
    running: dict[str, int] = field(default_factory=dict)

    @asynccontextmanager
    async def slot(self, tenant_id: str) -> AsyncIterator[None]:
        mine = self.running.get(tenant_id, 0)
        if mine >= self.per_tenant or sum(self.running.values()) >= self.total:
            limit = "your tenant's" if mine >= self.per_tenant else "this service's"
            raise ODataError(
                429,
                "too_many_requests",
                f"{limit.capitalize()} limit of concurrent OData requests is reached; "
                "retry after the time in Retry-After.",
                headers={"Retry-After": "1"},
            )
        self.running[tenant_id] = mine + 1
        try:
            yield
        finally:
            self.running[tenant_id] -= 1
            if not self.running[tenant_id]:
                del self.running[tenant_id]


def install(app: FastAPI, limits: ODataLimits | None = None) -> None:
    """Serve the feed on `app`: its routes, its error format and its limits."""
    app.state.odata_limits = limits or ODataLimits()
    app.include_router(router)
    included = [r for r in app.router.routes if getattr(r, "original_router", None) is router]
    if len(included) == 1:
        app.router.routes.insert(0, FeedFirst(included[0]))
    app.add_exception_handler(ODataError, _odata_error)  # type: ignore[arg-type]
    app.add_middleware(ODataErrors)


class FeedFirst(BaseRoute):
    """The feed's router, tried first for paths under `/odata` and never for others.

    The application tries its routers one after the other and each router its routes
    one pattern at a time. Included after the API's, the feed's 81 routes were reached
    after some 60 others, twice (to match, then to handle): 0.4 ms of the ~3 ms of CPU
    a page costs the API process. This entry, first in the application's list, hands
    paths under `/odata` to the same included router — the same matching and handling,
    only sooner — and costs any other path one prefix test. The router stays where it
    was included, so route listings (the route audit) and URL building are unchanged;
    a path under `/odata` that matches none of its routes goes on to the others as
    before (404).
    """

    def __init__(self, feed: BaseRoute) -> None:
        self.feed = feed

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] == "http":
            path: str = scope["path"]
            if path.startswith(PREFIX) and (len(path) == len(PREFIX) or path[len(PREFIX)] == "/"):
                return self.feed.matches(scope)
        return Match.NONE, {}

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.feed.handle(scope, receive, send)

    def url_path_for(self, name: str, /, **path_params: Any) -> URLPath:
        raise NoMatchFound(name, path_params)  # names are the included router's to resolve


# ---------------------------------------------------------------------- authentication


def odata_require(capability: Capability) -> Callable[[Request], Coroutine[Any, Any, Actor]]:
    """`require(capability, READ)`, also accepting the key as `?api_key=` (OD11, K3).

    A header credential wins; the query key is only read when there is none.
    """
    guard = require(capability, READ)

    async def odata_guard(request: Request) -> Actor:
        key = request.query_params.get("api_key")
        if key is not None and bearer(request) is None and "x-api-key" not in request.headers:
            await authenticate_api_key(request, key)
        return await guard(request)

    odata_guard.required_permission = (capability, READ)  # type: ignore[attr-defined]
    return odata_guard


# ---------------------------------------------------------------------- deciding on the writer


async def _context(
    actor: Actor, involved: Iterable[EntitySet], expanded: Iterable[EntitySet]
) -> Context:
    """What the principal reads of `involved` (and of the sets `$expand` reaches), decided
    on the tenant's writer with today's roles: 403 when a set is not theirs at all."""
    sets = list(involved)
    targets = list(expanded)

    def decide(engine: Engine) -> Context:
        access = actor.access(engine)
        for entity_set in [*sets, *targets]:
            decision = access.may_read_reports(entity_set.capability)
            if not decision.allowed:
                raise ODataError(
                    decision.status,
                    decision.code,
                    decision.message,
                    target="$expand" if entity_set in targets and entity_set not in sets else None,
                )
        places = world(engine.state)
        scopes = {
            s.capability: access.report_scope(s.capability, places)
            for s in [*sets, *targets]
            if s.table is not None and s.scoping is not None
        }
        rows = {
            s.name: s.rows(engine.state, _sees(access, places))
            for s in [*sets, *targets]
            if s.rows is not None
        }
        return Context(actor.principal.tenant_id, ENTITY_SETS, scopes, rows)

    return await actor.run(decide)


def _sees(access: Access, places: Any) -> Callable[[Target], bool]:
    def sees(target: Target) -> bool:
        return access.sees(Capability.REPORT_DIMENSIONS, target, places)

    return sees


# ---------------------------------------------------------------------- negotiation (OD9)


def _negotiate(request: Request) -> bool:
    """Whether control information is wanted (`odata.metadata=minimal`, the default) or
    not (`none`); 406 for `full` or a format other than JSON, 400 below OData 4.0."""
    maximum = request.headers.get("odata-maxversion")
    if maximum is not None:
        try:
            below = float(maximum.strip()) < 4.0
        except ValueError:
            below = True
        if below:
            raise bad_request(
                f"This service speaks OData 4.0; OData-MaxVersion {maximum!r} excludes it.",
                target="OData-MaxVersion",
                code="unsupported_version",
            )
    formats = [v for k, v in request.query_params.multi_items() if k.lower() == "$format"]
    wanted = (formats[0] if formats else request.headers.get("accept", "")).lower()
    if formats and not re.match(r"^(json|application/json)(;|$)", wanted.strip()):
        raise _not_acceptable(f"$format {formats[0]!r} is not offered; use json.")
    if (
        not formats
        and wanted
        and not any(t in wanted for t in ("application/json", "*/*", "application/*"))
    ):
        raise _not_acceptable("This feed answers application/json only.")
    if "odata.metadata=full" in wanted.replace(" ", ""):
        raise _not_acceptable("odata.metadata=full is not offered; use minimal or none.")
    return "odata.metadata=none" not in wanted.replace(" ", "")


def _not_acceptable(message: str) -> ODataError:
    return ODataError(406, "not_acceptable", message)


def _page_size(request: Request) -> tuple[int, dict[str, str]]:
    """`Prefer: odata.maxpagesize=n` (1 to 5000) and the header saying it was applied."""
    prefer = request.headers.get("prefer", "")
    match = re.search(r"odata\.maxpagesize\s*=\s*(\d+)", prefer, re.IGNORECASE)
    if match is None:
        return DEFAULT_PAGE, {}
    size = min(max(1, int(match.group(1))), MAX_PAGE)
    return size, {"Preference-Applied": f"odata.maxpagesize={size}"}


def _service_root(request: Request) -> str:
    return f"{request.base_url}odata/"


def _kept(request: Request) -> list[tuple[str, str]]:
    """The query a nextLink repeats: not the position, and never the key (OD11)."""
    dropped = {"$skip", "$skiptoken", "api_key"}
    return [(k, v) for k, v in request.query_params.multi_items() if k.lower() not in dropped]


def _json(
    body: Mapping[str, Any], metadata: bool, headers: dict[str, str] | None = None
) -> Response:
    return Response(
        orjson.dumps(body),
        media_type=JSON_MINIMAL if metadata else JSON_NONE,
        headers=headers,
    )


# ---------------------------------------------------------------------- routes


#: The service document and `$metadata` are for whoever reads any reporting data: the
#: dimensions row of 08 §7 is exactly that set of roles.
_ANY_READER = odata_require(Capability.REPORT_DIMENSIONS)


@router.get("/")
async def service_document(request: Request, actor: Actor = Depends(_ANY_READER)) -> Response:
    """Every entity set with its name, kind and URL (08 OD1)."""
    metadata = _negotiate(request)
    await actor.run(lambda engine: None)  # the principal is current (a disabled user: 401)
    root = _service_root(request)
    body: dict[str, Any] = {}
    if metadata:
        body["@odata.context"] = f"{root}$metadata"
    body["value"] = [{"name": n, "kind": "EntitySet", "url": n} for n in ENTITY_SETS]
    return _json(body, metadata)


@router.get("/$metadata")
async def metadata_document(request: Request, actor: Actor = Depends(_ANY_READER)) -> Response:
    """CSDL XML, EDMX 4.0 (08 OD1, OD2)."""
    await actor.run(lambda engine: None)
    return Response(metadata_xml(ENTITY_SETS.values()), media_type="application/xml")


def _collection(entity_set: EntitySet) -> Callable[..., Coroutine[Any, Any, Response]]:
    guard = odata_require(entity_set.capability)

    async def collection(request: Request, actor: Actor = Depends(guard)) -> Response:
        metadata = _negotiate(request)
        pairs = request.query_params.multi_items()
        options = parse_options(entity_set, pairs, ENTITY_SETS)
        size, headers = _page_size(request)
        readers = tenancy_of(request).readers
        paging = Paging(_service_root(request), _kept(request), _token_key(request), size, metadata)
        async with _slot(request, actor):
            ctx = await _context(actor, [entity_set], _expand_targets(options))
            body = await readers.page(ctx, entity_set, options, pairs, paging)
        return Response(body, media_type=JSON_MINIMAL if metadata else JSON_NONE, headers=headers)

    collection.__doc__ = f"{entity_set.name}: {entity_set.description or 'a reporting entity set'}"
    return collection


def _count(entity_set: EntitySet) -> Callable[..., Coroutine[Any, Any, Response]]:
    guard = odata_require(entity_set.capability)

    async def count(request: Request, actor: Actor = Depends(guard)) -> Response:
        pairs = request.query_params.multi_items()
        options = parse_options(entity_set, pairs, ENTITY_SETS)
        readers = tenancy_of(request).readers
        async with _slot(request, actor):
            ctx = await _context(actor, [entity_set], ())
            found = await readers.count(ctx, entity_set, options, pairs)
        return Response(str(found), media_type="text/plain")

    return count


def _entity(entity_set: EntitySet) -> Callable[..., Coroutine[Any, Any, Response]]:
    guard = odata_require(entity_set.capability)

    async def entity(request: Request, key: str, actor: Actor = Depends(guard)) -> Response:
        metadata = _negotiate(request)
        pairs = request.query_params.multi_items()
        options = parse_options(entity_set, pairs, ENTITY_SETS, collection=False)
        value = _key(entity_set, key)
        readers = tenancy_of(request).readers
        root = _service_root(request)
        async with _slot(request, actor):
            ctx = await _context(actor, [entity_set], _expand_targets(options))
            found = await readers.entity(ctx, entity_set, value, options, pairs, root)
        if found is None:
            raise ODataError(
                404, "not_found", f"{entity_set.name} has no entity with key {key} visible to you."
            )
        if not metadata:
            found.pop("@odata.context", None)
        return _json(found, metadata)

    return entity


for _set in ENTITY_SETS.values():
    router.add_api_route(
        f"/{_set.name}", _collection(_set), methods=["GET"], name=f"odata_{_set.name}"
    )
    router.add_api_route(
        f"/{_set.name}/$count", _count(_set), methods=["GET"], name=f"odata_{_set.name}_count"
    )
    router.add_api_route(
        f"/{_set.name}({{key}})", _entity(_set), methods=["GET"], name=f"odata_{_set.name}_key"
    )


def _expand_targets(options: Options) -> list[EntitySet]:
    return [ENTITY_SETS[e.navigation.target] for e in options.expand]


@asynccontextmanager
async def _slot(request: Request, actor: Actor) -> AsyncIterator[None]:
    limits: ODataLimits = request.app.state.odata_limits
    async with limits.slot(actor.principal.tenant_id):
        yield


def _token_key(request: Request) -> bytes:
    """The `$skiptoken` signing key, derived from the service's secret (SE4's pepper)."""
    pepper = tenancy_of(request).settings.pepper()
    return hmac.new(pepper, b"switchboard odata skiptoken v1", hashlib.sha256).digest()


_KEY_FORMS = re.compile(r"^(?:Id=)?(.*)$", re.DOTALL)


def _key(entity_set: EntitySet, text: str) -> Any:
    """The key of `/{set}({key})`: `'text'` (quotes doubled inside), a Guid or a number."""
    match = _KEY_FORMS.match(text.strip())
    raw = match.group(1).strip() if match else text
    prop = entity_set.key_property
    quoted = len(raw) >= 2 and raw[0] == raw[-1] == "'"
    value = raw[1:-1].replace("''", "'") if quoted else raw
    try:
        if prop.type == GUID:
            return str(uuid.UUID(value))
        if prop.type in (INT32, INT64):
            if quoted:
                raise ValueError(value)
            return int(value)
    except ValueError:
        raise bad_request(
            f"The key of {entity_set.name} is {prop.type}; got {text!r}.", target=prop.name
        ) from None
    return value


# ---------------------------------------------------------------------- errors (OD10)


async def _odata_error(request: Request, error: ODataError) -> Response:
    return _error_response(
        error.status,
        _error_body(error.code, error.message, error.target, error.details),
        error.headers,
    )


def _error_body(
    code: str, message: str, target: str | None, details: list[dict[str, Any]]
) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "target": target, "details": details}}


def _error_response(
    status: int, body: dict[str, Any], headers: Mapping[str, str] | None
) -> Response:
    return Response(
        orjson.dumps(body),
        status_code=status,
        media_type="application/json",
        headers=dict(headers or {}),
    )


class ODataErrors:
    """ASGI middleware for `/odata`: OData error bodies, 501 for writes, `OData-Version`.

    A problem document (`application/problem+json`) answered under `/odata` — by
    authentication, the permission guard, the router (unknown path: 404; another
    method: 405, answered 501 here) or the input limits — is rewritten into the
    OData JSON error format with the same status and headers; other responses
    pass through with `OData-Version: 4.0` added.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        if scope["type"] != "http" or not (path == PREFIX or path.startswith(PREFIX + "/")):
            await self.app(scope, receive, send)
            return
        start: MutableMapping[str, Any] | None = None
        chunks: list[bytes] = []

        async def relay(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                headers = [
                    (k, v) for k, v in message.get("headers", []) if k.lower() != b"odata-version"
                ]
                message["headers"] = [*headers, ODATA_VERSION]
                content_type = dict(headers).get(b"content-type", b"")
                if message["status"] >= 400 and content_type.startswith(PROBLEM.encode()):
                    start = message  # held back until the body is complete
                    return
                await send(message)
                return
            if start is None:
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            status, body = _rewrite(start["status"], b"".join(chunks))
            headers = [
                (k, v)
                for k, v in start["headers"]
                if k.lower() not in (b"content-type", b"content-length")
            ]
            headers += [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ]
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, relay)


def _rewrite(status: int, problem: bytes) -> tuple[int, bytes]:
    try:
        document = orjson.loads(problem)
    except orjson.JSONDecodeError:
        document = {}
    if status == 405:
        status = 501
        code, message = "not_implemented", "The reporting feed is read-only: only GET is offered."
    elif status == 404 and document.get("code") == "not_found":
        code = "not_found"
        message = "No such resource in this OData service; GET /odata/ lists the entity sets."
    else:
        code = str(document.get("code", "error"))
        message = str(document.get("detail", "The request was refused."))
    details = [
        {"code": e.get("code"), "message": e.get("message"), "target": e.get("path")}
        for e in document.get("errors", [])
        if isinstance(e, dict)
    ]
    return status, orjson.dumps(_error_body(code, message, document.get("target"), details))


__all__ = ["FeedFirst", "ODataErrors", "ODataLimits", "install", "router"]
