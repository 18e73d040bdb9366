"""Texts, prompts and comparisons at run time (04 RT4, 3.8).

`render` fills `{{param.X}}`, `{{system.x}}` and `{{customer.y}}` from the
task. An unknown or empty value renders as the empty string and is reported as
a `Note`, which the engine journals as a warning (RT4). Text that a provider
will speak is XML-escaped after rendering (decision: a caller's name such as
"Smith & <Sons>" must not break the synthesiser's markup, and escaping after
rendering escapes exactly what came from outside as well as the designer's
own text).

`compare` implements the operators of `check_parameter`; regular expressions
must match the whole value (decision: a pattern describes the value, as for
`collect_information.pattern`; write `.*` for "contains").
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Final
from xml.sax.saxutils import escape

from switchboard.domain.voice import Prompt
from switchboard.domain.workflow.document import JsonValue
from switchboard.domain.workflow.runtime import Facts, Note

__all__ = ["AUDIO_RESOURCE_URI", "compare", "prompt_of", "render"]

#: How a prompt names an audio resource to the provider adapter, which resolves it.
AUDIO_RESOURCE_URI: Final = "audio-resource:{}"

_PLACEHOLDER: Final = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)


def render(template: str, facts: Facts, *, node_id: str, what: str) -> tuple[str, list[Note]]:
    """The template with every placeholder filled; notes for empty or unknown ones."""
    notes: list[Note] = []

    def fill(match: re.Match[str]) -> str:
        name = match.group(1).strip()
        value = facts.lookup(name)
        if not value:
            notes.append(
                Note(
                    "empty_placeholder",
                    f"Node {node_id!r}: {{{{{name}}}}} in {what} has no value here; "
                    "it was left empty.",
                )
            )
            return ""
        return value

    return _PLACEHOLDER.sub(fill, template), notes


def prompt_of(
    data: JsonValue, facts: Facts, *, node_id: str, what: str
) -> tuple[Prompt, list[Note]]:
    """A prompt setting as the provider plays it: rendered, escaped text or a resource."""
    assert isinstance(data, Mapping)  # a validated document's prompt is an object
    language = data.get("language")
    voice = data.get("voice")
    lang = language if isinstance(language, str) else facts.language
    spoken_by = voice if isinstance(voice, str) else None
    if data.get("source") == "audio_resource":
        resource = data.get("audio_resource_id")
        return (
            Prompt(audio_uri=AUDIO_RESOURCE_URI.format(resource), language=lang, voice=spoken_by),
            [],
        )
    text = data.get("text")
    rendered, notes = render(
        text if isinstance(text, str) else "", facts, node_id=node_id, what=what
    )
    return Prompt(tts=escape(rendered), language=lang, voice=spoken_by), notes


def _number(text: str) -> float | None:
    try:
        value = float(text.strip())
    except ValueError:
        return None
    return value if value == value and abs(value) != float("inf") else None


def compare(
    operator: str,
    actual: str,
    *,
    value: str | None = None,
    values: Sequence[str] = (),
    case_sensitive: bool = False,
    default: str | None = None,
) -> bool:
    """Whether `actual` satisfies `operator` (3.8); numeric operators on text are false."""
    if operator == "is_empty":
        return not actual.strip()
    if operator == "is_default":
        return actual == (default or "")
    if operator in ("greater_than", "less_than"):
        left, right = _number(actual), _number(value or "")
        if left is None or right is None:
            return False
        return left > right if operator == "greater_than" else left < right
    if operator == "matches":
        flags = 0 if case_sensitive else re.IGNORECASE
        return re.fullmatch(value or "", actual, flags) is not None
    fold = (lambda s: s) if case_sensitive else str.casefold
    subject = fold(actual)
    if operator == "in":
        return subject in {fold(v) for v in values}
    other = fold(value or "")
    checks = {
        "equals": subject == other,
        "not_equals": subject != other,
        "contains": other in subject,
        "starts_with": subject.startswith(other),
        "ends_with": subject.endswith(other),
    }
    return checks[operator]
