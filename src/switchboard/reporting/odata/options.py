"""The system query options of a collection request, parsed and checked (08 OD6-OD8).

Each option is checked against the entity set: an unknown property is a 400 whose
`target` names it, an option the feed deliberately lacks is a 501. `$filter` is
parsed here by odata-query's grammar into its AST; `filters` compiles it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from odata_query import ast
from odata_query.exceptions import ODataException, ODataSyntaxError
from odata_query.grammar import ODataLexer, ODataParser

from switchboard.reporting.odata.errors import ODataError, bad_request, not_implemented
from switchboard.reporting.odata.model import EntitySet, Navigation, Property

#: 08 OD7.
MAX_TOP = 5000
MAX_ORDERBY = 3
#: 08 OD5: depth 1, at most two navigation properties.
MAX_EXPAND = 2

SUPPORTED = frozenset(
    {
        "$filter",
        "$select",
        "$orderby",
        "$top",
        "$skip",
        "$count",
        "$expand",
        "$skiptoken",
        "$format",
    }
)
#: Options of OData 4.0/4.01 the feed does not offer (501 rather than "unknown").
LACKING = frozenset(
    {"$apply", "$search", "$compute", "$levels", "$index", "$schemaversion", "$deltatoken", "$id"}
)
#: Longest `$filter` accepted, in characters (the URL limit of 10 IN1 is larger).
MAX_FILTER = 4000


@dataclass(frozen=True, slots=True)
class OrderItem:
    property: Property
    descending: bool


@dataclass(frozen=True, slots=True)
class ExpandItem:
    navigation: Navigation
    select: tuple[Property, ...] | None  # None: every property of the target


@dataclass(frozen=True, slots=True)
class Options:
    filter: ast._Node | None
    filter_text: str
    select: tuple[Property, ...] | None  # None: every property
    orderby: tuple[OrderItem, ...]
    orderby_text: str
    top: int | None
    skip: int
    count: bool
    expand: tuple[ExpandItem, ...]
    skiptoken: str | None


def parse_options(
    entity_set: EntitySet,
    pairs: Iterable[tuple[str, str]],
    sets: Mapping[str, EntitySet],
    *,
    collection: bool = True,
) -> Options:
    """The options of a request for `entity_set`; custom (non-`$`) options are ignored.

    With `collection=False` (a single entity by key) only `$select`, `$expand` and
    `$format` apply; the others are refused.
    """
    given: dict[str, str] = {}
    for name, value in pairs:
        if not name.startswith("$"):
            continue  # custom query options, e.g. `api_key` (08 OD11)
        lowered = name.lower()
        if lowered in LACKING:
            raise not_implemented(f"The feed does not support {lowered}.", target=lowered)
        if lowered not in SUPPORTED:
            raise bad_request(f"{name} is not an OData system query option.", target=name)
        if lowered in given:
            raise bad_request(f"{lowered} is given more than once.", target=lowered)
        given[lowered] = value
    if not collection:
        extra = sorted(set(given) - {"$select", "$expand", "$format"})
        if extra:
            raise bad_request(
                f"{extra[0]} applies to collections, not to a single entity.", target=extra[0]
            )
    filter_text = given.get("$filter", "").strip()
    orderby_text = given.get("$orderby", "").strip()
    return Options(
        filter=parse_filter(filter_text) if filter_text else None,
        filter_text=filter_text,
        select=_select(entity_set, given.get("$select"), "$select"),
        orderby=_orderby(entity_set, orderby_text),
        orderby_text=orderby_text,
        top=_whole(given.get("$top"), "$top", 0, MAX_TOP),
        skip=_whole(given.get("$skip"), "$skip", 0, None) or 0,
        count=_boolean(given.get("$count"), "$count"),
        expand=_expand(entity_set, given.get("$expand"), sets),
        skiptoken=given.get("$skiptoken"),
    )


def parse_filter(text: str) -> ast._Node:
    """odata-query's AST of a `$filter`, or 400 naming where the syntax broke."""
    if len(text) > MAX_FILTER:
        raise bad_request(f"$filter is longer than {MAX_FILTER} characters.", target="$filter")
    try:
        node: ast._Node = ODataParser().parse(ODataLexer().tokenize(text))
    except ODataSyntaxError as error:
        token = getattr(error, "token", None)
        where = (
            f" at position {token.index + 1} ({token.value!r})"
            if token is not None and getattr(token, "index", None) is not None
            else " at its end"
        )
        raise bad_request(f"$filter is not valid OData syntax{where}.", target="$filter") from None
    except ODataException as error:  # unknown function, wrong argument count, …
        raise bad_request(f"$filter: {error}", target="$filter") from None
    return node


def _select(entity_set: EntitySet, text: str | None, option: str) -> tuple[Property, ...] | None:
    if text is None:
        return None
    names = [n.strip() for n in text.split(",")]
    if "*" in names:
        return None
    chosen: list[Property] = []
    for name in names:
        if not name:
            raise bad_request(f"{option} has an empty item.", target=option)
        if "/" in name or "(" in name:
            raise not_implemented(f"{option} takes property names only; got {name!r}.", target=name)
        prop = entity_set.by_name.get(name)
        if prop is None:
            raise _unknown(entity_set, name, option)
        if prop not in chosen:
            chosen.append(prop)
    return tuple(chosen)


_ORDER_ITEM = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_/]*)(?:\s+(asc|desc))?\s*$", re.IGNORECASE)


def _orderby(entity_set: EntitySet, text: str) -> tuple[OrderItem, ...]:
    if not text:
        return ()
    items = text.split(",")
    if len(items) > MAX_ORDERBY:
        raise bad_request(
            f"$orderby takes at most {MAX_ORDERBY} properties; got {len(items)}.",
            target="$orderby",
        )
    found: list[OrderItem] = []
    for item in items:
        match = _ORDER_ITEM.match(item)
        if match is None:
            raise bad_request(
                f"$orderby items are 'Property', 'Property asc' or 'Property desc'; got {item!r}.",
                target="$orderby",
            )
        name, direction = match.group(1), (match.group(2) or "asc").lower()
        if "/" in name:
            raise not_implemented("$orderby over navigation properties.", target=name)
        prop = entity_set.by_name.get(name)
        if prop is None:
            raise _unknown(entity_set, name, "$orderby")
        if any(o.property == prop for o in found):
            raise bad_request(f"$orderby names {name} twice.", target=name)
        found.append(OrderItem(prop, direction == "desc"))
    return tuple(found)


def _whole(text: str | None, option: str, least: int, most: int | None) -> int | None:
    if text is None:
        return None
    value = text.strip()
    if not value.isdigit():
        raise bad_request(f"{option} must be a whole number; got {text!r}.", target=option)
    number = int(value)
    if number < least or (most is not None and number > most):
        bounds = f"between {least} and {most}" if most is not None else f"at least {least}"
        raise bad_request(f"{option} must be {bounds}; got {number}.", target=option)
    return number


def _boolean(text: str | None, option: str) -> bool:
    if text is None:
        return False
    value = text.strip().lower()
    if value not in ("true", "false"):
        raise bad_request(f"{option} must be true or false; got {text!r}.", target=option)
    return value == "true"


def _expand(
    entity_set: EntitySet, text: str | None, sets: Mapping[str, EntitySet]
) -> tuple[ExpandItem, ...]:
    if text is None or not text.strip():
        return ()
    items = _split_top_level(text, "$expand")
    if len(items) > MAX_EXPAND:
        raise bad_request(
            f"$expand takes at most {MAX_EXPAND} navigation properties; got {len(items)}.",
            target="$expand",
        )
    found: list[ExpandItem] = []
    for item in items:
        name, _, nested = item.partition("(")
        name = name.strip()
        if name == "*" or "/" in name:
            raise not_implemented(
                "$expand takes navigation property names, one level deep.", target=name
            )
        navigation = entity_set.navigation_named(name)
        if navigation is None:
            raise bad_request(
                f"{entity_set.name} has no navigation property {name!r}; it has "
                f"{_listing(n.name for n in entity_set.navigation)}.",
                target=name,
                code="unknown_property",
            )
        if any(e.navigation == navigation for e in found):
            raise bad_request(f"$expand names {name} twice.", target=name)
        select: tuple[Property, ...] | None = None
        if nested:
            if not nested.rstrip().endswith(")"):
                raise bad_request(f"$expand item {item!r} lacks its ')'.", target="$expand")
            for option in nested.rstrip()[:-1].split(";"):
                key, _, value = option.partition("=")
                key = key.strip().lower()
                if not key:
                    continue
                if key != "$select":
                    raise not_implemented(
                        f"$expand takes only a nested $select; got {key}.", target=key
                    )
                select = _select(sets[navigation.target], value, "$select")
        found.append(ExpandItem(navigation, select))
    return tuple(found)


def _split_top_level(text: str, option: str) -> list[str]:
    items, depth, current = [], 0, ""
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth < 0:
                raise bad_request(f"{option} has an unmatched ')'.", target=option)
        if char == "," and depth == 0:
            items.append(current)
            current = ""
        else:
            current += char
    if depth:
        raise bad_request(f"{option} has an unmatched '('.", target=option)
    items.append(current)
    if any(not i.strip() for i in items):
        raise bad_request(f"{option} has an empty item.", target=option)
    return [i.strip() for i in items]


def _unknown(entity_set: EntitySet, name: str, option: str) -> ODataError:
    return bad_request(
        f"{entity_set.name} has no property {name!r} (in {option}).",
        target=name,
        code="unknown_property",
    )


def _listing(names: Iterable[str]) -> str:
    listed = list(names)
    return ", ".join(listed) if listed else "none"
