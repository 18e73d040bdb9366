"""What the admin screens share: the kinds they edit, who sees which, and the form helpers.

Each configuration kind of the REST API (`/api/v1/<key>`) that has an admin
screen is an `AdminKind`: its labels, the columns of its list, and either a
list of `Field`s (the generic form) or a template of its own. Which kinds a
person sees follows the API's permission table: a kind is offered when the
person may change it somewhere, and its pages answer exactly as the API would
(403 without the right at all, 404 for an entity outside their scope).
"""

from __future__ import annotations

import dataclasses
import re
import typing
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic_core import to_jsonable_python

from switchboard.api.permissions import WRITE, config_capability, config_target, world
from switchboard.api.schemas import KINDS, Kind
from switchboard.domain.access import MATRIX, Access, Capability, Grant, Mode, Target
from switchboard.engine.engine import Engine
from switchboard.engine.state import TenantState

#: `[(value, label)]` for a <select> or a list of check boxes.
Choices = list[tuple[str, str]]


@dataclass(frozen=True, slots=True)
class Field:
    """One field of a generic form. `path` is the JSON path the API names in its errors."""

    path: str
    label: str
    #: text, textarea, int, check, select
    widget: str = "text"
    #: How admin.js sends the value (docs/web.md, "Admin screens"): str, str?, int, int?, bool.
    type: str = "str"
    hint: str = ""
    #: For a select: the name of an option list (`Options`), e.g. "ous", "categories".
    options: str = ""
    #: Only set when the entity is created (an id the client chooses).
    create_only: bool = False
    required: bool = False
    wide: bool = False


@dataclass(frozen=True, slots=True)
class Column:
    """One column of a kind's list: a label and how to show a row's JSON."""

    label: str
    show: Callable[[dict[str, Any], Names], str]
    #: "text" or "flag" (a yes/no badge)
    style: str = "text"


@dataclass(frozen=True, slots=True)
class AdminKind:
    """A configuration kind with admin screens."""

    key: str  # URL segment, the same as the API's: /admin/services, /api/v1/services
    name: str  # engine kind
    singular: str
    plural: str
    group: str
    description: str
    columns: tuple[Column, ...]
    fields: tuple[Field, ...] = ()
    template: str = "admin/generic.html"
    #: Option lists the form needs (see `options`).
    needs: tuple[str, ...] = ("ous",)
    #: Objects keyed by id that the form edits as rows (`User.memberships`); the API
    #: names their errors by position (`memberships[1].role`).
    keyed_rows: tuple[str, ...] = ()

    @property
    def api(self) -> Kind:
        return next(k for k in KINDS if k.name == self.name)

    @property
    def capability(self) -> Capability:
        return config_capability(self.name)

    @property
    def lifecycle(self) -> Capability:
        """What creating and deleting needs (services: their own row, 10 §2 row 8)."""
        return Capability.SERVICES if self.name == "service" else self.capability

    @property
    def ou_field(self) -> str:
        return "parent_id" if self.name == "ou" else "ou_id"


# ---------------------------------------------------------------------- names


@dataclass(frozen=True, slots=True)
class Names:
    """Display names of what rows refer to, read once per page."""

    ous: Mapping[str, str]
    by_kind: Mapping[str, Mapping[str, str]]

    def of(self, kind: str, entity_id: str | None) -> str:
        if not entity_id:
            return ""
        return self.by_kind.get(kind, {}).get(entity_id, entity_id)


def names(state: TenantState) -> Names:
    by_kind: dict[str, dict[str, str]] = {}
    for kind in ("service", "calendar", "policy", "skill_category", "skill", "workflow"):
        by_kind[kind] = {i: str(getattr(e, "name", i)) for i, e in state.table(kind).items()}
    return Names(ous=ou_paths(state), by_kind=by_kind)


def ou_paths(state: TenantState) -> dict[str, str]:
    """Each OU as the path of names below the root (`Customer service › Team A`); the root
    OU by its own name."""
    out: dict[str, str] = {}
    for ou_id, ou in state.ous.items():
        parts = [ou.name]
        seen = {ou_id}
        parent = ou.parent_id
        while parent and parent not in seen and parent in state.ous:
            seen.add(parent)
            if state.ous[parent].parent_id:  # the root is above every path: not repeated
                parts.append(state.ous[parent].name)
            parent = state.ous[parent].parent_id
        out[ou_id] = " › ".join(reversed(parts))
    return out


# ---------------------------------------------------------------------- rights


def may_write(access: Access, capability: Capability) -> bool:
    return access.may_at_all(capability, WRITE).allowed


def may_read_others(access: Access, capability: Capability) -> bool:
    """Whether a role lets the person read `capability` (everybody reads their own user
    record and their own services' configuration; that alone makes no admin screen)."""
    return any(
        MATRIX[capability][a.role] not in (Grant.NONE, Grant.MEMBER, Grant.OWN_READ)
        for a in access.assignments
    )


def entity_writable(
    access: Access, kind: AdminKind, entity: Any, state: TenantState
) -> tuple[bool, str]:
    """Whether the person may save this entity, and if not the sentence why."""
    decision = access.decide(
        kind.capability, WRITE, config_target(kind.name, entity, state, WRITE), world(state)
    )
    return decision.allowed, decision.message


def writable_ous(access: Access, kind: AdminKind, state: TenantState) -> set[str]:
    """The OUs in which the person may create (or into which move) an entity of `kind`."""
    here = world(state)
    capability = kind.lifecycle
    return {
        ou_id
        for ou_id in state.ous
        if access.decide(capability, WRITE, Target(ou_id=ou_id), here).allowed
    }


# ---------------------------------------------------------------------- entities as JSON


def blank(kind: AdminKind) -> dict[str, Any]:
    """A new entity's body: every field's default, required fields empty (null)."""
    cls = kind.api.cls
    typing.get_type_hints(cls)  # fail early on an unresolvable annotation
    values: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if f.name == "version" or (f.name == "id" and not kind.api.client_chooses_id):
            continue
        if f.name in kind.api.server_owned:
            continue
        if f.default is not dataclasses.MISSING:
            values[f.name] = f.default
        elif f.default_factory is not dataclasses.MISSING:
            values[f.name] = f.default_factory()
        else:
            values[f.name] = None
    data: dict[str, Any] = to_jsonable_python(values)
    return data


def body_of(kind: AdminKind, data: Mapping[str, Any]) -> dict[str, Any]:
    """What a PUT sends back: the entity without the fields the server owns."""
    owned = {"version", *kind.api.server_owned}
    if not kind.api.client_chooses_id:
        owned.add("id")
    return {k: v for k, v in data.items() if k not in owned}


_TOKEN = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


class Form:
    """Values and ids for a form's fields, by JSON path (`levels[0].match`)."""

    def __init__(
        self, data: Mapping[str, Any], *, readonly: bool = False, keyed_rows: Iterable[str] = ()
    ) -> None:
        shown = dict(data)
        for path in keyed_rows:
            value = shown.get(path)
            if isinstance(value, Mapping):
                shown[path] = list(value.values())
        self.data = shown
        self.readonly = readonly

    def value(self, path: str, default: Any = None) -> Any:
        here: Any = self.data
        for name, index in _TOKEN.findall(path):
            if index:
                if not isinstance(here, list) or int(index) >= len(here):
                    return default
                here = here[int(index)]
            else:
                if not isinstance(here, Mapping) or name not in here:
                    return default
                here = here[name]
        return default if here is None else here

    def text(self, path: str) -> str:
        value = self.value(path)
        if isinstance(value, list | tuple):
            return ", ".join(str(v) for v in value)
        return "" if value is None else str(value)

    def has(self, path: str, item: str) -> bool:
        value = self.value(path)
        return isinstance(value, list | tuple | dict) and item in value

    @staticmethod
    def id(path: str) -> str:
        """The element id of a field (admin.js computes the same: `idFor`)."""
        return "f-" + re.sub(r"-+$", "", re.sub(r"[^A-Za-z0-9_-]+", "-", path))


# ---------------------------------------------------------------------- option lists


def _sorted(pairs: Iterable[tuple[str, str]]) -> Choices:
    return sorted(pairs, key=lambda p: (p[1].casefold(), p[0]))


def options(
    engine: Engine,
    access: Access,
    kind: AdminKind,
    needs: Iterable[str],
    current_ou: str | None = None,
) -> dict[str, Any]:
    """The option lists a form's selects and check boxes offer, each read with the
    person's rights: what they may not see is not offered."""
    state = engine.state
    here = world(state)
    out: dict[str, Any] = {}

    def visible(kind_name: str) -> list[Any]:
        capability = config_capability(kind_name)
        return [
            e
            for e in state.table(kind_name).values()
            if access.sees(capability, config_target(kind_name, e, state, Mode.READ), here)
        ]

    for need in needs:
        if need == "ous":
            paths = ou_paths(state)
            allowed = writable_ous(access, kind, state)
            if current_ou:
                allowed.add(current_ou)
            out["ous"] = _sorted((o, paths.get(o, o)) for o in allowed if o in state.ous)
        elif need == "all_ous":
            paths = ou_paths(state)
            out["all_ous"] = _sorted(paths.items())
        elif need == "workflows":
            published = state.published_workflows
            by_kind: dict[str, Choices] = {}
            for wf in published.values():
                if wf.kind is None:
                    continue
                by_kind.setdefault(wf.kind.value, []).append((wf.id, f"{wf.name} (v{wf.version})"))
            out["workflows"] = {k: _sorted(v) for k, v in by_kind.items()}
        elif need == "skills":
            categories = state.categories
            out["skills"] = _sorted(
                (s.id, f"{s.name} · {categories[s.category_id].name}")
                if s.category_id in categories
                else (s.id, s.name)
                for s in visible("skill")
            )
            out["skill_info"] = {
                s.id: {
                    "levels": [(lv.value, lv.name) for lv in categories[s.category_id].levels]
                    if s.category_id in categories and categories[s.category_id].levelled
                    else [],
                    "responsibility": s.category_id in categories
                    and categories[s.category_id].responsibility_enabled,
                }
                for s in visible("skill")
            }
        else:
            table = {
                "services": "service",
                "calendars": "calendar",
                "policies": "policy",
                "categories": "skill_category",
                "profiles": "profile",
                "reasons": "not_available_reason",
                "codes": "code",
                "tags": "tag",
            }[need]
            rows = visible(table)
            if need == "codes":
                out[need] = _sorted((c.id, f"{c.name} ({c.short_code})") for c in rows)
            elif need == "profiles":
                out[need] = _sorted((p.id, p.name) for p in rows if p.kind.value == "custom")
            else:
                out[need] = _sorted((e.id, str(e.name)) for e in rows)
    return out


def enum_choices(values: Iterable[str], labels: Mapping[str, str] | None = None) -> Choices:
    """An enumeration as choices, labelled in words (`direct_conference` → 'Direct conference')."""
    out: Choices = []
    for value in values:
        text = (labels or {}).get(value) or value.replace("_", " ")
        out.append((value, text[:1].upper() + text[1:]))
    return out
