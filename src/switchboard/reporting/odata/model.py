"""The feed's entity data model: entity sets, their properties and navigation (08 OD3-OD5).

Properties are derived from the store's SQLAlchemy tables, column by column, so a
column added to a reporting table appears in the feed (and in `$metadata`) with no
change here; what cannot be derived — which sets exist, their keys, which id
columns hold Guids, navigation, and who may read them — is stated explicitly in
`switchboard.reporting.odata.sets`.

Derivation rules (08 OD4): names become PascalCase (`service_id` -> `ServiceId`);
`*_ms` columns (milliseconds) become `*Seconds` of type `Edm.Decimal` with scale 3,
and `*_s` columns (whole seconds) `*Seconds` of their integer type; `tenant_id` is
never exposed. No enum, complex or collection types: enumerations are their codes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import BigInteger, Boolean, Double, Integer, String, Table, Text
from sqlalchemy.types import TypeEngine

from switchboard.domain.access import Capability, Target
from switchboard.engine.state import TenantState
from switchboard.store.schema import UtcDateTime

NAMESPACE = "Switchboard.Reporting"
CONTAINER = "Reporting"

STRING, GUID, INT32, INT64 = "Edm.String", "Edm.Guid", "Edm.Int32", "Edm.Int64"
BOOLEAN, DECIMAL, DOUBLE = "Edm.Boolean", "Edm.Decimal", "Edm.Double"
DATETIME = "Edm.DateTimeOffset"

#: Milliseconds a second (columns `*_ms` are exposed as seconds, RP3).
MS = 1000


@dataclass(frozen=True, slots=True)
class Property:
    """One structural property and the source column behind it."""

    name: str
    column: str
    type: str
    nullable: bool
    max_length: int | None = None
    precision: int | None = None  # Edm.DateTimeOffset: digits of fractional seconds
    scale: int | None = None  # Edm.Decimal
    milliseconds: bool = False  # the column holds ms, the property is seconds


@dataclass(frozen=True, slots=True)
class Navigation:
    """A navigation property: `local` on this side equals `remote` on the target set."""

    name: str
    target: str  # entity-set name
    many: bool
    local: str  # property name here
    remote: str  # property name on the target


#: Builds an in-memory set's rows from the tenant's configuration: `(state, sees)` where
#: `sees(target)` says whether the principal may read an entity placed there.
RowBuilder = Callable[[TenantState, Callable[[Target], bool]], Sequence[Mapping[str, Any]]]


@dataclass(frozen=True, slots=True)
class Scoping:
    """How a table-backed set is restricted to the principal's rows (08 §7, PM1).

    `column` holds the service or user id the scope lists; `via` names a table whose
    `id` is joined from `link` (a unified or transfer session is in scope when a
    service session of it is), so the test runs in the query (10 OU5).
    """

    column: str
    via: Table | None = None
    link: str = "id"  # this set's column matched against `via`'s `link_to`
    link_to: str = "id"


@dataclass(frozen=True, slots=True)
class EntitySet:
    name: str
    type_name: str
    capability: Capability
    properties: tuple[Property, ...]
    key: str = "Id"
    navigation: tuple[Navigation, ...] = ()
    table: Table | None = None  # projected rows in the store …
    scoping: Scoping | None = None  # … and how they are scoped (None: all rows)
    rows: RowBuilder | None = None  # … or rows built per request (dimensions)
    description: str = ""
    by_name: Mapping[str, Property] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_name", {p.name: p for p in self.properties})
        if self.key not in self.by_name:
            raise ValueError(f"entity set {self.name}: key {self.key} is not a property")
        if (self.table is None) == (self.rows is None):
            raise ValueError(f"entity set {self.name}: give exactly one of table and rows")

    @property
    def key_property(self) -> Property:
        return self.by_name[self.key]

    def navigation_named(self, name: str) -> Navigation | None:
        return next((n for n in self.navigation if n.name == name), None)


def pascal(name: str) -> str:
    """`first_enqueued_at` -> `FirstEnqueuedAt`."""
    return "".join(part[:1].upper() + part[1:] for part in name.split("_") if part)


def edm_type(sql_type: TypeEngine[Any]) -> str:
    """The Edm type of a column type of the store schema."""
    if isinstance(sql_type, UtcDateTime):
        return DATETIME
    if isinstance(sql_type, Boolean):
        return BOOLEAN
    if isinstance(sql_type, BigInteger):
        return INT64
    if isinstance(sql_type, Integer):
        return INT32
    if isinstance(sql_type, Double):
        return DOUBLE
    if isinstance(sql_type, String | Text):
        return STRING
    raise TypeError(f"no Edm type for the column type {sql_type!r}")


def table_properties(
    table: Table,
    *,
    guids: frozenset[str] = frozenset(),
    names: Mapping[str, str] | None = None,
) -> tuple[Property, ...]:
    """The properties of every column of `table` but `tenant_id`, by the rules above.

    `guids` are columns whose values are UUIDs (`Edm.Guid`); `names` overrides a
    derived property name. Entries naming columns the table does not have are
    ignored here (the model test reports them), so a renamed column never takes
    the feed down.
    """
    names = names or {}
    found = []
    for column in table.columns:
        if column.name == "tenant_id":
            continue
        kind = edm_type(column.type)
        stem, ms = column.name, False
        if stem.endswith("_ms"):
            stem, ms, kind = stem[:-3] + "_seconds", True, DECIMAL
        elif stem.endswith("_s") and kind in (INT32, INT64):
            stem = stem[:-2] + "_seconds"
        if column.name in guids:
            kind = GUID
        length = getattr(column.type, "length", None) if kind == STRING else None
        found.append(
            Property(
                name=names.get(column.name, pascal(stem)),
                column=column.name,
                type=kind,
                nullable=bool(column.nullable),
                max_length=length,
                precision=3 if kind == DATETIME else None,
                scale=3 if ms else None,
                milliseconds=ms,
            )
        )
    return tuple(found)


def row_properties(*spec: tuple[str, str, bool]) -> tuple[Property, ...]:
    """Properties of an in-memory set: `(column, Edm type, nullable)` each."""
    return tuple(
        Property(name=pascal(column), column=column, type=kind, nullable=nullable)
        for column, kind, nullable in spec
    )
