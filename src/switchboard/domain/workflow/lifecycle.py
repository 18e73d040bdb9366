"""Versions of a workflow: drafts, publishing, and assignment to services.

04 §1 and §2 set the rules; the mechanics are decisions:

* `version` counts publishes. A new workflow is drafted as version 1; a
  draft started from published version *n* (by saving an edit of it) is
  version *n + 1* and keeps that number until it is published. The number
  therefore identifies exactly one published document, which is what a
  running service session refers to (04 §4 RT1).
* A published version never changes: an edit of it is saved as the next
  version's draft. A save keeps the workflow's modality and direction
  (`immutable_field` otherwise): services address a workflow by them (01
  §4.4), so they cannot move under them. The status changes only through
  `publish`.
* A draft may hold errors; `publish` refuses it while any error remains
  (warnings do not block).
* A service slot accepts a workflow that has a published version of the
  slot's kind (01 §4.4 rule 2, 04 §1 `status`).
* Saving (`save_draft`, `check_save`): the configuration store owns `version`
  and `status`. A save always stores a draft: the first one is version 1,
  editing a draft keeps its number, and editing a workflow whose current
  document is published starts the next version, so an editor never has to
  start a draft explicitly. A save is refused only for what identifies the
  entity (name, OU, the kind it was created with); problems in the graph are
  kept in the draft and stop `publish` instead.

Optimistic concurrency for concurrent edits of one draft is the store's
business (a revision or ETag), since `version` here is not an edit counter.
"""

from __future__ import annotations

from dataclasses import replace

from switchboard.domain.errors import Refused
from switchboard.domain.validation import Catalog, Issue
from switchboard.domain.workflow.document import Workflow
from switchboard.domain.workflow.issues import WorkflowIssue, errors, require_no_errors
from switchboard.domain.workflow.kinds import WorkflowKind, WorkflowStatus
from switchboard.domain.workflow.references import References, references_from_catalog
from switchboard.domain.workflow.validate import validate_workflow

__all__ = [
    "ENTITY_PATHS",
    "check_assignment",
    "check_save",
    "publish",
    "save_draft",
    "validate_save",
]

#: Issue paths about the entity itself rather than its graph: these block a save.
ENTITY_PATHS: frozenset[str] = frozenset({"id", "name", "ou_id", "version", "direction"})


def publish(draft: Workflow, refs: References | None = None) -> Workflow:
    """The draft as a published version; `ValidationFailed` lists every error."""
    if draft.status is WorkflowStatus.PUBLISHED:
        raise Refused(
            f"Version {draft.version} of workflow {draft.id!r} is already published.",
            code="already_published",
            workflow_id=draft.id,
            version=draft.version,
        )
    require_no_errors(validate_workflow(draft, refs))
    return replace(draft, status=WorkflowStatus.PUBLISHED)


def check_assignment(slot: str, workflow_id: str, published: Workflow | None) -> list[Issue]:
    """Whether a service's `workflows[slot]` may name `workflow_id` (01 §4.4).

    `published` is the latest published version of that workflow, or None
    when it has none (or does not exist). Paths are relative to the service.
    """
    path = f"workflows.{slot}"
    try:
        kind = WorkflowKind(slot)
    except ValueError:
        return [
            Issue(
                "invalid_format",
                path,
                f"{slot} is not a workflow slot; use one of {', '.join(WorkflowKind)}.",
            )
        ]
    if (
        published is None
        or published.id != workflow_id
        or published.status is not WorkflowStatus.PUBLISHED
    ):
        return [
            Issue(
                "unknown_reference",
                path,
                f"{slot} refers to workflow {workflow_id!r}, which has no published version.",
            )
        ]
    if published.kind is not kind:
        shown = published.kind.label if published.kind else "unknown"
        return [
            Issue(
                "invalid_combination",
                path,
                f"{slot} needs a {kind.label} workflow; {workflow_id!r} is {shown}.",
            )
        ]
    return []


def save_draft(edited: Workflow, stored: Workflow | None) -> Workflow:
    """What a save stores: `edited` as a draft, numbered by the store's rules.

    `stored` is the current document of the same id (None for a new workflow).
    A draft keeps its version; a published current document makes this the
    next version; a new workflow starts at 1. Whatever `version` and `status`
    `edited` carries is ignored: they are the store's.
    """
    if stored is None:
        version = 1
    elif stored.status is WorkflowStatus.PUBLISHED:
        version = stored.version + 1
    else:
        version = stored.version
    return replace(edited, version=version, status=WorkflowStatus.DRAFT)


def check_save(
    draft: Workflow, stored: Workflow | None, refs: References | None = None
) -> list[WorkflowIssue]:
    """Why `draft` (from `save_draft`) may not be stored; empty when it may.

    The kind is fixed once created (services address workflows by kind), and
    the entity fields must be sound; graph problems are allowed in a draft.
    """
    issues = _kind_changes(draft, stored) if stored is not None else []
    issues += [i for i in errors(validate_workflow(draft, refs)) if i.path in ENTITY_PATHS]
    return issues


def _kind_changes(new: Workflow, stored: Workflow) -> list[WorkflowIssue]:
    """Modality or direction changed: services address a workflow by its kind."""
    return [
        WorkflowIssue(
            "immutable_field",
            name,
            f"{name} cannot be changed after creation; it is {old.value}. "
            "Create a new workflow for another kind of task.",
        )
        for name in ("modality", "direction")
        if (old := getattr(stored, name)) != getattr(new, name)
    ]


def validate_save(draft: Workflow, catalog: Catalog, stored: Workflow | None) -> list[Issue]:
    """`check_save` against a tenant's configuration (the engine's validator hook)."""
    return list(check_save(draft, stored, references_from_catalog(catalog)))
