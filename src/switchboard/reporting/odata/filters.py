"""`$filter` (odata-query's AST) compiled to a SQLAlchemy Core condition (08 OD6).

Only the entity set's own properties can be named, each mapped to its column, and
every literal becomes a bound parameter of the column's type: no text of the
request ever reaches SQL. Supported: `eq ne gt ge lt le in`, `and or not`,
parentheses, the literals of the OData ABNF that the properties' types take,
`contains startswith endswith tolower toupper` on strings and
`year month day hour minute second date` on timestamps (UTC). Arithmetic,
lambda operators and filters across navigation properties are 501.

OData compares with two-valued logic — `null eq 'x'` is false, `null ne 'x'` is
true, and `not` of a false comparison is true — while SQL yields NULL for any
comparison with NULL. Comparisons on nullable columns therefore carry an explicit
`IS [NOT] NULL` term, so every compiled condition is true or false, never NULL,
and `not` means what OData says.

Properties exposed in seconds (`*Seconds`, stored as milliseconds) are compared
in milliseconds: the literal is multiplied, the column left alone (indexes keep
working).

Every value taken from the request is a *named* parameter without a value
(`f0`, `f1`, … in the order the compiler meets them), its value kept in
`FilterCompiler.values`. So the condition's SQL depends only on the filter's
`shape` — the tree with its literals' values left out — and the statements built
on it can be kept and run again with another request's values
(`switchboard.reporting.odata.query`); a parameter left without a value fails
the statement instead of reusing an old one.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from odata_query import ast
from sqlalchemy import (
    Date,
    Integer,
    String,
    and_,
    bindparam,
    cast,
    extract,
    false,
    func,
    not_,
    or_,
    true,
)
from sqlalchemy.sql.elements import BindParameter, ColumnElement
from sqlalchemy.types import NullType, TypeEngine

from switchboard.reporting.odata.errors import ODataError, bad_request, not_implemented
from switchboard.reporting.odata.model import (
    BOOLEAN,
    DATETIME,
    DECIMAL,
    DOUBLE,
    GUID,
    INT32,
    INT64,
    MS,
    STRING,
    EntitySet,
)

#: The type `date(...)` yields; no property has it.
DATE = "Edm.Date"
NUMERIC = frozenset({INT32, INT64, DECIMAL, DOUBLE})
Condition = ColumnElement[bool]


@dataclass(frozen=True, slots=True)
class Operand:
    """A value computed from a property: its SQL, Edm type and whether it can be null."""

    expr: ColumnElement[Any]
    type: str
    nullable: bool
    milliseconds: bool = False
    name: str = ""


_MIRROR: Mapping[type[ast._Comparator], type[ast._Comparator]] = {
    ast.Lt: ast.Gt,
    ast.LtE: ast.GtE,
    ast.Gt: ast.Lt,
    ast.GtE: ast.LtE,
    ast.Eq: ast.Eq,
    ast.NotEq: ast.NotEq,
}

_SQL_COMPARE: Mapping[type[ast._Comparator], Callable[[Any, Any], Condition]] = {
    ast.Eq: lambda a, b: a == b,
    ast.NotEq: lambda a, b: a != b,
    ast.Lt: lambda a, b: a < b,
    ast.LtE: lambda a, b: a <= b,
    ast.Gt: lambda a, b: a > b,
    ast.GtE: lambda a, b: a >= b,
}

_PARTS = {"year": "%Y", "month": "%m", "day": "%d", "hour": "%H", "minute": "%M", "second": "%S"}


def shape(node: Any) -> Hashable:
    """What of a `$filter` tree decides its SQL: every node and name, the kind of each
    literal but not its value — except a Boolean's, which may stand for a condition
    (`true`, `false`). Two filters of one shape compile to the same SQL, their values
    bound under the same parameter names."""
    if isinstance(node, ast.Boolean):
        return ("Boolean", node.val.lower())
    if isinstance(node, ast.List):
        return ("List", tuple(shape(item) for item in node.val))
    if isinstance(node, ast._Literal):
        return type(node).__name__
    if isinstance(node, ast._Node):
        fields = dataclasses.fields(node)
        return (type(node).__name__, *(shape(getattr(node, f.name)) for f in fields))
    if isinstance(node, list | tuple):
        return tuple(shape(item) for item in node)
    assert isinstance(node, str), node  # names: identifiers, namespaces, attributes
    return node


class FilterCompiler:
    """Compiles one `$filter` of an entity set; `columns` maps column names to SQL columns.

    After `compile`, `values` holds the value of each parameter of the condition.
    """

    def __init__(
        self, entity_set: EntitySet, columns: Mapping[str, ColumnElement[Any]], dialect: str
    ) -> None:
        self.entity_set = entity_set
        self.columns = columns
        self.sqlite = dialect == "sqlite"
        self.values: dict[str, Any] = {}

    def compile(self, node: ast._Node) -> Condition:
        return self._condition(node)

    def _bind(self, value: Any, type_: TypeEngine[Any]) -> BindParameter[Any]:
        """A named parameter for `value`, compared as `type_`; the value goes to `values`."""
        name = f"f{len(self.values)}"
        self.values[name] = value
        if isinstance(type_, NullType):  # an untyped SQL function: type the value itself
            type_ = String() if isinstance(value, str) else type_
        return bindparam(name, type_=type_)

    # ------------------------------------------------------------------ conditions

    def _condition(self, node: ast._Node) -> Condition:
        if isinstance(node, ast.BoolOp):
            left, right = self._condition(node.left), self._condition(node.right)
            return and_(left, right) if isinstance(node.op, ast.And) else or_(left, right)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            return not_(self._condition(node.operand))
        if isinstance(node, ast.Compare):
            return self._compare(node)
        if isinstance(node, ast.Call):
            return self._predicate(node)
        if isinstance(node, ast.Boolean):
            return true() if node.py_val else false()
        if isinstance(node, ast.Identifier):
            operand = self._property(node)
            if operand.type == BOOLEAN:
                return self._guard(operand, operand.expr == True)  # noqa: E712 (SQL)
        raise bad_request(
            f"$filter needs a condition here, such as 'Property eq value'; got {_show(node)}.",
            target="$filter",
        )

    def _compare(self, node: ast.Compare) -> Condition:
        if isinstance(node.comparator, ast.In):
            return self._in(node)
        left, right = self._value(node.left), self._value(node.right)
        comparator: type[ast._Comparator] = type(node.comparator)
        if not isinstance(left, Operand):
            if not isinstance(right, Operand):
                raise bad_request(
                    "$filter compares two literals; name a property on one side.",
                    target="$filter",
                )
            left, right, comparator = right, left, _MIRROR[comparator]
        assert isinstance(left, Operand)
        compare = _SQL_COMPARE[comparator]
        if isinstance(right, Operand):
            return self._compare_operands(left, right, comparator)
        if isinstance(right, ast.Null):
            if comparator is ast.Eq:
                return left.expr.is_(None)
            if comparator is ast.NotEq:
                return left.expr.is_not(None)
            return false()  # ordering against null is never true in OData
        value = self._literal(right, left)
        if comparator is ast.NotEq:
            condition: Condition = left.expr != value
            return or_(left.expr.is_(None), condition) if left.nullable else condition
        return self._guard(left, compare(left.expr, value))

    def _compare_operands(
        self, left: Operand, right: Operand, comparator: type[ast._Comparator]
    ) -> Condition:
        if left.type != right.type and not (left.type in NUMERIC and right.type in NUMERIC):
            raise bad_request(
                f"$filter compares {left.name} ({left.type}) with {right.name} ({right.type}).",
                target=right.name or "$filter",
            )
        a, b = left.expr, right.expr
        if left.milliseconds != right.milliseconds:  # seconds against a plain number
            a, b = (a, b * MS) if left.milliseconds else (a * MS, b)
        if comparator is ast.Eq:
            return a.is_not_distinct_from(b)
        if comparator is ast.NotEq:
            return a.is_distinct_from(b)
        return self._guard(right, self._guard(left, _SQL_COMPARE[comparator](a, b)))

    def _in(self, node: ast.Compare) -> Condition:
        operand = self._value(node.left)
        if not isinstance(operand, Operand):
            raise bad_request("$filter: 'in' needs a property on its left.", target="$filter")
        items = node.right.val if isinstance(node.right, ast.List) else [node.right]
        literals = [self._value(i) for i in items]
        if any(isinstance(i, Operand) for i in literals):
            raise not_implemented("$filter: 'in' takes a list of literals.", target="$filter")
        given = [i for i in literals if isinstance(i, ast._Literal)]
        values = [self._literal(i, operand) for i in given if not isinstance(i, ast.Null)]
        wants_null = any(isinstance(i, ast.Null) for i in given)
        condition = self._guard(operand, operand.expr.in_(values)) if values else false()
        return or_(condition, operand.expr.is_(None)) if wants_null else condition

    def _predicate(self, node: ast.Call) -> Condition:
        name = node.func.name.lower()
        if name not in ("contains", "startswith", "endswith"):
            if name in _PARTS or name in ("date", "tolower", "toupper"):
                raise bad_request(
                    f"$filter: {name}() is a value; compare it, e.g. '{name}(…) eq …'.",
                    target="$filter",
                )
            raise not_implemented(f"$filter does not support the function {name}().", target=name)
        if len(node.args) != 2:
            raise bad_request(f"$filter: {name}() takes two arguments.", target="$filter")
        text, part = self._value(node.args[0]), self._value(node.args[1])
        if not isinstance(text, Operand) or text.type != STRING:
            raise bad_request(
                f"$filter: the first argument of {name}() must be a string property.",
                target=getattr(text, "name", "") or "$filter",
            )
        if not isinstance(part, ast.String):
            raise not_implemented(
                f"$filter: the second argument of {name}() must be a string literal.",
                target="$filter",
            )
        value: str = part.py_val
        needle = self._bind(value, String())
        expr = text.expr
        if name == "contains":
            found = func.instr(expr, needle) if self.sqlite else func.strpos(expr, needle)
            condition: Condition = found > 0
        elif name == "startswith":
            condition = func.substr(expr, 1, self._bind(len(value), Integer())) == needle
        else:
            n = self._bind(len(value), Integer())
            length = func.length(expr)
            condition = and_(length >= n, func.substr(expr, length - n + 1, n) == needle)
        return self._guard(text, condition)

    # ------------------------------------------------------------------ values

    def _value(self, node: ast._Node) -> Operand | ast._Literal:
        if isinstance(node, ast.Identifier):
            return self._property(node)
        if isinstance(node, ast._Literal):
            return node
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            inner = node.operand
            if isinstance(inner, ast.Integer | ast.Float):
                return type(inner)(val=f"-{inner.val}")
        if isinstance(node, ast.Call):
            return self._function(node)
        if isinstance(node, ast.Attribute):
            raise not_implemented(
                "$filter across navigation properties; filter the target set instead.",
                target=_show(node),
            )
        if isinstance(node, ast.BinOp):
            raise not_implemented("arithmetic operators in $filter.", target="$filter")
        if isinstance(node, ast.CollectionLambda):
            raise not_implemented("any/all in $filter.", target="$filter")
        raise bad_request(f"$filter: unexpected {_show(node)}.", target="$filter")

    def _property(self, node: ast.Identifier) -> Operand:
        prop = self.entity_set.by_name.get(node.name) if not node.namespace else None
        if prop is None:
            raise bad_request(
                f"{self.entity_set.name} has no property {_full_name(node)!r} (in $filter).",
                target=_full_name(node),
                code="unknown_property",
            )
        return Operand(
            self.columns[prop.column], prop.type, prop.nullable, prop.milliseconds, prop.name
        )

    def _function(self, node: ast.Call) -> Operand:
        name = node.func.name.lower()
        if name in ("contains", "startswith", "endswith"):
            raise bad_request(f"$filter: {name}() is a condition, not a value.", target="$filter")
        if name not in _PARTS and name not in ("date", "tolower", "toupper"):
            raise not_implemented(f"$filter does not support the function {name}().", target=name)
        if len(node.args) != 1:
            raise bad_request(f"$filter: {name}() takes one argument.", target="$filter")
        arg = self._value(node.args[0])
        if not isinstance(arg, Operand):
            raise bad_request(f"$filter: {name}() takes a property.", target="$filter")
        if name in ("tolower", "toupper"):
            if arg.type != STRING:
                raise bad_request(f"$filter: {name}() takes a string.", target=arg.name)
            call = func.lower if name == "tolower" else func.upper
            return Operand(call(arg.expr), STRING, arg.nullable, name=arg.name)
        if arg.type != DATETIME:
            raise bad_request(f"$filter: {name}() takes a timestamp.", target=arg.name)
        if name == "date":
            expr = func.date(arg.expr) if self.sqlite else cast(_utc(arg.expr), Date)
            return Operand(expr, DATE, arg.nullable, name=arg.name)
        if self.sqlite:
            part = cast(func.strftime(_PARTS[name], arg.expr), Integer)
        else:
            part = cast(extract(name, _utc(arg.expr)), Integer)
        return Operand(part, INT32, arg.nullable, name=arg.name)

    def _literal(self, node: ast._Literal, operand: Operand) -> BindParameter[Any]:
        """The parameter holding `node`'s value, as `operand`'s column compares with it."""
        try:
            return self._bind(self._convert(node, operand), operand.expr.type)
        except ODataError:
            raise
        except (ValueError, InvalidOperation, OverflowError):
            raise bad_request(
                f"$filter: {_show(node)} is not a valid {operand.type} value for {operand.name}.",
                target=operand.name,
            ) from None

    def _convert(self, node: ast._Literal, operand: Operand) -> Any:
        kind = operand.type
        if kind == STRING and isinstance(node, ast.String | ast.GUID):
            return node.val
        if kind == GUID and isinstance(node, ast.String | ast.GUID):
            return str(uuid.UUID(node.val))
        if kind in NUMERIC and isinstance(node, ast.Integer | ast.Float):
            number = Decimal(node.val)
            if operand.milliseconds:
                number *= MS
            return int(number) if number == number.to_integral_value() else float(number)
        if kind == BOOLEAN and isinstance(node, ast.Boolean):
            return node.py_val
        if kind == DATETIME and isinstance(node, ast.DateTime):
            moment: dt.datetime = node.py_val
            if moment.tzinfo is None:
                raise bad_request(
                    f"$filter: {node.val} needs a time zone ('Z' or an offset such as +01:00).",
                    target=operand.name,
                )
            return moment
        if kind == DATE and isinstance(node, ast.Date):
            day: dt.date = node.py_val
            return day.isoformat() if self.sqlite else day
        raise bad_request(
            f"$filter: {operand.name} is {kind}; {_show(node)} is not a value of that type.",
            target=operand.name,
        )

    @staticmethod
    def _guard(operand: Operand, condition: Condition) -> Condition:
        """`condition` made false (not NULL) where the operand is null."""
        return and_(operand.expr.is_not(None), condition) if operand.nullable else condition


def _utc(expr: ColumnElement[Any]) -> ColumnElement[Any]:
    """A PostgreSQL `timestamptz` as UTC wall time, whatever the session's time zone."""
    return func.timezone("UTC", expr)


def _full_name(node: ast.Identifier) -> str:
    return ".".join((*node.namespace, node.name))


def _show(node: ast._Node) -> str:
    if isinstance(node, ast.String):
        return repr(node.val)
    if isinstance(node, ast._Literal):
        return str(getattr(node, "val", "null"))
    if isinstance(node, ast.Identifier):
        return _full_name(node)
    if isinstance(node, ast.Attribute):
        return f"{_show(node.owner)}/{node.attr}"
    return type(node).__name__
