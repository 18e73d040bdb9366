"""Workflow (IVR) documents: model, catalogue, validation, schema, templates (spec 04).

What lives where:

* `document`: `Workflow`, `WorkflowDocument`, `Node` (the typed model) and
  `to_json`; `parse`: JSON in, shape problems out.
* `activities`: the catalogue of 04 §3 as data, written with the setting
  types of `settings`.
* `validate`: every rule of 04 §2; `graph` holds the path and loop
  algorithms it needs; `references` the snapshot of the tenant's other
  entities it checks ids against; `placeholders` the `{{...}}` grammar.
* `schema`: the published JSON Schema, generated from the catalogue.
* `templates`: the built-in workflows of 04 §6.
* `lifecycle`: drafts, publishing, and assignment to service slots.
* `effective`: settings with defaults, for the interpreter.

The package is pure domain code: standard library and `switchboard.domain`
only.
"""

from switchboard.domain.workflow.activities import CATALOGUE, Activity, Exit
from switchboard.domain.workflow.document import JsonValue, Node, Workflow, WorkflowDocument
from switchboard.domain.workflow.effective import effective_settings
from switchboard.domain.workflow.issues import Severity, WorkflowIssue, errors, require_no_errors
from switchboard.domain.workflow.kinds import WorkflowKind, WorkflowStatus, kind_of
from switchboard.domain.workflow.lifecycle import check_assignment, publish
from switchboard.domain.workflow.parse import parse_workflow, read_workflow
from switchboard.domain.workflow.references import (
    References,
    RefKind,
    ServiceRef,
    references_from_catalog,
)
from switchboard.domain.workflow.schema import workflow_schema
from switchboard.domain.workflow.templates import TEMPLATES
from switchboard.domain.workflow.validate import validate_document, validate_workflow

__all__ = [
    "CATALOGUE",
    "TEMPLATES",
    "Activity",
    "Exit",
    "JsonValue",
    "Node",
    "RefKind",
    "References",
    "ServiceRef",
    "Severity",
    "Workflow",
    "WorkflowDocument",
    "WorkflowIssue",
    "WorkflowKind",
    "WorkflowStatus",
    "check_assignment",
    "effective_settings",
    "errors",
    "kind_of",
    "parse_workflow",
    "publish",
    "read_workflow",
    "references_from_catalog",
    "require_no_errors",
    "validate_document",
    "validate_workflow",
    "workflow_schema",
]
