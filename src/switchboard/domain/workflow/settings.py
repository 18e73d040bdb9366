"""Setting types: the vocabulary the activity catalogue is written in.

Each activity setting is declared once, as data (`IntSetting("timeout_s",
default=5, low=1, high=60, unit="seconds")`). That one declaration serves
three readers, so they cannot drift apart:

* the validator calls `check` and gets issues that name the setting and what
  was expected;
* the JSON Schema generator calls `schema`;
* the interpreter and the documentation read `default_for` and `doc`.

Type errors (a string where a number belongs) are `invalid_type`; a value of
the right type outside its range, length, pattern or choices is
`invalid_setting` (04 §2 V10).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Final, TypeAlias

from switchboard.domain.enums import Modality
from switchboard.domain.validation import is_int
from switchboard.domain.workflow.document import JsonValue
from switchboard.domain.workflow.references import RefKind
from switchboard.domain.workflow.site import Site, describe

__all__ = [
    "MISSING",
    "BoolSetting",
    "ByModality",
    "ChoiceSetting",
    "IntSetting",
    "ListSetting",
    "Missing",
    "ObjectSetting",
    "RefSetting",
    "Setting",
    "TextSetting",
    "is_int",
]


class Missing(Enum):
    """No default: the setting must be given, or it is optional and simply absent."""

    MISSING = "missing"


MISSING: Final = Missing.MISSING


@dataclass(frozen=True, slots=True)
class ByModality:
    """A default that depends on the workflow's modality (e.g. `max_queue_time_s`)."""

    values: Mapping[Modality, JsonValue]

    def describe(self) -> str:
        groups: dict[str, list[str]] = {}
        for modality, value in self.values.items():
            groups.setdefault(json.dumps(value), []).append(modality.value)
        return "; ".join(f"{value} for {'/'.join(names)}" for value, names in groups.items())


Default: TypeAlias = "JsonValue | ByModality | Missing"


@dataclass(frozen=True, slots=True, kw_only=True)
class Setting:
    """What every setting has: a name, a sentence of documentation, a default.

    `modalities` limits where the setting applies (a waiting message only
    makes sense in chat); None means wherever the activity runs. `nullable`
    settings accept JSON null as a meaningful value ("keep the task's
    priority").
    """

    name: str
    doc: str
    default: Default = MISSING
    required: bool = False
    nullable: bool = False
    modalities: frozenset[Modality] | None = None

    def default_for(self, modality: Modality | None) -> JsonValue | Missing:
        if isinstance(self.default, ByModality):
            if modality is None:
                return MISSING
            return self.default.values.get(modality, MISSING)
        return self.default

    def check(self, value: JsonValue, site: Site) -> None:
        if value is None:
            if not self.nullable:
                site.error(
                    "invalid_type", f"{site.name} must not be null; expected {self.expected()}."
                )
            return
        self.check_value(value, site)

    def check_value(self, value: JsonValue, site: Site) -> None:
        raise NotImplementedError

    def expected(self) -> str:
        """What a valid value looks like, completing "expected ..."."""
        raise NotImplementedError

    def value_schema(self) -> dict[str, JsonValue]:
        raise NotImplementedError

    def schema(self) -> dict[str, JsonValue]:
        """The JSON Schema of this setting, with its documentation and default."""
        inner = self.value_schema()
        out: dict[str, JsonValue] = (
            {"anyOf": [inner, {"type": "null"}]} if self.nullable else dict(inner)
        )
        doc = self.doc
        if isinstance(self.default, ByModality):
            doc = f"{doc} Default: {self.default.describe()}."
        elif self.default is not MISSING:
            out["default"] = self.default
        out["description"] = doc
        return out


@dataclass(frozen=True, slots=True, kw_only=True)
class IntSetting(Setting):
    low: int
    high: int
    unit: str = ""

    def _bounds(self) -> str:
        unit = f" {self.unit}" if self.unit else ""
        return f"between {self.low} and {self.high}{unit}"

    def expected(self) -> str:
        return f"a whole number {self._bounds()}"

    def check_value(self, value: JsonValue, site: Site) -> None:
        if not is_int(value):
            site.error(
                "invalid_type", f"{site.name} must be a whole number; got {describe(value)}."
            )
            return
        if not self.low <= value <= self.high:
            site.error("invalid_setting", f"{site.name} must be {self._bounds()}; got {value}.")

    def value_schema(self) -> dict[str, JsonValue]:
        return {"type": "integer", "minimum": self.low, "maximum": self.high}


@dataclass(frozen=True, slots=True, kw_only=True)
class BoolSetting(Setting):
    def expected(self) -> str:
        return "true or false"

    def check_value(self, value: JsonValue, site: Site) -> None:
        if not isinstance(value, bool):
            site.error("invalid_type", f"{site.name} must be true or false; got {describe(value)}.")

    def value_schema(self) -> dict[str, JsonValue]:
        return {"type": "boolean"}


@dataclass(frozen=True, slots=True, kw_only=True)
class ChoiceSetting(Setting):
    choices: tuple[str, ...]

    def expected(self) -> str:
        return f"one of {', '.join(self.choices)}"

    def check_value(self, value: JsonValue, site: Site) -> None:
        if not isinstance(value, str):
            site.error(
                "invalid_type", f"{site.name} must be {self.expected()}; got {describe(value)}."
            )
        elif value not in self.choices:
            site.error("invalid_setting", f"{site.name} must be {self.expected()}; got {value!r}.")

    def value_schema(self) -> dict[str, JsonValue]:
        return {"type": "string", "enum": list(self.choices)}


@dataclass(frozen=True, slots=True, kw_only=True)
class TextSetting(Setting):
    """Text with a length range; optionally a format and placeholders.

    `pattern` is written so that Python's `re.fullmatch` and the ECMA-262
    regular expressions of JSON Schema agree on it (anchored, ASCII classes).
    A required text (`min_len` ≥ 1) must not be only whitespace.
    """

    max_len: int
    min_len: int = 1
    pattern: str | None = None
    pattern_hint: str = ""
    placeholders: bool = False
    extra_check: Callable[[str, Site], None] | None = None

    def _length(self) -> str:
        if self.min_len == 0:
            return f"at most {self.max_len} characters"
        return f"{self.min_len} to {self.max_len} characters"

    def expected(self) -> str:
        if self.pattern_hint:
            return f"{self.pattern_hint}, {self._length()}"
        return f"text of {self._length()}"

    def check_value(self, value: JsonValue, site: Site) -> None:
        if not isinstance(value, str):
            site.error("invalid_type", f"{site.name} must be text; got {describe(value)}.")
            return
        if not self.min_len <= len(value) <= self.max_len:
            site.error(
                "invalid_setting", f"{site.name} must be {self._length()}; got {len(value)}."
            )
            return
        if self.pattern is not None:
            if not re.fullmatch(self.pattern, value):
                site.error(
                    "invalid_setting", f"{site.name} must be {self.pattern_hint}; got {value!r}."
                )
                return
        elif self.min_len > 0 and not value.strip():
            site.error("invalid_setting", f"{site.name} must not be blank.")
            return
        if self.placeholders:
            site.placeholders(value)
        if self.extra_check is not None:
            self.extra_check(value, site)

    def value_schema(self) -> dict[str, JsonValue]:
        out: dict[str, JsonValue] = {"type": "string", "maxLength": self.max_len}
        if self.min_len:
            out["minLength"] = self.min_len
        if self.pattern is not None:
            out["pattern"] = self.pattern
        elif self.min_len > 0:
            out["pattern"] = r"\S"
        return out


@dataclass(frozen=True, slots=True, kw_only=True)
class RefSetting(Setting):
    """The id of another entity (04 §2 V11), or one of a few fixed words.

    `literals` are words that stand for an entity resolved at runtime, such as
    `service` for "the calendars of the task's service".
    """

    ref: RefKind
    literals: tuple[str, ...] = ()

    def expected(self) -> str:
        words = "".join(f" or {word!r}" for word in self.literals)
        return f"the id of a {self.ref.label}{words}"

    def check_value(self, value: JsonValue, site: Site) -> None:
        if not isinstance(value, str):
            site.error(
                "invalid_type", f"{site.name} must be {self.expected()}; got {describe(value)}."
            )
            return
        if not 1 <= len(value) <= 128 or not value.strip():
            site.error(
                "invalid_setting",
                f"{site.name} must be {self.expected()} (1 to 128 characters); got {value!r}.",
            )
            return
        if value not in self.literals:
            site.reference(self.ref, value)

    def value_schema(self) -> dict[str, JsonValue]:
        return {"type": "string", "minLength": 1, "maxLength": 128, "pattern": r"\S"}


@dataclass(frozen=True, slots=True, kw_only=True)
class ListSetting(Setting):
    item: Setting
    min_items: int
    max_items: int
    unique: bool = False

    def expected(self) -> str:
        return (
            f"a list of {self.min_items} to {self.max_items} entries, each {self.item.expected()}"
        )

    def check_value(self, value: JsonValue, site: Site) -> None:
        if not isinstance(value, list):
            site.error(
                "invalid_type", f"{site.name} must be {self.expected()}; got {describe(value)}."
            )
            return
        if not self.min_items <= len(value) <= self.max_items:
            site.error(
                "invalid_setting",
                f"{site.name} must have {self.min_items} to {self.max_items} entries; "
                f"got {len(value)}.",
            )
        seen: list[JsonValue] = []
        for index, entry in enumerate(value):
            here = site.item(index)
            if self.unique and entry in seen:
                here.error(
                    "invalid_setting", f"{here.name} repeats {entry!r}; list each value once."
                )
                continue
            seen.append(entry)
            self.item.check(entry, here)

    def value_schema(self) -> dict[str, JsonValue]:
        out: dict[str, JsonValue] = {
            "type": "array",
            "items": self.item.value_schema(),
            "minItems": self.min_items,
            "maxItems": self.max_items,
        }
        if self.unique:
            out["uniqueItems"] = True
        return out


ObjectRule = Callable[[Mapping[str, JsonValue], Site], None]


@dataclass(frozen=True, slots=True, kw_only=True)
class ObjectSetting(Setting):
    """A small record (a prompt, a notification target) with its own fields.

    `rules` check fields against each other after each field passed its own
    check; `schema_rules` are the JSON Schema counterparts of those rules
    that a schema can express (added as `allOf`).
    """

    fields: tuple[Setting, ...]
    what: str = "an object"
    rules: tuple[ObjectRule, ...] = ()
    schema_rules: tuple[dict[str, JsonValue], ...] = field(default_factory=tuple)

    def expected(self) -> str:
        return self.what

    def check_value(self, value: JsonValue, site: Site) -> None:
        if not isinstance(value, dict):
            site.error("invalid_type", f"{site.name} must be {self.what}; got {describe(value)}.")
            return
        check_fields(self.fields, value, site.at, site.name, "field")
        for rule in self.rules:
            rule(value, site)

    def value_schema(self) -> dict[str, JsonValue]:
        out: dict[str, JsonValue] = {
            "type": "object",
            "properties": {f.name: f.schema() for f in self.fields},
            "additionalProperties": False,
        }
        required: list[JsonValue] = [f.name for f in self.fields if f.required]
        if required:
            out["required"] = required
        if self.schema_rules:
            out["allOf"] = list(self.schema_rules)
        return out


def check_fields(
    declared: tuple[Setting, ...],
    given: Mapping[str, JsonValue],
    site_for: Callable[[str], Site],
    owner: str,
    noun: str,
    *,
    modality: Modality | None = None,
    modality_label: str = "",
) -> None:
    """Check a mapping against declared settings: unknown, missing, not applicable, each value.

    Shared by node settings and nested objects, so a prompt's fields are
    checked exactly like a node's settings. `owner` names the container in
    messages ("input_customer", "prompt"); `noun` is "setting" or "field".
    """
    by_name = {s.name: s for s in declared}
    expected = f"expected {', '.join(by_name)}" if by_name else f"{owner} takes no {noun}s"
    for key, value in given.items():
        spec = by_name.get(key)
        site = site_for(key)
        if spec is None:
            site.error("unknown_field", f"{site.name} is not a {noun} of {owner}; {expected}.")
            continue
        if modality is not None and spec.modalities is not None and modality not in spec.modalities:
            where = "/".join(m.value for m in Modality if m in spec.modalities)
            site.error(
                "not_applicable",
                f"{site.name} applies only to {where} workflows, not to {modality_label} ones.",
            )
            continue
        spec.check(value, site)
    for spec in declared:
        applies = modality is None or spec.modalities is None or modality in spec.modalities
        if spec.required and applies and spec.name not in given:
            site = site_for(spec.name)
            site.error("required", f"{site.name} is required; expected {spec.expected()}.")
