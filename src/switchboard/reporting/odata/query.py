"""Running an OData request against the store: one page, a count, or one entity.

Every statement is SQLAlchemy Core. Its WHERE clause always holds the tenant
(`tenant_id = :tenant`, 10 TI4), the principal's 08 §7 scope (services or users,
PM1 — in the query, never after paging, 10 OU5), and the compiled `$filter`.
Results are ordered by the requested `$orderby`, then `Id` ascending, so the order
is total; server-driven paging continues after the last row's values of those
properties (keyset, 08 OD8), carried in a signed `$skiptoken`.

Dimensions built from the configuration are a `VALUES` common table expression of
the rows the principal may see, so they go through the very same statements.

Every value of a request — tenant, scope, `$filter` literals, page size, keyset
position — is a named parameter. The statements over a table therefore depend
only on the request's shape (set, kind of scope, the filter without its values,
`$select`, `$orderby`, …) and are kept per shape: a request of a known shape
runs the kept statements with its own values, which spares building them and
SQLAlchemy's hashing of them to find their compiled SQL (about 0.6 ms of the
5 ms a page cost). Every parameter is required, so a value that were missing
would fail the statement, never reuse another request's.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import time
from collections import defaultdict
from collections.abc import Hashable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

from sqlalchemy import (
    BigInteger,
    Boolean,
    Connection,
    Double,
    Engine,
    Integer,
    String,
    and_,
    bindparam,
    cast,
    column,
    exists,
    false,
    func,
    literal,
    null,
    or_,
    select,
    values,
)
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.sql import ColumnElement, FromClause, Select
from sqlalchemy.sql.elements import BindParameter
from sqlalchemy.types import TypeEngine

from switchboard.domain.access import Capability
from switchboard.reporting.odata import tokens
from switchboard.reporting.odata.errors import ODataError
from switchboard.reporting.odata.filters import FilterCompiler
from switchboard.reporting.odata.filters import shape as filter_shape
from switchboard.reporting.odata.model import (
    BOOLEAN,
    DATETIME,
    DOUBLE,
    INT32,
    INT64,
    MS,
    EntitySet,
    Property,
)
from switchboard.reporting.odata.options import ExpandItem, Options, OrderItem
from switchboard.store.database import transaction

#: 08 OD8.
DEFAULT_PAGE = 1000
MAX_PAGE = 5000
#: 08 OD12: longer queries are cancelled (503 with Retry-After).
QUERY_TIMEOUT_S = 30.0

Rows = Sequence[Mapping[Any, Any]]

_ROW_TYPES: Mapping[str, TypeEngine[Any]] = {
    INT32: Integer(),
    INT64: BigInteger(),
    BOOLEAN: Boolean(),
    DOUBLE: Double(),
}


@dataclass(frozen=True, slots=True)
class Context:
    """What the principal may read, decided on the tenant's writer before the query runs.

    `scopes` holds `Access.report_scope` for the 08 §7 rows the request touches
    (None: the whole tenant); `rows` the dimension rows the principal sees, by set.
    """

    tenant_id: str
    sets: Mapping[str, EntitySet]
    scopes: Mapping[Capability, frozenset[str] | None] = field(default_factory=dict)
    rows: Mapping[str, Rows] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Paging:
    """What a collection request needs beyond its options: where it was asked and how
    to sign the next page's token."""

    service_root: str  # absolute URL of the service root, ending in '/'
    kept: Sequence[tuple[str, str]]  # query pairs a nextLink repeats (no $skip, $skiptoken)
    secret: bytes
    page_size: int = DEFAULT_PAGE
    metadata: bool = True  # odata.metadata=minimal (True) or none (False)


@dataclass(frozen=True, slots=True)
class _Source:
    from_: FromClause
    columns: Mapping[str, ColumnElement[Any]]
    where: tuple[ColumnElement[bool], ...]  # tenant and scope, as named parameters
    params: Mapping[str, Any]  # their values
    scope: str  # "all", "none" or "some": what the scope adds to the statements
    cacheable: bool  # a table's (the same for every request of its scope kind)


@dataclass(frozen=True, slots=True)
class _Statements:
    """The SELECT of a page and its COUNT, and the values of their parameters."""

    page: Select[Any]
    count: Select[Any]
    params: Mapping[str, Any]


#: Statements by request shape (see the module's docstring); cleared when full.
_KEPT: dict[Hashable, tuple[Select[Any], Select[Any]]] = {}
_KEPT_MAX = 1024
#: Table sources by (set, scope kind): they hold no value, only named parameters.
_SOURCES: dict[
    tuple[str, str], tuple[Mapping[str, ColumnElement[Any]], tuple[ColumnElement[bool], ...]]
] = {}


# ---------------------------------------------------------------------- public


def read_page(
    db: Engine, ctx: Context, entity_set: EntitySet, options: Options, paging: Paging
) -> dict[str, Any]:
    """One page of a collection, as the JSON object the feed answers with."""
    with _reading(db, ctx.tenant_id) as connection:
        return _page(connection, ctx, entity_set, options, paging)


def read_count(db: Engine, ctx: Context, entity_set: EntitySet, options: Options) -> int:
    """`/{set}/$count`: rows matching `$filter` within the principal's scope."""
    with _reading(db, ctx.tenant_id) as connection:
        built = _statements(ctx, entity_set, options, connection.dialect.name, None, 0)
        return int(connection.execute(built.count, built.params).scalar_one())


def read_entity(
    db: Engine, ctx: Context, entity_set: EntitySet, key: Any, options: Options, service_root: str
) -> dict[str, Any] | None:
    """`/{set}({key})`, or None when it does not exist or lies outside the scope."""
    with _reading(db, ctx.tenant_id) as connection:
        source = _source(ctx, entity_set, connection.dialect.name)
        shown = options.select or entity_set.properties
        fetched = _fetched(entity_set, shown, (), options.expand)
        key_column = source.columns[entity_set.key_property.column]
        stmt = (
            select(*_labels(source, fetched))
            .select_from(source.from_)
            .where(*source.where, key_column == key)
        )
        row = connection.execute(stmt, source.params).mappings().first()
        if row is None:
            return None
        body = {"@odata.context": f"{service_root}$metadata#{entity_set.name}/$entity"}
        entity = _entity(row, shown)
        for item in options.expand:
            entity[item.navigation.name] = _expanded(connection, ctx, item, [row])[0]
        return body | entity


def statements(
    ctx: Context, entity_set: EntitySet, options: Options, dialect: str, limit: int
) -> tuple[Select[Any], Select[Any], Mapping[str, Any]]:
    """The first page's SELECT, the SELECT behind `$count=true` and the values of their
    parameters (what `switchboard bench odata` measures without HTTP)."""
    built = _statements(ctx, entity_set, options, dialect, None, limit)
    return built.page, built.count, built.params


# ---------------------------------------------------------------------- pages


def _page(
    connection: Connection, ctx: Context, entity_set: EntitySet, options: Options, paging: Paging
) -> dict[str, Any]:
    order = _order(entity_set, options)
    digest = tokens.query_digest(
        ctx.tenant_id, entity_set.name, options.filter_text, options.orderby_text
    )
    position = (
        tokens.read(paging.secret, digest, options.skiptoken, len(order))
        if options.skiptoken
        else None
    )
    delivered = position.delivered if position is not None else 0
    limit = paging.page_size
    if options.top is not None:
        limit = max(0, min(limit, options.top - delivered))
    body: dict[str, Any] = {}
    if paging.metadata:
        body["@odata.context"] = _context_url(paging.service_root, entity_set, options)
    built = _statements(ctx, entity_set, options, connection.dialect.name, position, limit + 1)
    if options.count:
        body["@odata.count"] = int(connection.execute(built.count, built.params).scalar_one())
    rows: list[Mapping[Any, Any]] = []
    if limit > 0:
        rows = list(connection.execute(built.page, built.params).mappings().all())
    more = len(rows) > limit
    rows = rows[:limit]
    shown = options.select or entity_set.properties
    shape = _Shape(shown)
    entities = [shape.entity(row) for row in rows]
    for item in options.expand:
        for entity, related in zip(entities, _expanded(connection, ctx, item, rows), strict=True):
            entity[item.navigation.name] = related
    body["value"] = entities
    done = options.top is not None and delivered + len(rows) >= options.top
    if more and rows and not done:
        last = rows[-1]
        token = tokens.issue(
            paging.secret,
            digest,
            tokens.Position(
                tuple(_token_value(o.property, last[o.property.name]) for o in order),
                delivered + len(rows),
            ),
        )
        query = urlencode([*paging.kept, ("$skiptoken", token)], quote_via=quote, safe="$,'()")
        body["@odata.nextLink"] = f"{paging.service_root}{entity_set.name}?{query}"
    return body


def _statements(
    ctx: Context,
    entity_set: EntitySet,
    options: Options,
    dialect: str,
    position: tokens.Position | None,
    limit: int,
) -> _Statements:
    """The statements of a request, kept per shape for table sets, with its values."""
    source = _source(ctx, entity_set, dialect)
    compiler = FilterCompiler(entity_set, source.columns, dialect)
    condition = compiler.compile(options.filter) if options.filter is not None else None
    order = _order(entity_set, options)
    offset = position is None and options.skip > 0
    params: dict[str, Any] = {**source.params, **compiler.values, "limit": limit}
    if offset:
        params["offset"] = options.skip
    if position is not None:
        for i, (item, raw) in enumerate(zip(order, position.values, strict=True)):
            params[f"after_{i}"] = _from_token(item.property, raw)
    key: Hashable = None
    if source.cacheable:
        key = (
            entity_set.name,
            dialect,
            source.scope,
            None if options.filter is None else filter_shape(options.filter),
            None if options.select is None else tuple(p.name for p in options.select),
            tuple((o.property.name, o.descending) for o in order),
            tuple(e.navigation.name for e in options.expand),
            None if position is None else tuple(v is None for v in position.values),
            offset,
        )
        kept = _KEPT.get(key)
        if kept is not None:
            return _Statements(*kept, params)
    filtered = () if condition is None else (condition,)
    shown = options.select or entity_set.properties
    fetched = _fetched(entity_set, shown, order, options.expand)
    page = (
        select(*_labels(source, fetched)).select_from(source.from_).where(*source.where, *filtered)
    )
    if position is not None:
        page = page.where(_after(source, order, position.values))
    elif offset:
        page = page.offset(bindparam("offset", type_=Integer()))
    page = page.order_by(*(_order_clause(source, o) for o in order))
    page = page.limit(bindparam("limit", type_=Integer()))
    count = select(func.count()).select_from(source.from_).where(*source.where, *filtered)
    if key is not None:
        if len(_KEPT) >= _KEPT_MAX:
            _KEPT.clear()
        _KEPT[key] = (page, count)
    return _Statements(page, count, params)


def _order(entity_set: EntitySet, options: Options) -> tuple[OrderItem, ...]:
    """The requested order, then the key ascending, so that it is total."""
    key = entity_set.key_property
    if any(o.property == key for o in options.orderby):
        return options.orderby
    return (*options.orderby, OrderItem(key, False))


def _order_clause(source: _Source, item: OrderItem) -> ColumnElement[Any]:
    col = source.columns[item.property.column]
    clause = col.desc() if item.descending else col.asc()
    if item.property.nullable:  # OData: null sorts before any value, ascending
        clause = clause.nulls_last() if item.descending else clause.nulls_first()
    return clause


def _after(
    source: _Source, order: Sequence[OrderItem], values: Sequence[Any]
) -> ColumnElement[bool]:
    """Rows strictly after the position `values` in `order` (keyset paging); each
    value that is not null is the parameter `after_<i>`."""
    condition: ColumnElement[bool] | None = None
    for i, (item, raw) in reversed(list(enumerate(zip(order, values, strict=True)))):
        col = source.columns[item.property.column]
        if raw is None:
            beyond: ColumnElement[bool] = false() if item.descending else col.is_not(None)
            equal: ColumnElement[bool] = col.is_(None)
        else:
            value = bindparam(f"after_{i}", type_=col.type)
            beyond = col < value if item.descending else col > value
            if item.descending and item.property.nullable:
                beyond = or_(beyond, col.is_(None))
            equal = col == value
        condition = beyond if condition is None else or_(beyond, and_(equal, condition))
    assert condition is not None
    return condition


# ---------------------------------------------------------------------- sources


def _source(ctx: Context, entity_set: EntitySet, dialect: str) -> _Source:
    if entity_set.table is not None:
        table = entity_set.table
        ids = _scope_ids(ctx, entity_set)
        scope = "all" if ids is None else "some" if ids else "none"
        params: dict[str, Any] = {"tenant_id": ctx.tenant_id}
        if ids:
            params["scope_ids"] = sorted(ids)
        kept = _SOURCES.get((entity_set.name, scope))
        if kept is None:
            columns: dict[str, ColumnElement[Any]] = {c.name: c for c in table.columns}
            tenant = bindparam("tenant_id", type_=table.c.tenant_id.type)
            where: list[ColumnElement[bool]] = [table.c.tenant_id == tenant]
            condition = _scope(entity_set, columns, scope, tenant)
            if condition is not None:
                where.append(condition)
            kept = (columns, tuple(where))
            _SOURCES[(entity_set.name, scope)] = kept
        return _Source(table, kept[0], kept[1], params, scope, cacheable=True)
    rows = ctx.rows[entity_set.name]
    name = f"odata_{entity_set.name.lower()}"
    props = entity_set.properties
    if rows:
        data = values(
            *(column(p.column, _ROW_TYPES.get(p.type, String())) for p in props),
            name=name,
            literal_binds=True,  # rendered by SQLAlchemy's literal processors, escaped
        ).data([tuple(row.get(p.column) for p in props) for row in rows])
        cte = data.cte(name)
    else:
        empty = select(
            *(cast(null(), _ROW_TYPES.get(p.type, String())).label(p.column) for p in props)
        ).where(false())
        cte = empty.cte(name)
    return _Source(cte, {p.column: cte.c[p.column] for p in props}, (), {}, "rows", False)


def _scope_ids(ctx: Context, entity_set: EntitySet) -> frozenset[str] | None:
    """The services (or users) whose rows the principal reads; None: the whole tenant."""
    if entity_set.scoping is None:
        return None
    if entity_set.capability not in ctx.scopes:
        raise RuntimeError(f"no scope computed for {entity_set.capability} ({entity_set.name})")
    return ctx.scopes[entity_set.capability]


def _scope(
    entity_set: EntitySet,
    columns: Mapping[str, ColumnElement[Any]],
    scope: str,
    tenant: ColumnElement[Any],
) -> ColumnElement[bool] | None:
    """The scope's condition: none (the whole tenant), false (nothing), or the rows of
    the services (or users) in the parameter `scope_ids`."""
    scoping = entity_set.scoping
    if scoping is None or scope == "all":
        return None
    if scope == "none":
        return false()
    chosen: BindParameter[Any] = bindparam("scope_ids", expanding=True)
    if scoping.via is None:
        return columns[scoping.column].in_(chosen)
    via = scoping.via
    return exists(
        select(literal(1)).where(
            via.c.tenant_id == tenant,
            via.c[scoping.link_to] == columns[scoping.link],
            via.c[scoping.column].in_(chosen),
        )
    )


# ---------------------------------------------------------------------- rows and JSON


def _fetched(
    entity_set: EntitySet,
    shown: Sequence[Property],
    order: Sequence[OrderItem],
    expand: Sequence[ExpandItem],
) -> list[Property]:
    """What a statement selects: the shown properties, plus what ordering, paging and
    expansion need (not shown unless selected)."""
    wanted = [*shown, *(o.property for o in order), entity_set.key_property]
    wanted += [entity_set.by_name[e.navigation.local] for e in expand]
    fetched: list[Property] = []
    for prop in wanted:
        if prop not in fetched:
            fetched.append(prop)
    return fetched


def _labels(source: _Source, props: Sequence[Property]) -> list[ColumnElement[Any]]:
    return [source.columns[p.column].label(p.name) for p in props]


def _entity(row: Mapping[Any, Any], shown: Sequence[Property]) -> dict[str, Any]:
    return _Shape(shown).entity(row)


class _Shape:
    """How the shown properties of a row become JSON: a converter per property, picked
    once per page instead of once per value."""

    def __init__(self, shown: Sequence[Property]) -> None:
        self.fields = [(p.name, _converter(p)) for p in shown]

    def entity(self, row: Mapping[Any, Any]) -> dict[str, Any]:
        shown = {}
        for name, convert in self.fields:
            value = row[name]
            shown[name] = value if convert is None or value is None else convert(value)
        return shown


def _converter(prop: Property) -> Any:
    if prop.milliseconds:
        return _seconds
    if prop.type == DATETIME:
        return _timestamp
    return None


def _seconds(value: int) -> float:
    return value / MS


def _timestamp(value: dt.datetime) -> str:
    """UTC with milliseconds and `Z` (RP3, OD4). The store reads timestamps as UTC,
    so this is one `isoformat` whose `+00:00` becomes `Z`."""
    if value.tzinfo is not dt.UTC:
        value = value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)
    return value.isoformat(timespec="milliseconds")[:-6] + "Z"


def _token_value(prop: Property, value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.datetime) else value


def _from_token(prop: Property, value: Any) -> Any:
    if value is None:
        return None
    if prop.type == DATETIME:
        return dt.datetime.fromisoformat(value)
    return value


def _context_url(root: str, entity_set: EntitySet, options: Options) -> str:
    url = f"{root}$metadata#{entity_set.name}"
    if options.select is None:
        return url
    parts = [p.name for p in options.select]
    parts += [f"{e.navigation.name}()" for e in options.expand]
    return f"{url}({','.join(parts)})"


# ---------------------------------------------------------------------- $expand


def _expanded(
    connection: Connection, ctx: Context, item: ExpandItem, rows: Sequence[Mapping[Any, Any]]
) -> list[Any]:
    """Per row of `rows`, the related entity (or None) or the list of related entities."""
    nav = item.navigation
    target = ctx.sets[nav.target]
    keys = sorted({row[nav.local] for row in rows if row[nav.local] is not None})
    if not keys:
        return [[] if nav.many else None for _ in rows]
    source = _source(ctx, target, connection.dialect.name)
    remote = target.by_name[nav.remote]
    shown = item.select or target.properties
    fetched = _fetched(target, shown, (), ())
    if remote not in fetched:
        fetched.append(remote)
    remote_column = source.columns[remote.column]
    related: dict[Any, list[dict[str, Any]]] = defaultdict(list)
    for chunk in _chunks(keys, 1000):
        stmt = (
            select(*_labels(source, fetched))
            .select_from(source.from_)
            .where(*source.where, remote_column.in_(chunk))
            .order_by(remote_column, source.columns[target.key_property.column])
        )
        shape = _Shape(shown)
        for found in connection.execute(stmt, source.params).mappings().all():
            related[found[remote.name]].append(shape.entity(found))
    if nav.many:
        return [related.get(row[nav.local], []) for row in rows]
    return [next(iter(related.get(row[nav.local], [])), None) for row in rows]


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# ---------------------------------------------------------------------- the transaction


@contextmanager
def _reading(db: Engine, tenant_id: str) -> Iterator[Connection]:
    """A read transaction with the tenant's RLS context whose statements are cancelled
    after `QUERY_TIMEOUT_S` (08 OD12): 503 `query_timeout`."""
    try:
        # PostgreSQL: the timeout is set with the tenant, in one round trip.
        timeout = {"statement_timeout": str(round(QUERY_TIMEOUT_S * 1000))}
        with transaction(db, tenant_id, settings=timeout) as connection, _deadline(connection):
            yield connection
    except OperationalError as error:
        if _timed_out(error):
            raise ODataError(
                503,
                "query_timeout",
                f"The query ran longer than {QUERY_TIMEOUT_S:.0f} s and was cancelled; "
                "narrow it with $filter or $top.",
                headers={"Retry-After": "30"},
            ) from None
        raise


@contextmanager
def _deadline(connection: Connection) -> Iterator[None]:
    """SQLite has no statement timeout: a progress handler interrupts a query over it."""
    raw = connection.connection.driver_connection
    if not isinstance(raw, sqlite3.Connection):
        yield
        return
    ends = time.monotonic() + QUERY_TIMEOUT_S
    raw.set_progress_handler(lambda: int(time.monotonic() > ends), 10_000)
    try:
        yield
    finally:
        raw.set_progress_handler(None, 0)


def _timed_out(error: DBAPIError) -> bool:
    original = error.orig
    if getattr(original, "sqlstate", None) == "57014":  # PostgreSQL query_canceled
        return True
    return isinstance(original, sqlite3.OperationalError) and "interrupted" in str(original)
