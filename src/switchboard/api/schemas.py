"""Request bodies for configuration entities, derived from the domain dataclasses.

The dataclasses in `switchboard.domain.config` are the single definition of each
entity. At the edge, pydantic turns them into input models without the fields
the server owns (`id`, `version`), forbidding unknown fields (10 IN2), so the
OpenAPI document describes real bodies and structural errors name the field.
Business rules are checked afterwards by the domain's validation.

Workflows are the exception to "derived from the dataclass": they are read and
written in the flat document form of 04 §1 (entity fields and `nodes` side by
side, node settings as free JSON the activity catalogue describes), so their
`Kind` carries its own body model and conversions (`EntityForm`, below).
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, create_model, model_validator
from pydantic_core import PydanticCustomError

from switchboard.domain import config as cfg
from switchboard.domain.enums import Direction, Modality
from switchboard.domain.workflow import Workflow, parse_workflow

SERVER_OWNED = ("id", "version")


@dataclass(frozen=True, slots=True)
class EntityForm:
    """How a kind whose JSON form is not its dataclass's is read and written."""

    model: type[BaseModel]
    to_entity: Callable[[BaseModel, str], Any]
    to_json: Callable[[Any], dict[str, Any]]


@dataclass(frozen=True, slots=True)
class Kind:
    """One configuration entity type as the API exposes it."""

    name: str  # engine kind
    path: str  # URL segment
    cls: type[Any]
    client_chooses_id: bool = False
    tag: str = ""
    form: EntityForm | None = None
    #: Fields only the server writes (facts about uploaded content): not in the body,
    #: kept as stored on an update.
    server_owned: tuple[str, ...] = ()

    @property
    def adapter(self) -> TypeAdapter[Any]:
        return _ADAPTERS[self.name]


def _unpaired_surrogate(
    value: Any, loc: tuple[str | int, ...] = ()
) -> tuple[str | int, ...] | None:
    """Where the input holds text that is not Unicode (JSON's `"\\ud800"`), if anywhere."""
    if isinstance(value, str):
        return None if value.isascii() or _encodable(value) else loc
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str) and not _encodable(key):
                return (*loc, key.encode("utf-8", "backslashreplace").decode())
            found = _unpaired_surrogate(item, (*loc, key))
            if found is not None:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = _unpaired_surrogate(item, (*loc, index))
            if found is not None:
                return found
    return None


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class Input(BaseModel):
    """Base of every request body: unknown fields are refused (10 IN2), and so is text
    that is not Unicode, which could be neither journaled nor sent back."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _unicode_only(cls, data: Any) -> Any:
        loc = _unpaired_surrogate(data)
        if loc is not None:
            raise PydanticCustomError(
                "string_unicode",
                "Input should be Unicode text, without unpaired surrogates",
                {"loc": loc},
            )
        return data


# ---------------------------------------------------------------------- workflows


class NodeInput(Input):
    """One activity of a workflow graph (04 §1); settings as the catalogue describes them."""

    id: str = Field(description="1–64 of A-Z a-z 0-9 _ -, unique in the document.")
    type: str = Field(description="An activity of the catalogue (see GET /workflows/schema).")
    name: str | None = Field(None, description="Optional label, at most 128 characters.")
    settings: dict[str, Any] = Field(
        default_factory=dict, description="Per activity; an absent setting takes its default."
    )
    exits: dict[str, str] = Field(
        default_factory=dict, description="Exit name → id of the node that runs next."
    )


class WorkflowInput(Input):
    """A workflow as a client writes it. The server owns `id`, `version` and `status`:
    a save stores a draft, `POST /workflows/{id}/publish` publishes it."""

    ou_id: str = "root"
    name: str
    modality: Modality
    direction: Direction = Direction.INBOUND
    nodes: list[NodeInput]


def _workflow_from_body(body: BaseModel, workflow_id: str) -> Workflow:
    """The workflow a body describes; `ValidationFailed` names every shape problem with
    the validator's paths (`nodes[q].exits`)."""
    data: dict[str, Any] = body.model_dump(mode="json")
    data["nodes"] = [
        {key: value for key, value in node.items() if not (key == "name" and value is None)}
        for node in data["nodes"]
    ]
    return parse_workflow({"id": workflow_id, **data})


def _workflow_json(workflow: Workflow) -> dict[str, Any]:
    return dict(workflow.to_json())


_WORKFLOW_FORM = EntityForm(WorkflowInput, _workflow_from_body, _workflow_json)


# ---------------------------------------------------------------------- the kinds

KINDS: tuple[Kind, ...] = (
    Kind("ou", "ous", cfg.OrganisationUnit, tag="Organisation units"),
    Kind("service", "services", cfg.Service, tag="Services"),
    Kind("user", "users", cfg.User, tag="Users"),
    Kind("skill_category", "skill-categories", cfg.SkillCategory, tag="Skills"),
    Kind("skill", "skills", cfg.Skill, tag="Skills"),
    Kind("profile", "duty-profiles", cfg.ResponsibilityProfile, tag="Skills"),
    Kind("policy", "distribution-policies", cfg.DistributionPolicy, tag="Skills"),
    Kind("not_available_reason", "not-available-reasons", cfg.NotAvailableReason, tag="Users"),
    Kind("parameter", "parameters", cfg.CustomParameter, client_chooses_id=True, tag="Parameters"),
    Kind("code", "codes", cfg.Code, tag="Codes and tags"),
    Kind("tag", "tags", cfg.Tag, tag="Codes and tags"),
    Kind("address_book", "address-books", cfg.AddressBook, tag="Address books"),
    Kind(
        "audio_resource",
        "audio-resources",
        cfg.AudioResource,
        tag="Audio resources",
        server_owned=("content_type", "duration_s", "size_bytes"),
    ),
    Kind("calendar", "calendars", cfg.Calendar, tag="Opening hours"),
    Kind("workflow", "workflows", cfg.Workflow, tag="Workflows", form=_WORKFLOW_FORM),
)

_ADAPTERS: dict[str, TypeAdapter[Any]] = {
    k.name: TypeAdapter(k.cls) for k in KINDS if k.form is None
}


def input_model(kind: Kind) -> type[BaseModel]:
    """A pydantic model of the entity's writable fields (id too where the client picks it)."""
    if kind.form is not None:
        return kind.form.model
    hints = typing.get_type_hints(kind.cls)
    fields: dict[str, Any] = {}
    for f in dataclasses.fields(kind.cls):
        if f.name == "version" or (f.name == "id" and not kind.client_chooses_id):
            continue
        if f.name in kind.server_owned:
            continue
        if f.default is not dataclasses.MISSING:
            default: Any = f.default
        elif f.default_factory is not dataclasses.MISSING:
            default = Field(default_factory=f.default_factory)
        else:
            default = ...
        fields[f.name] = (hints[f.name], default)
    model: type[BaseModel] = create_model(f"{kind.cls.__name__}Input", __base__=Input, **fields)
    return model


INPUT_MODELS: dict[str, type[BaseModel]] = {k.name: input_model(k) for k in KINDS}


def to_entity(kind: Kind, body: BaseModel, entity_id: str) -> Any:
    """Build the domain dataclass from a validated body and the server-chosen id."""
    if kind.form is not None:
        return kind.form.to_entity(body, entity_id)
    data = body.model_dump()
    data["id"] = entity_id
    return kind.adapter.validate_python(data)


def keep_server_owned(kind: Kind, entity: Any, stored: Any) -> Any:
    """`entity` with the server-owned fields of `stored`, the version it replaces."""
    if not kind.server_owned:
        return entity
    return dataclasses.replace(entity, **{f: getattr(stored, f) for f in kind.server_owned})


def to_json(kind: Kind, entity: Any) -> dict[str, Any]:
    if kind.form is not None:
        return kind.form.to_json(entity)
    data: dict[str, Any] = kind.adapter.dump_python(entity, mode="json")
    return data


class Page(BaseModel):
    """One page of a list: `next_offset` is null on the last page."""

    items: list[dict[str, Any]]
    total: int
    offset: int
    limit: int
    next_offset: int | None
