"""Which entities a workflow names, read from the activity catalogue's declarations.

Deleting an entity that a workflow still names would leave the workflow
pointing at nothing (01: `entity_in_use`). The settings that name entities are
declared as `RefSetting`s, possibly inside lists and objects (a prompt inside
a queue's announcements), so the walk follows the declarations rather than
guessing from key names.
"""

from __future__ import annotations

from collections.abc import Iterator

from switchboard.domain.workflow.activities import CATALOGUE
from switchboard.domain.workflow.document import JsonValue, Workflow
from switchboard.domain.workflow.references import RefKind
from switchboard.domain.workflow.settings import ListSetting, ObjectSetting, RefSetting, Setting

__all__ = ["named_ids"]


def named_ids(workflow: Workflow, kind: RefKind) -> frozenset[str]:
    """The ids of `kind` that the workflow's node settings name."""
    found: set[str] = set()
    for node in workflow.document.nodes:
        activity = CATALOGUE.get(node.type)
        if activity is None:
            continue
        for setting in activity.settings:
            if setting.name in node.settings:
                found.update(_walk(setting, node.settings[setting.name], kind))
    return frozenset(found)


def _walk(setting: Setting, value: JsonValue, kind: RefKind) -> Iterator[str]:
    if isinstance(setting, RefSetting):
        if setting.ref is kind and isinstance(value, str) and value not in setting.literals:
            yield value
    elif isinstance(setting, ListSetting) and isinstance(value, list):
        for item in value:
            yield from _walk(setting.item, item, kind)
    elif isinstance(setting, ObjectSetting) and isinstance(value, dict):
        for field in setting.fields:
            if field.name in value:
                yield from _walk(field, value[field.name], kind)
