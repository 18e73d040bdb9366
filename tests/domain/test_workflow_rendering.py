"""Rendering texts and prompts at run time (04 RT4) and check_parameter's comparisons."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from switchboard.domain import voice as v
from switchboard.domain.enums import Modality
from switchboard.domain.workflow.rendering import compare, prompt_of, render


@dataclass
class Facts:
    """A task's values as a step sees them; only `lookup` and `language` matter here."""

    values: dict[str, str] = field(default_factory=dict)
    now: float = 0.0
    modality: Modality = Modality.AUDIO
    call_id: str | None = "call"
    accepted: bool = True
    queued_in_background: bool = False
    queued_this_session: bool = False
    queue_status: str = "waiting"
    language: str = "de-CH"

    def new_id(self) -> str:
        return "id"

    def lookup(self, subject: str) -> str | None:
        return self.values.get(subject)

    def parameter_default(self, parameter_id: str) -> str | None:
        return None

    def opening_state(self, calendar: str) -> str:
        return "open"

    def availability(self, service_id: str | None, modality: str | None) -> str:
        return "available"


def test_placeholders_are_filled_and_empty_ones_noted() -> None:
    facts = Facts({"param.Name": "Ada", "system.service.name": "Sales"})
    text, notes = render(
        "Hi {{param.Name}}, {{ system.service.name }} here. {{customer.city}}!",
        facts,
        node_id="n",
        what="text",
    )
    assert text == "Hi Ada, Sales here. !"
    assert [n.code for n in notes] == ["empty_placeholder"]
    assert "{{customer.city}}" in notes[0].message and "'n'" in notes[0].message


def test_spoken_text_is_escaped_after_rendering() -> None:
    facts = Facts({"param.Company": "Smith & <Sons>"})
    prompt, notes = prompt_of(
        {"text": "Welcome to {{param.Company}}", "voice": "x"}, facts, node_id="n", what="p"
    )
    assert prompt == v.Prompt(
        tts="Welcome to Smith &amp; &lt;Sons&gt;", language="de-CH", voice="x"
    )
    assert notes == []


def test_an_audio_resource_prompt_names_the_resource() -> None:
    prompt, _ = prompt_of(
        {"source": "audio_resource", "audio_resource_id": "music-1", "language": "fr-FR"},
        Facts(),
        node_id="n",
        what="p",
    )
    assert prompt == v.Prompt(audio_uri="audio-resource:music-1", language="fr-FR")


@pytest.mark.parametrize(
    ("operator", "actual", "kwargs", "expected"),
    [
        ("equals", "Gold", {"value": "gold"}, True),
        ("equals", "Gold", {"value": "gold", "case_sensitive": True}, False),
        ("matches", "4711", {"value": r"\d{4}"}, True),
        ("matches", "47112", {"value": r"\d{4}"}, False),  # the whole value
        ("greater_than", " 3 ", {"value": "2.5"}, True),
        ("greater_than", "nan", {"value": "2"}, False),
        ("less_than", "1e3", {"value": "inf"}, False),
        ("in", "B", {"values": ["a", "b"]}, True),
        ("is_default", "", {"default": None}, True),
        ("is_empty", "x", {}, False),
    ],
)
def test_compare(operator: str, actual: str, kwargs: dict[str, object], expected: bool) -> None:
    assert compare(operator, actual, **kwargs) is expected  # type: ignore[arg-type]
