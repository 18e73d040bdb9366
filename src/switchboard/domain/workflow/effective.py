"""Settings as the interpreter will use them: what was written, plus defaults.

A document stores only what the designer set ("absent = all defaults", 04 §1),
so that changing a default in a later release reaches every workflow that
did not choose otherwise. The interpreter asks here for the complete picture.
"""

from __future__ import annotations

import copy

from switchboard.domain.enums import Modality
from switchboard.domain.workflow.activities import CATALOGUE
from switchboard.domain.workflow.document import JsonValue, Node
from switchboard.domain.workflow.settings import Missing

__all__ = ["effective_settings"]


def effective_settings(node: Node, modality: Modality) -> dict[str, JsonValue]:
    """The node's settings with every applicable default filled in.

    Settings that do not apply to `modality` get no default; settings without
    a default (an optional prompt, a required parameter) are present only if
    written. Meant for validated documents: an unknown activity raises
    `KeyError`.
    """
    activity = CATALOGUE[node.type]
    out: dict[str, JsonValue] = {}
    for setting in activity.settings:
        if setting.modalities is not None and modality not in setting.modalities:
            continue
        if setting.name in node.settings:
            out[setting.name] = node.settings[setting.name]
            continue
        default = setting.default_for(modality)
        if not isinstance(default, Missing):
            out[setting.name] = default
    # A copy: the interpreter may not change the document or the catalogue.
    return copy.deepcopy(out)
