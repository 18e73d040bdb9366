"""The workflow editor: the document as JSON, the validator's issues beside it, publish,
and the built-in templates to start from (docs/web.md, "Admin screens").

The document is edited as the JSON of 04 §1 in a plain text area (no editor
library: nothing to vendor, and it works with every screen reader). "Save and
validate" saves the draft (`PUT /api/v1/workflows/{id}`) and then shows every
issue of the saved document — the same `validate_workflow` the API's
`GET …/issues` and `publish` use — grouped by node; choosing an issue selects
that node's JSON in the text.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from switchboard.api.permissions import READ, WRITE, Actor
from switchboard.api.routes.workflows import templates_out, workflow_head
from switchboard.domain.access import Capability
from switchboard.domain.workflow import Workflow, references_from_catalog, validate_workflow
from switchboard.engine.engine import Engine
from switchboard.web.admin.core import entity_writable, options
from switchboard.web.admin.kinds import WORKFLOWS
from switchboard.web.admin.routes import frame
from switchboard.web.guard import page
from switchboard.web.templating import render

router = APIRouter(include_in_schema=False)

#: The document fields a client writes; `id`, `version` and `status` are the server's.
_OWNED = ("id", "version", "status")

#: What "Start from an empty document" begins with, per kind: the smallest valid draft.
KINDS = (
    ("audio_inbound", "Incoming calls"),
    ("audio_outbound", "Outgoing calls"),
    ("chat_inbound", "Chats"),
    ("email_inbound", "E-mails"),
    ("external_task_inbound", "External tasks"),
)


def document_text(workflow: Workflow) -> str:
    """The document as the person edits it: without the server's fields, two-space indented."""
    data = {k: v for k, v in workflow.to_json().items() if k not in _OWNED}
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


@router.get("/admin/workflows/new")
async def new_workflow(
    request: Request,
    actor: Actor = Depends(page(Capability.CALENDARS_WORKFLOWS, WRITE, system=True)),
) -> Response:
    def read(engine: Engine) -> dict[str, Any]:
        access = actor.access(engine)
        return {
            "viewer": frame(engine, actor, request, active=WORKFLOWS.key),
            "opts": options(engine, access, WORKFLOWS, ("ous",)),
        }

    context = await actor.run(read)
    context.update(templates=templates_out(), kinds=KINDS, kind=WORKFLOWS)
    return render(request, "admin/workflow_new.html", context)


@router.get("/admin/workflows/{workflow_id}")
async def edit_workflow(
    workflow_id: str,
    request: Request,
    actor: Actor = Depends(page(Capability.CALENDARS_WORKFLOWS, READ, system=True)),
) -> Response:
    def read(engine: Engine) -> dict[str, Any]:
        state = engine.state
        head = workflow_head(actor, engine, workflow_id, READ)
        writable, why = entity_writable(actor.access(engine), WORKFLOWS, head, state)
        published = state.published_workflows.get(workflow_id)
        users = sorted(
            (s.id, s.name, slot)
            for s in state.services.values()
            for slot, wf in s.workflows.items()
            if wf == workflow_id
        )
        return {
            "viewer": frame(engine, actor, request, active=WORKFLOWS.key),
            "head": head,
            "kind_label": dict(KINDS).get(head.kind.value if head.kind else "", ""),
            "published_version": published.version if published is not None else None,
            "used_by": users,
            "writable": writable,
            "why": why,
            "text": document_text(head),
            "etag": f'"{head.version}"',
        }

    context = await actor.run(read)
    context.update(kind=WORKFLOWS, workflow_id=workflow_id)
    return render(request, "admin/workflow.html", context)


@router.get("/ui/admin/workflows/{workflow_id}/issues")
async def workflow_issues(
    workflow_id: str,
    request: Request,
    actor: Actor = Depends(page(Capability.CALENDARS_WORKFLOWS, READ, system=True)),
) -> Response:
    """The issues of the saved document, grouped by node (a fragment of the editor)."""

    def read(engine: Engine) -> dict[str, Any]:
        head = workflow_head(actor, engine, workflow_id, READ)
        published = engine.state.published_workflows.get(workflow_id)
        issues = validate_workflow(head, references_from_catalog(engine.catalog()))
        types = {n.id: n.type for n in head.document}
        groups: dict[str, list[dict[str, str]]] = {}
        for issue in issues:
            shown = issue.as_dict()
            prefix = f"nodes[{issue.node_id}]" if issue.node_id else ""
            setting = issue.path[len(prefix) :].lstrip(".") if prefix else issue.path
            shown["setting"] = setting
            groups.setdefault(issue.node_id or "", []).append(shown)
        ordered = [n.id for n in head.document if n.id in groups]
        return {
            "head": head,
            "groups": ([("", groups[""])] if "" in groups else [])
            + [(node_id, groups[node_id]) for node_id in ordered],
            "types": types,
            "errors": sum(1 for i in issues if i.severity == "error"),
            "warnings": sum(1 for i in issues if i.severity == "warning"),
            "published": head.status.value == "published",
            "published_version": published.version if published is not None else None,
        }

    context = await actor.run(read)
    return render(request, "admin/_workflow_issues.html", context)
