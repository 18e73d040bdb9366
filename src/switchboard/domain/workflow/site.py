"""Where a check is looking, so that every issue names its node and setting.

The validator walks a node's settings with a `Site`: it knows the node (id,
activity, path), the setting's path inside `settings` (`prompt.text`,
`options[2]`) and the workflow's context (kind, references, visible OUs).
Setting types and activity rules report through it and never build paths or
message prefixes themselves, which keeps every message in one shape:
"Node 'menu1' (input_customer): timeout_s must be between 1 and 60 seconds;
got 90."
"""

from __future__ import annotations

from dataclasses import dataclass

from switchboard.domain.workflow.issues import Severity, WorkflowIssue
from switchboard.domain.workflow.kinds import WorkflowKind
from switchboard.domain.workflow.placeholders import find_placeholders
from switchboard.domain.workflow.references import References, RefKind

__all__ = ["NodeScope", "Reporter", "Site", "describe"]


def describe(value: object) -> str:
    """A value as a person reads it in a message: JSON type names, JSON spelling."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"boolean {str(value).lower()}"
    if isinstance(value, int | float):
        return f"number {value!r}"
    if isinstance(value, str):
        return f"text {value!r}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


class Reporter:
    """Collects the issues of one validation run, in the order they are found."""

    def __init__(self) -> None:
        self.issues: list[WorkflowIssue] = []

    def add(
        self,
        code: str,
        path: str,
        message: str,
        *,
        node_id: str | None = None,
        severity: Severity = Severity.ERROR,
    ) -> None:
        self.issues.append(WorkflowIssue(code, path, message, node_id, severity))


@dataclass(frozen=True, slots=True)
class NodeScope:
    """One node being checked, and what its checks may need to know."""

    reporter: Reporter
    path: str
    node_id: str | None
    label: str
    workflow_id: str
    kind: WorkflowKind | None
    refs: References | None
    ou_id: str
    visible: frozenset[str] | None

    def add(
        self, code: str, suffix: str, message: str, severity: Severity = Severity.ERROR
    ) -> None:
        path = f"{self.path}.{suffix}" if suffix else self.path
        self.reporter.add(
            code, path, f"{self.label}: {message}", node_id=self.node_id, severity=severity
        )

    def setting(self, name: str) -> Site:
        return Site(self, name)


@dataclass(frozen=True, slots=True)
class Site:
    """One setting (or a part of one) of a node; `name` is its path in `settings`."""

    scope: NodeScope
    name: str

    @property
    def kind(self) -> WorkflowKind | None:
        return self.scope.kind

    def at(self, key: str) -> Site:
        return Site(self.scope, f"{self.name}.{key}")

    def item(self, index: int) -> Site:
        return Site(self.scope, f"{self.name}[{index}]")

    def error(self, code: str, message: str) -> None:
        self.scope.add(code, f"settings.{self.name}", message)

    def warn(self, code: str, message: str) -> None:
        self.scope.add(code, f"settings.{self.name}", message, Severity.WARNING)

    def reference(self, kind: RefKind, entity_id: str, *, placeholder: bool = False) -> None:
        """Check that the entity exists and is visible from the workflow's OU.

        Without a references snapshot there is nothing to check against.
        `placeholder` reports a missing parameter named in a text with the
        placeholder code of 04 §2 V11 instead of `unknown_reference`.
        """
        refs = self.scope.refs
        if refs is None:
            return
        owner = refs.owner_ou(kind, entity_id)
        what = f"{kind.label} {entity_id!r}"
        if owner is None:
            if placeholder:
                self.error(
                    "unknown_placeholder",
                    f"{self.name} uses placeholder {{{{param.{entity_id}}}}}, "
                    f"but {what} does not exist.",
                )
            else:
                self.error(
                    "unknown_reference", f"{self.name} refers to {what}, which does not exist."
                )
            return
        visible = self.scope.visible
        if visible is not None and owner not in visible:
            self.error(
                "reference_not_visible",
                f"{self.name} refers to {what} of OU {owner!r}, which is not visible from "
                f"the workflow's OU {self.scope.ou_id!r}; use one of that OU or an OU above it.",
            )

    def placeholders(self, text: str) -> None:
        """Check every `{{...}}` in a text this setting renders (04 §4 RT4)."""
        for found in find_placeholders(text):
            if found.stray:
                self.error(
                    "unknown_placeholder",
                    f"{self.name} has an unmatched {found.raw}; "
                    "placeholders are written {{param.CaseId}}.",
                )
            elif found.problem is not None:
                self.error(
                    "unknown_placeholder",
                    f"{self.name} uses placeholder {{{{{found.raw.strip()}}}}}, "
                    f"which {found.problem}.",
                )
            elif found.parameter_id is not None:
                self.reference(RefKind.PARAMETER, found.parameter_id, placeholder=True)
