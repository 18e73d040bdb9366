"""The activity catalogue as Markdown, for docs/workflows.md.

The reference section of the documentation is generated from `CATALOGUE`
(and a test checks that the file carries the current text), so the
documentation cannot fall behind a changed range or a new exit.
"""

from __future__ import annotations

import json

from switchboard.domain.enums import Modality
from switchboard.domain.workflow.activities import CATALOGUE, Activity
from switchboard.domain.workflow.kinds import WorkflowKind
from switchboard.domain.workflow.settings import MISSING, ByModality, Setting

__all__ = ["BEGIN_MARK", "END_MARK", "catalogue_markdown"]

BEGIN_MARK = "<!-- BEGIN GENERATED CATALOGUE (switchboard.domain.workflow.describe) -->"
END_MARK = "<!-- END GENERATED CATALOGUE -->"


def catalogue_markdown() -> str:
    """One section per activity: where it runs, its settings and its exits."""
    return "\n".join(_activity(a) for a in CATALOGUE.values())


def _activity(activity: Activity) -> str:
    kinds = ", ".join(k.label for k in WorkflowKind if k in activity.kinds)
    facts = [f"Runs in: {kinds}."]
    facts.append("May run before accept." if activity.pre_accept else "")
    facts.append("Waits (may sit in a loop)." if activity.waits else "")
    lines = [f"### `{activity.key}`", "", activity.doc, "", " ".join(f for f in facts if f), ""]
    if activity.settings:
        lines += ["| Setting | Value | Default | Meaning |", "|---|---|---|---|"]
        lines += [_setting(s) for s in activity.settings]
    else:
        lines.append("No settings.")
    lines.append("")
    exits = [f"`{e.name}` ({e.doc.rstrip('.')})" for e in activity.exits]
    if activity.option_exits:
        exits.insert(0, "`option_<key>` per option (`option_star` for `*`, `option_pound` for `#`)")
    lines.append(f"Exits: {'; '.join(exits)}." if exits else "Exits: none.")
    lines.append("")
    return "\n".join(lines)


def _setting(setting: Setting) -> str:
    value = setting.expected()
    if setting.required:
        value = f"required; {value}"
    if setting.nullable:
        value = f"{value}, or null"
    if setting.modalities is not None:
        only = "/".join(m.value for m in Modality if m in setting.modalities)
        value = f"{value} ({only} only)"
    if isinstance(setting.default, ByModality):
        default = setting.default.describe()
    elif setting.default is MISSING:
        default = "—"
    else:
        default = f"`{json.dumps(setting.default, ensure_ascii=False)}`"
    cells = [f"`{setting.name}`", value, default, setting.doc]
    return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"
