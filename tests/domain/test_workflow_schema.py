"""The published JSON Schema: generated from the catalogue, and in step with the validator.

The schema cannot express every rule (paths, loops, references), so it is
the looser of the two: any document the validator accepts must pass the
schema; equivalently, a document the schema rejects must have validator
errors. Hypothesis hunts for counter-examples by mutating valid documents;
a fixed corpus shows the schema does reject what it can express.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import jsonschema_rs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from workflow_samples import PROMPT, chat, flow, hotline, node

from switchboard.domain.workflow import (
    CATALOGUE,
    TEMPLATES,
    errors,
    validate_document,
    workflow_schema,
)
from switchboard.domain.workflow.schema import SCHEMA_ID
from switchboard.domain.workflow.settings import (
    BoolSetting,
    ChoiceSetting,
    IntSetting,
    Setting,
    TextSetting,
)
from workflow_nodes import node as n

SCHEMA = workflow_schema()
VALIDATOR = jsonschema_rs.Draft202012Validator(SCHEMA)


def schema_ok(document: Any) -> bool:
    return bool(VALIDATOR.is_valid(document))


def validator_ok(document: Any) -> bool:
    return not errors(validate_document(document))


def templates() -> list[dict[str, Any]]:
    out = []
    for name, build in TEMPLATES.items():
        extra = (
            {"option_1_service_id": "svc-a", "option_2_service_id": "svc-b"}
            if name == "IVR Menu"
            else {}
        )
        out.append(build(workflow_id="wf-t", ou_id="root", **extra).to_json())
    return out


def test_the_schema_is_a_valid_draft_2020_12_schema() -> None:
    assert jsonschema_rs.meta.is_valid(SCHEMA)
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert SCHEMA["$id"] == SCHEMA_ID
    json.dumps(SCHEMA)  # plain JSON, publishable as is


def test_the_schema_is_generated_from_the_catalogue() -> None:
    defs: Any = SCHEMA["$defs"]
    assert set(defs) == {"node"} | {f"activity_{key}" for key in CATALOGUE}
    queue = defs["activity_queue"]["properties"]["settings"]["properties"]
    assert queue["rona_timeout_s"] == {
        "type": "integer",
        "minimum": 5,
        "maximum": 30,
        "default": 20,
        "description": "Ring time of one offer before RONA.",
    }
    assert queue["priority"]["anyOf"][1] == {"type": "null"}
    assert (
        "300 for audio/chat; 86400 for email/external_task"
        in queue["max_queue_time_s"]["description"]
    )
    exits = defs["activity_queue"]["properties"]["exits"]
    assert exits["required"] == ["timeout", "no_users", "full"]


@pytest.mark.parametrize("document", templates(), ids=list(TEMPLATES))
def test_templates_pass_the_schema(document: dict[str, Any]) -> None:
    assert list(VALIDATOR.iter_errors(document)) == []


@pytest.mark.parametrize("sample", [hotline, chat], ids=["hotline", "chat"])
def test_valid_samples_pass_the_schema(sample: Any) -> None:
    assert list(VALIDATOR.iter_errors(sample())) == []


def _edit(document: dict[str, Any], node_id: str, **values: Any) -> dict[str, Any]:
    node(document, node_id).setdefault("settings", {}).update(values)
    return document


def _with(document: dict[str, Any], **fields: Any) -> dict[str, Any]:
    document.update(fields)
    return document


def _nodes(document: dict[str, Any], nodes: list[Any]) -> dict[str, Any]:
    document["nodes"] = nodes
    return document


# (case, document, whether the schema can see the problem)
CORPUS: list[tuple[str, dict[str, Any], bool]] = [
    ("range", _edit(hotline(), "menu", timeout_s=90), True),
    ("type", _edit(hotline(), "menu", timeout_s="5"), True),
    ("unknown setting", _edit(hotline(), "menu", timeout=5), True),
    ("choice", _edit(hotline(), "q", user_ordering="fastest"), True),
    ("prompt source", _edit(hotline(), "closed", prompt={"source": "audio_resource"}), True),
    ("prompt without text", _edit(hotline(), "closed", prompt={"language": "en"}), True),
    ("null", _edit(hotline(), "menu", timeout_s=None), True),
    ("duplicate option", _edit(hotline(), "menu", options=["1", "1"]), True),
    ("blank name", _with(hotline(), name=" "), True),
    ("unknown envelope field", _with(hotline(), owner="me"), True),
    ("bad modality", _with(hotline(), modality="fax"), True),
    ("outbound chat", _with(chat(), direction="outbound"), True),
    ("voicemail in chat", _with(hotline(), modality="chat"), True),
    ("version 0", _with(hotline(), version=0), True),
    ("one node", _nodes(hotline(), [n("start", "start", {"next": "x"})]), True),
    ("no start", _nodes(hotline(), hotline()["nodes"][1:]), True),
    (
        "two starts",
        _nodes(hotline(), [n("s2", "start", {"next": "acc"}), *hotline()["nodes"]]),
        True,
    ),
    ("unknown activity", _nodes(hotline(), [*hotline()["nodes"], n("x", "bogus")]), True),
    ("bad node id", _nodes(hotline(), [*hotline()["nodes"], n("a b", "disconnect")]), True),
    (
        "unwired exit",
        _nodes(hotline(), [*hotline()["nodes"][:-1], n("bye", "disconnect"), n("z", "accept")]),
        True,
    ),
    (
        "exit of disconnect",
        _nodes(hotline(), [*hotline()["nodes"][:-1], n("bye", "disconnect", {"next": "vm"})]),
        True,
    ),
    # Beyond what a schema can say: only the validator sees these.
    (
        "dangling exit",
        _nodes(
            hotline(),
            [
                *hotline()["nodes"][:-1],
                n("bye", "disconnect"),
                n("z", "accept", {"next": "nowhere"}),
            ],
        ),
        False,
    ),
    ("duplicate id", _nodes(hotline(), [*hotline()["nodes"], n("bye", "disconnect")]), False),
    ("digits order", _edit(hotline(), "info", min_digits=8, max_digits=4), False),
    ("regular expression", _edit(hotline(), "info", pattern="("), False),
    ("placeholder", _edit(hotline(), "note", value="{{system.nope}}"), False),
    ("chat distribution", _edit(chat(), "q", distribution_type="direct_conference"), False),
    ("audio setting in chat", _edit(chat(), "q", waiting_prompts=[PROMPT]), False),
    (
        "accept missing",
        flow(
            [
                n("start", "start", {"next": "ann"}),
                n("ann", "announcement", {"next": "bye"}, prompt=PROMPT),
                n("bye", "disconnect"),
            ]
        ),
        False,
    ),
    (
        "loop",
        flow(
            [
                n("start", "start", {"next": "acc"}),
                n("acc", "accept", {"next": "p"}),
                n("p", "set_parameter", {"next": "p"}, parameter_id="X"),
            ]
        ),
        False,
    ),
]


@pytest.mark.parametrize(
    ("document", "schema_sees_it"), [(d, s) for _, d, s in CORPUS], ids=[c for c, _, _ in CORPUS]
)
def test_schema_and_validator_agree_on_the_corpus(
    document: dict[str, Any], schema_sees_it: bool
) -> None:
    assert not validator_ok(document), "every corpus document is invalid"
    assert schema_ok(document) is not schema_sees_it


# --------------------------------------------------------------------------- property

_JSON_LEAF = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-10, max_value=700_000)
    | st.sampled_from([0, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 3600, 604800, 604801])
    | st.floats(allow_nan=False, allow_infinity=False, min_value=-1e6, max_value=1e6)
    | st.text(st.characters(exclude_categories=["Cs"]), max_size=12)
    | st.sampled_from(
        [
            "",
            " ",
            "#",
            "*",
            "1",
            "tts",
            "audio_resource",
            "service",
            "CaseId",
            "direct",
            "direct_conference",
            "broadcast",
            "pickup",
            "high",
            "random",
            "custom",
            "email",
            "event",
            "user",
            "upn",
            "external_number",
            "+41445550100",
            "a@contoso.com",
            "in",
            "matches",
            "equals",
            "is_empty",
            "en-US",
            "param.CaseId",
            "{{param.CaseId}}",
        ]
    )
)
_JSON = st.recursive(
    _JSON_LEAF,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                ["text", "source", "language", "voice", "audio_resource_id", "type", "address", "x"]
            ),
            inner,
            max_size=4,
        )
    ),
    max_leaves=8,
)
_SETTING_NAMES = sorted({s.name for a in CATALOGUE.values() for s in a.settings} | {"bogus"})
_EXIT_NAMES = sorted(
    {e.name for a in CATALOGUE.values() for e in a.exits} | {"option_1", "option_star", "bogus"}
)


def _near(setting: Setting) -> st.SearchStrategy[Any]:
    """Values at and around the edges of what a setting allows."""
    if isinstance(setting, IntSetting):
        return st.integers(setting.low - 1, setting.high + 1) | st.sampled_from(
            [float(setting.low), setting.high + 0.5]
        )
    if isinstance(setting, ChoiceSetting):
        return st.sampled_from([*setting.choices, "x", None])
    if isinstance(setting, BoolSetting):
        return st.booleans() | st.just(None)
    if isinstance(setting, TextSetting):
        sizes = st.sampled_from([0, setting.min_len, setting.max_len, setting.max_len + 1])
        return sizes.flatmap(
            lambda k: st.sampled_from(["1", "#", "a", " ", "\u00a0", "{{customer.city}}"]).map(
                lambda c: (c * k)[:k] if k else ""
            )
        )
    return _JSON


@st.composite
def mutated(draw: st.DrawFn) -> dict[str, Any]:
    document: dict[str, Any] = copy.deepcopy(
        draw(st.sampled_from([hotline(), chat(), *templates()]))
    )
    for _ in range(draw(st.integers(1, 3))):
        nodes = document["nodes"]
        target = draw(st.sampled_from(nodes))
        action = draw(
            st.sampled_from(
                [
                    "tweak",
                    "tweak",
                    "tweak",
                    "set",
                    "drop",
                    "exit",
                    "unexit",
                    "type",
                    "envelope",
                    "remove",
                ]
            )
        )
        activity = CATALOGUE.get(target["type"])
        if action == "tweak" and activity is not None and activity.settings:
            spec = draw(st.sampled_from(activity.settings))
            target.setdefault("settings", {})[spec.name] = draw(_near(spec))
        elif action == "set":
            target.setdefault("settings", {})[draw(st.sampled_from(_SETTING_NAMES))] = draw(_JSON)
        elif action == "drop" and target.get("settings"):
            target["settings"].pop(draw(st.sampled_from(sorted(target["settings"]))))
        elif action == "exit":
            ids = [x["id"] for x in nodes] + ["nowhere", "start"]
            target.setdefault("exits", {})[draw(st.sampled_from(_EXIT_NAMES))] = draw(
                st.sampled_from(ids)
            )
        elif action == "unexit" and target.get("exits"):
            target["exits"].pop(draw(st.sampled_from(sorted(target["exits"]))))
        elif action == "type":
            target["type"] = draw(st.sampled_from([*CATALOGUE, "bogus"]))
        elif action == "envelope":
            key = draw(st.sampled_from(["modality", "direction", "version", "name", "status"]))
            document[key] = draw(
                st.sampled_from(
                    [
                        "audio",
                        "chat",
                        "email",
                        "external_task",
                        "inbound",
                        "outbound",
                        "draft",
                        "published",
                        "",
                        "x",
                        0,
                        1,
                        7,
                    ]
                )
            )
        elif action == "remove" and len(nodes) > 1:
            nodes.remove(target)
    return document


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_whatever_the_validator_accepts_the_schema_accepts(document: dict[str, Any]) -> None:
    if validator_ok(document):
        assert schema_ok(document), list(VALIDATOR.iter_errors(document))
