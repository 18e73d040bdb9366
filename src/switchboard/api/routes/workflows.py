"""Workflow routes beside the generic CRUD of `config`: publish, validate, templates, schema.

* `POST /workflows/{id}/publish` publishes the current draft as its version
  (422 with every error while any remains; 409 `already_published`).
* `GET /workflows/{id}/issues` lists every problem of the current document,
  warnings included, in the shape of 04 §2 — a draft may be saved with errors,
  and this is where the designer sees them before publishing.
* `GET /workflow-templates` lists the built-in templates (04 §6) with their
  parameters; `POST /workflow-templates/{template}` copies one into an OU as a
  new draft.
* `GET /workflows/schema` is the published JSON Schema of workflow documents.

All are guarded like workflows themselves (10 §2 row 11). This router is
included before the generic one, so `/workflows/schema` is not read as a
workflow id.
"""

# No `from __future__ import annotations`: FastAPI reads the models below at runtime.

import inspect
import typing
import uuid
from collections.abc import Callable, Sequence
from functools import cache
from typing import Any

from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel, Field

from switchboard.api.json_body import JsonRoute
from switchboard.api.permissions import READ, WRITE, Actor, config_target, require
from switchboard.api.problems import RESPONSES, ApiProblem
from switchboard.api.schemas import Input
from switchboard.domain.access import Capability, Mode
from switchboard.domain.validation import Issue, ValidationFailed
from switchboard.domain.workflow import (
    TEMPLATES,
    Workflow,
    references_from_catalog,
    validate_workflow,
    workflow_schema,
)
from switchboard.domain.workflow.issues import WorkflowIssue
from switchboard.domain.workflow.templates import LanguageChoice
from switchboard.engine.engine import Engine

router = APIRouter(prefix="/api/v1", responses=RESPONSES, route_class=JsonRoute)
TAGS: list[str | Any] = ["Workflows"]

#: Templates by URL key: the function's name, since display names hold slashes.
_BY_KEY: dict[str, tuple[str, Callable[..., Workflow]]] = {
    fn.__name__: (name, fn) for name, fn in TEMPLATES.items()
}
#: Parameters every template takes that the route fills in itself.
_OWN = ("workflow_id", "ou_id")


def _missing(workflow_id: str) -> ApiProblem:
    return ApiProblem(404, "workflow_not_found", f"No workflow with id '{workflow_id}'.")


def workflow_head(actor: Actor, engine: Engine, workflow_id: str, mode: Mode) -> Workflow:
    """The workflow's current document, if the actor may `mode` it; else 404."""
    head = engine.state.workflows.get(workflow_id)
    if head is None:
        raise _missing(workflow_id)
    actor.allow(
        engine,
        config_target("workflow", head, engine.state, mode),
        missing=_missing(workflow_id),
    )
    return head


def _document(workflow: Workflow, response: Response) -> dict[str, Any]:
    response.headers["ETag"] = f'"{workflow.version}"'
    return dict(workflow.to_json())


@router.get("/workflows/schema", tags=TAGS, name="workflow_schema")
async def get_workflow_schema(
    actor: Actor = Depends(require(Capability.CALENDARS_WORKFLOWS, READ)),
) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) every valid workflow document satisfies."""
    await actor.run(lambda engine: None)  # the coarse check: may read workflows somewhere
    return _schema()


@cache
def _schema() -> dict[str, Any]:
    """Built on first use, then kept: it follows from the activity catalogue alone."""
    return workflow_schema()


@router.post("/workflows/{entity_id}/publish", tags=TAGS, name="publish_workflow")
async def publish_workflow(
    entity_id: str,
    response: Response,
    actor: Actor = Depends(require(Capability.CALENDARS_WORKFLOWS, WRITE)),
) -> dict[str, Any]:
    """Publish the current draft; services may then use this version."""

    def work(engine: Engine) -> Workflow:
        workflow_head(actor, engine, entity_id, WRITE)
        return engine.publish_workflow(entity_id)

    return _document(await actor.run(work), response)


class IssuesOut(BaseModel):
    workflow_id: str
    version: int
    status: str
    publishable: bool = Field(description="True when no error remains (warnings do not count).")
    issues: list[dict[str, str]]


@router.get(
    "/workflows/{entity_id}/issues",
    response_model=IssuesOut,
    tags=TAGS,
    name="workflow_issues",
)
async def workflow_issues(
    entity_id: str,
    actor: Actor = Depends(require(Capability.CALENDARS_WORKFLOWS, READ)),
) -> IssuesOut:
    """Every problem of the current document against the tenant's configuration."""

    def work(engine: Engine) -> tuple[Workflow, list[WorkflowIssue]]:
        head = workflow_head(actor, engine, entity_id, READ)
        return head, validate_workflow(head, references_from_catalog(engine.catalog()))

    head, issues = await actor.run(work)
    return IssuesOut(
        workflow_id=head.id,
        version=head.version,
        status=head.status.value,
        publishable=not any(i.severity == "error" for i in issues),
        issues=[i.as_dict() for i in issues],
    )


# ---------------------------------------------------------------------- templates


class TemplateParameter(BaseModel):
    name: str
    type: str = Field(description="JSON type: text, whole number, text or null, languages.")
    required: bool
    default: Any = None


class TemplateOut(BaseModel):
    id: str = Field(description="The key to instantiate it with.")
    name: str
    kind: str = Field(description="The service slot it fits, e.g. audio_inbound.")
    description: str
    parameters: list[TemplateParameter]


class InstantiateIn(Input):
    """Where the copy goes and what it says; unknown parameters are refused."""

    ou_id: str = "root"
    name: str | None = Field(None, description="The workflow's name; default the template's.")
    parameters: dict[str, Any] = Field(default_factory=dict)


def _type_name(hint: Any) -> str:
    if hint is str:
        return "text"
    if hint is int:
        return "whole number"
    if hint == (str | None):
        return "text or null"
    return "languages"  # Sequence[LanguageChoice], the one structured parameter


def _parameters(fn: Callable[..., Workflow]) -> list[tuple[inspect.Parameter, Any]]:
    hints = typing.get_type_hints(fn)
    return [
        (p, hints[p.name])
        for p in inspect.signature(fn).parameters.values()
        if p.name not in _OWN and p.name != "name"
    ]


def _template_out(key: str) -> TemplateOut:
    name, fn = _BY_KEY[key]
    preview = fn(workflow_id="preview", ou_id="root", **_placeholders(fn))
    assert preview.kind is not None  # every template is a valid workflow
    return TemplateOut(
        id=key,
        name=name,
        kind=preview.kind.value,
        description=(fn.__doc__ or "").strip().splitlines()[0],
        parameters=[
            TemplateParameter(
                name=p.name,
                type=_type_name(hint),
                required=p.default is inspect.Parameter.empty,
                default=_jsonable_default(p.default),
            )
            for p, hint in _parameters(fn)
        ],
    )


def _placeholders(fn: Callable[..., Workflow]) -> dict[str, Any]:
    """Stand-ins for required parameters, only to learn the template's kind."""
    return {
        p.name: f"<{p.name}>" for p, _ in _parameters(fn) if p.default is inspect.Parameter.empty
    }


def _jsonable_default(value: Any) -> Any:
    if value is inspect.Parameter.empty:
        return None
    if isinstance(value, Sequence) and not isinstance(value, str):
        return [
            {
                "key": c.key,
                "language": c.language,
                "welcome_text": c.welcome_text,
                "sorry_text": c.sorry_text,
            }
            for c in value
        ]
    return value


@cache
def templates_out() -> list[TemplateOut]:
    """Built on first use, not at start-up: each one builds and validates its template."""
    return [_template_out(key) for key in _BY_KEY]


@router.get(
    "/workflow-templates", response_model=list[TemplateOut], tags=TAGS, name="workflow_templates"
)
async def list_templates(
    actor: Actor = Depends(require(Capability.CALENDARS_WORKFLOWS, READ)),
) -> list[TemplateOut]:
    """The built-in templates (04 §6) and the parameters each one takes."""
    await actor.run(lambda engine: None)  # the coarse check: may read workflows somewhere
    return templates_out()


def _arguments(fn: Callable[..., Workflow], given: dict[str, Any]) -> dict[str, Any]:
    """The body's parameters as the template's arguments; every problem at once."""
    known = {p.name: (p, hint) for p, hint in _parameters(fn)}
    problems: list[Issue] = [
        Issue(
            "unknown_field",
            f"parameters.{key}",
            f"{key} is not a parameter of this template; expected one of {', '.join(known)}.",
        )
        for key in given
        if key not in known
    ]
    out: dict[str, Any] = {}
    for key, (param, hint) in known.items():
        path = f"parameters.{key}"
        if key not in given:
            if param.default is inspect.Parameter.empty:
                problems.append(Issue("required", path, f"{key} is required for this template."))
            continue
        value = given[key]
        kind = _type_name(hint)
        wrong = {
            "text": not isinstance(value, str),
            "text or null": value is not None and not isinstance(value, str),
            "whole number": isinstance(value, bool) or not isinstance(value, int),
        }.get(kind, False)
        if wrong:
            problems.append(Issue("invalid_type", path, f"{key} must be {_article(kind)}."))
        if kind == "languages":
            value = _languages(path, value, problems)
        out[key] = value
    if problems:
        raise ValidationFailed(problems)
    return out


def _article(kind: str) -> str:
    return kind if kind.startswith("text") else f"a {kind}"


_LANGUAGE_FIELDS = ("key", "language", "welcome_text", "sorry_text")


def _languages(path: str, value: Any, problems: list[Issue]) -> list[LanguageChoice]:
    if not isinstance(value, list) or not value:
        problems.append(
            Issue("invalid_type", path, "languages must be a non-empty list of objects.")
        )
        return []
    out: list[LanguageChoice] = []
    for index, item in enumerate(value):
        if (
            not isinstance(item, dict)
            or set(item) != set(_LANGUAGE_FIELDS)
            or not all(isinstance(item[f], str) for f in _LANGUAGE_FIELDS)
        ):
            problems.append(
                Issue(
                    "invalid_type",
                    f"{path}[{index}]",
                    f"each language must be an object of the texts {', '.join(_LANGUAGE_FIELDS)}.",
                )
            )
            continue
        out.append(LanguageChoice(**item))
    return out


@router.post(
    "/workflow-templates/{template}",
    status_code=201,
    tags=TAGS,
    name="instantiate_workflow_template",
)
async def instantiate_template(
    template: str,
    body: InstantiateIn,
    response: Response,
    actor: Actor = Depends(require(Capability.CALENDARS_WORKFLOWS, WRITE)),
) -> dict[str, Any]:
    """Copy a template into an OU as a new draft workflow (04 §6)."""
    found = _BY_KEY.get(template)
    if found is None:
        raise ApiProblem(
            404,
            "template_not_found",
            f"No workflow template '{template}'; GET /api/v1/workflow-templates lists them.",
        )
    _, fn = found
    arguments = _arguments(fn, body.parameters)
    if body.name is not None:
        arguments["name"] = body.name
    workflow_id = str(uuid.uuid4())
    try:
        draft = fn(workflow_id=workflow_id, ou_id=body.ou_id, **arguments)
    except ValueError as error:  # a template refusing its parameters (e.g. no language)
        raise ValidationFailed([Issue("invalid_setting", "parameters", str(error))]) from None

    def work(engine: Engine) -> Workflow:
        invisible = ApiProblem(
            422,
            "unknown_reference",
            f"No OU with id '{body.ou_id}' that you can use.",
            errors=[{"code": "unknown_reference", "path": "ou_id", "message": "No such OU."}],
        )
        actor.allow(
            engine, config_target("workflow", draft, engine.state, WRITE), missing=invisible
        )
        engine.upsert("workflow", draft)
        stored: Workflow = engine.state.workflows[workflow_id]
        return stored

    stored = await actor.run(work)
    response.headers["Location"] = f"/api/v1/workflows/{workflow_id}"
    return _document(stored, response)
