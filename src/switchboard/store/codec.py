"""Events to and from the journal's text column.

An event's `data` is JSON-like (str, int, float, bool, None, lists, dicts with str
keys) and is stored as compact JSON text, with one exception: `config.upserted`
carries the configuration entity itself (a dataclass from `domain.config`, with
nested dataclasses, enums, frozensets, tuples and enum-keyed dicts). That entity
is turned into JSON-safe values field by field (like `dataclasses.asdict`, with
enums as their values and sets as sorted lists) and turned back by a pydantic v2
`TypeAdapter` for its class, looked up by `data["type"]` in `CONFIG_TYPES`.
Pydantic validates stdlib dataclasses directly, so the domain layer stays free of
any serialization concern; the adapters are built once per class and cached.
Workflows are the exception: their documents already have a JSON form of their
own (04 §1, `Workflow.to_json` and `parse_workflow`), and node settings are
free JSON that no static type describes, so that form is what is journaled.

The guarantee is exact round trips: a decoded configuration entity is equal (==)
to the original, and the data of every other event is identical (the same
values of the same types). JSON turns tuples into lists, so event data must not
hold tuples; the engine emits lists.

JSON is written and read with `orjson`. With group commit the SQLite insert
costs only a few microseconds per event, so the stdlib encoder (≈3.6 µs per
typical event) had become the largest part of the journal's cost; orjson takes
≈0.2 µs to encode and ≈0.6 µs to decode (against ≈2.7 µs), which also shortens
restores. A `config.upserted` round trip through pydantic costs ≈50 µs,
irrelevant for such rare events.
"""

from __future__ import annotations

import dataclasses
import json
import re
from enum import Enum
from typing import Any

import orjson
from pydantic import TypeAdapter

from switchboard.domain.workflow.parse import parse_workflow
from switchboard.engine.events import Event
from switchboard.engine.state import CONFIG_TYPES

__all__ = ["CONFIG_UPSERTED", "decode_event", "encode_event", "to_jsonable"]

#: The one event whose data holds a non-JSON value (a configuration dataclass).
CONFIG_UPSERTED = "config.upserted"


#: orjson handles integers up to 64 bits; it refuses larger ones when encoding and
#: silently turns them into floats when decoding. Such integers have 19+ digits, so a
#: text holding a run of 19 digits goes through the exact (slower) stdlib decoder.
_BIG_INT = re.compile(r"\d{19,}")
_std_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def _dumps(data: Any) -> str:
    try:
        return orjson.dumps(data).decode()
    except TypeError:
        return _std_dumps(data)  # an integer beyond 64 bits


def _loads(text: str) -> Any:
    if _BIG_INT.search(text):
        return json.loads(text)
    return orjson.loads(text)


def to_jsonable(value: Any) -> Any:
    """`value` with dataclasses, enums and collections turned into JSON-safe values.

    Dataclasses become dicts of their fields, enums their values, tuples and lists
    lists, sets and frozensets sorted lists (so equal sets encode identically),
    and dict keys strings (enum keys by their value).
    """
    if value is None or isinstance(value, bool | int | float | str):
        return value.value if isinstance(value, Enum) else value
    if isinstance(value, Enum):
        return to_jsonable(value.value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {_key(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    if isinstance(value, set | frozenset):
        items = [to_jsonable(v) for v in value]
        return sorted(items, key=lambda v: (type(v).__name__, v))
    raise TypeError(f"cannot encode a {type(value).__name__} in a journal event")


def _key(key: Any) -> str:
    if isinstance(key, Enum):
        key = key.value
    if isinstance(key, str):
        return str(key)
    if isinstance(key, bool) or not isinstance(key, int):
        raise TypeError(f"cannot encode a {type(key).__name__} dict key in a journal event")
    return str(key)


_ADAPTERS: dict[type[Any], TypeAdapter[Any]] = {}


def _adapter(cls: type[Any]) -> TypeAdapter[Any]:
    """The (cached) pydantic adapter for a configuration class: building one is slow."""
    adapter = _ADAPTERS.get(cls)
    if adapter is None:
        adapter = _ADAPTERS[cls] = TypeAdapter(cls)
    return adapter


def encode_event(event: Event) -> str:
    """The JSON text of `event.data` (name, time and seq are stored in their own columns)."""
    data = event.data
    if event.name == CONFIG_UPSERTED:
        entity = data["entity"]
        jsonable = entity.to_json() if data["type"] == "workflow" else to_jsonable(entity)
        data = {**data, "entity": jsonable}
    return _dumps(data)


def decode_event(name: str, at: float, seq: int, text: str) -> Event:
    """Rebuild the event stored by `encode_event`."""
    data: dict[str, Any] = _loads(text)
    if name == CONFIG_UPSERTED:
        kind = data["type"]
        cls = CONFIG_TYPES.get(kind)
        if cls is None:
            raise ValueError(f"journal event {seq}: unknown configuration type {kind!r}")
        if kind == "workflow":
            data["entity"] = parse_workflow(data["entity"])
        else:
            data["entity"] = _adapter(cls).validate_python(data["entity"])
    return Event(name, at, data, seq)
