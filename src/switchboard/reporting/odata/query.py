"""Running an OData request against the store: one page, a count, or one entity.

Every statement is SQLAlchemy Core. Its WHERE clause always holds the tenant
(`tenant_id = :tenant`, 10 TI4), the principal's 08 §7 scope (services or users,
PM1 — in the query, never after paging, 10 OU5), and the compiled `$filter`.
Results are ordered by the requested `$orderby`, then `Id` ascending, so the order
is total; server-driven paging continues after the last row's values of those
properties (keyset, 08 OD8), carried in a signed `$skiptoken`.

Dimensions built from the configuration are a `VALUES` common table expression of
the rows the principal may see, so they go through the very same statements.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import time
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
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
from sqlalchemy.types import TypeEngine

from switchboard.domain.access import Capability
from switchboard.reporting.odata import tokens
from switchboard.reporting.odata.errors import ODataError
from switchboard.reporting.odata.filters import FilterCompiler
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
    where: tuple[ColumnElement[bool], ...]  # tenant and scope


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
        source = _source(ctx, entity_set, connection.dialect.name)
        return _count(connection, ctx, entity_set, options, source)


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
        row = connection.execute(stmt).mappings().first()
        if row is None:
            return None
        body = {"@odata.context": f"{service_root}$metadata#{entity_set.name}/$entity"}
        entity = _entity(row, shown)
        for item in options.expand:
            entity[item.navigation.name] = _expanded(connection, ctx, item, [row])[0]
        return body | entity


def statement(
    ctx: Context, entity_set: EntitySet, options: Options, dialect: str, limit: int
) -> Select[Any]:
    """The first page's SELECT (what `switchboard bench odata` measures without HTTP)."""
    source = _source(ctx, entity_set, dialect)
    return _select(ctx, entity_set, options, source, dialect, None, limit)


def count_statement(
    ctx: Context, entity_set: EntitySet, options: Options, dialect: str
) -> Select[Any]:
    """The SELECT behind `$count=true` (for the same benchmark)."""
    return _count_select(entity_set, options, _source(ctx, entity_set, dialect), dialect)


# ---------------------------------------------------------------------- pages


def _page(
    connection: Connection, ctx: Context, entity_set: EntitySet, options: Options, paging: Paging
) -> dict[str, Any]:
    dialect = connection.dialect.name
    source = _source(ctx, entity_set, dialect)
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
    if options.count:
        body["@odata.count"] = _count(connection, ctx, entity_set, options, source)
    rows: list[Mapping[Any, Any]] = []
    if limit > 0:
        stmt = _select(ctx, entity_set, options, source, dialect, position, limit + 1)
        rows = list(connection.execute(stmt).mappings().all())
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


def _select(
    ctx: Context,
    entity_set: EntitySet,
    options: Options,
    source: _Source,
    dialect: str,
    position: tokens.Position | None,
    limit: int,
) -> Select[Any]:
    order = _order(entity_set, options)
    shown = options.select or entity_set.properties
    fetched = _fetched(entity_set, shown, order, options.expand)
    stmt = (
        select(*_labels(source, fetched))
        .select_from(source.from_)
        .where(*source.where, *_filter(entity_set, options, source, dialect))
    )
    if position is not None:
        stmt = stmt.where(_after(source, order, position.values))
    elif options.skip:
        stmt = stmt.offset(options.skip)
    return stmt.order_by(*(_order_clause(source, o) for o in order)).limit(limit)


def _count(
    connection: Connection, ctx: Context, entity_set: EntitySet, options: Options, source: _Source
) -> int:
    stmt = _count_select(entity_set, options, source, connection.dialect.name)
    return int(connection.execute(stmt).scalar_one())


def _count_select(
    entity_set: EntitySet, options: Options, source: _Source, dialect: str
) -> Select[Any]:
    return (
        select(func.count())
        .select_from(source.from_)
        .where(*source.where, *_filter(entity_set, options, source, dialect))
    )


def _filter(
    entity_set: EntitySet, options: Options, source: _Source, dialect: str
) -> tuple[ColumnElement[bool], ...]:
    if options.filter is None:
        return ()
    return (FilterCompiler(entity_set, source.columns, dialect).compile(options.filter),)


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
    """Rows strictly after the position `values` in `order` (keyset paging)."""
    condition: ColumnElement[bool] | None = None
    for item, raw in reversed(list(zip(order, values, strict=True))):
        col = source.columns[item.property.column]
        value = _from_token(item.property, raw)
        if value is None:
            beyond: ColumnElement[bool] = false() if item.descending else col.is_not(None)
            equal: ColumnElement[bool] = col.is_(None)
        else:
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
        columns = {c.name: c for c in table.columns}
        where: list[ColumnElement[bool]] = [table.c.tenant_id == ctx.tenant_id]
        scope = _scope(ctx, entity_set, columns)
        if scope is not None:
            where.append(scope)
        return _Source(table, columns, tuple(where))
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
    return _Source(cte, {p.column: cte.c[p.column] for p in props}, ())


def _scope(
    ctx: Context, entity_set: EntitySet, columns: Mapping[str, ColumnElement[Any]]
) -> ColumnElement[bool] | None:
    scoping = entity_set.scoping
    if scoping is None:
        return None
    if entity_set.capability not in ctx.scopes:
        raise RuntimeError(f"no scope computed for {entity_set.capability} ({entity_set.name})")
    ids = ctx.scopes[entity_set.capability]
    if ids is None:
        return None  # the whole tenant
    if not ids:
        return false()
    chosen = sorted(ids)
    if scoping.via is None:
        return columns[scoping.column].in_(chosen)
    via = scoping.via
    return exists(
        select(literal(1)).where(
            via.c.tenant_id == ctx.tenant_id,
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
    """UTC with milliseconds and `Z` (RP3, OD4)."""
    if value.utcoffset():
        value = value.astimezone(dt.UTC)
    return value.replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z"


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
        for found in connection.execute(stmt).mappings().all():
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
        with transaction(db, tenant_id) as connection, _deadline(connection):
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
    if connection.dialect.name == "postgresql":
        timeout_ms = str(round(QUERY_TIMEOUT_S * 1000))
        connection.execute(select(func.set_config("statement_timeout", timeout_ms, True)))
        yield
        return
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
