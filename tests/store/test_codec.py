"""Journal codec: events survive encode → decode exactly (types included)."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from journal_scenario import CountingIds, load_tick, plain, set_up, tenant

from switchboard.domain import config as cfg
from switchboard.domain.calendars import (
    DefaultState,
    OpeningState,
    Period,
    PeriodRule,
    RuleKind,
    Weekday,
)
from switchboard.domain.enums import (
    AssignmentType,
    Direction,
    DistributionType,
    Match,
    MembershipRole,
    Modality,
    Priority,
    ProfileKind,
    UserOrdering,
)
from switchboard.domain.workflow import Node, Workflow, WorkflowDocument, WorkflowStatus
from switchboard.domain.workflow.templates import queue_ivr_voicemail
from switchboard.engine.clock import VirtualClock
from switchboard.engine.engine import Engine
from switchboard.engine.events import Event
from switchboard.engine.state import CONFIG_TYPES
from switchboard.store import codec
from switchboard.store.codec import decode_event, encode_event, to_jsonable

#: One richly filled (non-default wherever possible) entity per configuration type.
SAMPLES: dict[str, Any] = {
    "tenant": cfg.Tenant(
        id="t1",
        name="Tenant ☎",
        partner_id="p1",
        time_zone="Europe/Zurich",
        default_language="de-CH",
        settings=cfg.TenantSettings(
            max_concurrent_tasks_per_service=cfg.ConcurrencyCaps(
                audio=50, chat=None, email=7, external_task=0
            ),
            persist_user_states=True,
            context_retention_days=90,
            partner_may_see_user_identifiers=True,
            sweeper_interval_s=2,
            transfer_ring_timeout_s=15,
            error_prompt=cfg.ErrorPrompt(text="Sorry & goodbye.", language="de-CH"),
        ),
    ),
    "ou": cfg.OrganisationUnit(id="ou-1", name="Sales EMEA", parent_id="root"),
    "service": cfg.Service(
        id="s1",
        name="Support",
        upn="support@x.test",
        user_assignment_type=AssignmentType.SKILL_BASED,
        ou_id="ou-1",
        display_name="Support line",
        description='multi\nline "quoted"',
        enabled=False,
        pstn_number="+41 44 000 00 00",
        member_group_id="g1",
        new_members_active=False,
        distribution_policy_id="pol1",
        enabled_modalities=frozenset({Modality.AUDIO, Modality.CHAT, Modality.EMAIL}),
        email_mailbox_upn="mbx@x.test",
        outbound_conversations_enabled=True,
        primary_calendar_id="cal1",
        distribution=cfg.DistributionSettings(
            available_when_busy=True,
            acw_enabled=True,
            acw_duration_s=45,
            acw_allow_extension=True,
            persistent_rona=True,
            default_priority=Priority.HIGHEST,
            user_ordering=UserOrdering.ROUND_ROBIN,
            random_seed=42,
            preferred_wait_s=12,
            max_queue_size=99,
        ),
        reporting=cfg.ReportingSettings(sla_acceptance_s=30, store_context_data=True),
        queue=cfg.QueueSettings(
            distribution_type=DistributionType.BROADCAST,
            rona_timeout_s=11,
            max_queue_time_s=600,
            exit_when_no_users=True,
        ),
        workflows={"inbound": "wf-1", "after_hours": "wf-2"},
        codes=("c1", "c2"),
        tags=("vip",),
        version=7,
    ),
    "user": cfg.User(
        id="u1",
        upn="u1@x.test",
        display_name="Zoë Ünal",
        ou_id="ou-1",
        email="zoe@x.test",
        enabled=False,
        voice_licensed=False,
        memberships={
            "s1": cfg.Membership("s1", MembershipRole.OWNER, active=False),
            "s2": cfg.Membership("s2"),
        },
        skills={
            "sk1": cfg.UserSkill("sk1", level=3, responsibility=2),
            "sk2": cfg.UserSkill("sk2"),
        },
        responsibility_profile_ids=("prof1", "prof2"),
        active_profile_id="prof1",
        not_available_reason_ids=("lunch",),
        parallelization=cfg.Parallelization(
            enabled=True, max_total=4, per_modality={Modality.CHAT: 3, Modality.AUDIO: 1}
        ),
        version=3,
    ),
    "skill_category": cfg.SkillCategory(
        id="cat1",
        name="Languages",
        levelled=True,
        levels=(cfg.SkillLevel(1, "basic"), cfg.SkillLevel(2, "fluent")),
        responsibility_enabled=True,
    ),
    "skill": cfg.Skill(id="sk1", category_id="cat1", name="German", ou_id="ou-1"),
    "profile": cfg.ResponsibilityProfile(
        id="prof1",
        name="Mornings",
        kind=ProfileKind.CUSTOM,
        entries=(cfg.ProfileEntry("sk1", 1, 3), cfg.ProfileEntry("sk2")),
    ),
    "policy": cfg.DistributionPolicy(
        id="pol1",
        name="Escalating",
        levels=(
            cfg.PolicyLevel(
                requirements=(cfg.Requirement("sk1", min_level=2, max_responsibility=3),),
                match=Match.ANY,
                time_in_level_s=30,
            ),
            cfg.PolicyLevel(),
        ),
    ),
    "not_available_reason": cfg.NotAvailableReason(id="lunch", name="Lunch", enabled=False),
    "parameter": cfg.CustomParameter(
        id="par1", name="Order", default_value="n/a", description="d", show_to_users=False
    ),
    "code": cfg.Code(id="c1", name="Resolved", short_code="RES", enabled=False),
    "tag": cfg.Tag(id="vip", name="VIP", ou_id="ou-1", enabled=False),
    "audio_resource": cfg.AudioResource(
        id="ar1",
        name="Welcome ♪",
        ou_id="ou-1",
        content_type="audio/wav",
        duration_s=2.5,
        size_bytes=80_044,
    ),
    "address_book": cfg.AddressBook(id="ab1", name="Suppliers", ou_id="ou-1"),
    "calendar": cfg.Calendar(
        id="cal1",
        name="Office hours ☀",
        ou_id="ou-1",
        time_zone="Europe/Zurich",
        default_state=DefaultState.OPEN,
        periods=(
            Period(
                "p1",
                "Weekdays",
                OpeningState.SPECIAL,
                PeriodRule(
                    RuleKind.WEEKLY,
                    days=(Weekday.MON, Weekday.FRI),
                    start="22:00",
                    end="06:00",
                    valid_from="2026-01-01",
                    valid_to="2026-12-31",
                ),
            ),
            Period(
                "p2",
                "Cantonal holidays",
                OpeningState.HOLIDAY,
                PeriodRule(
                    RuleKind.HOLIDAYS,
                    country="CH",
                    subdivision="ZH",
                    categories=("public", "half_day"),
                ),
            ),
            Period(
                "p3",
                "Inventory",
                OpeningState.CLOSED,
                PeriodRule(RuleKind.DATES, start_date="2026-06-01", end_date="2026-06-02"),
            ),
        ),
        version=4,
    ),
    "workflow": Workflow(
        id="wf1",
        ou_id="ou-1",
        name="Hotline ☎",
        modality=Modality.AUDIO,
        direction=Direction.INBOUND,
        document=WorkflowDocument(
            (
                *queue_ivr_voicemail(workflow_id="wf1", ou_id="ou-1").document.nodes,
                Node(
                    id="extra",
                    type="check_parameter",
                    name="Odd settings",
                    settings={"values": ["a", "ü"], "ratio": 2.5, "nested": {"x": [None, True]}},
                    exits={"match": "end"},
                ),
            )
        ),
        version=3,
        status=WorkflowStatus.PUBLISHED,
    ),
}

#: Kinds the generic tests below cannot build from field types alone: a workflow's
#: node settings are free JSON (it has its own tests here).
_FREE_JSON = {"workflow"}


def round_trip(event: Event) -> Event:
    return decode_event(event.name, event.at, event.seq, encode_event(event))


def upserted(kind: str, entity: Any, seq: int = 1) -> Event:
    return Event("config.upserted", 1_767_225_600.25, {"type": kind, "entity": entity}, seq)


def test_every_config_type_has_a_sample() -> None:
    assert set(SAMPLES) == set(CONFIG_TYPES)
    for kind, entity in SAMPLES.items():
        assert type(entity) is CONFIG_TYPES[kind]


@pytest.mark.parametrize("kind", sorted(SAMPLES))
def test_config_entity_round_trip(kind: str) -> None:
    event = upserted(kind, SAMPLES[kind], seq=12)
    back = round_trip(event)
    assert back.name == event.name and back.at == event.at and back.seq == 12
    assert back.data["type"] == kind
    assert back.data["entity"] == SAMPLES[kind]
    # == alone would accept a str where a StrEnum was, or a list for a tuple: compare types too
    assert plain(back.data["entity"]) == plain(SAMPLES[kind])
    assert back.data["entity"] is not SAMPLES[kind]


@pytest.mark.parametrize("kind", sorted(set(CONFIG_TYPES) - _FREE_JSON))
def test_config_entity_defaults_round_trip(kind: str) -> None:
    cls = CONFIG_TYPES[kind]
    required = {"id": "x", "name": "n", "upn": "u", "display_name": "d", "category_id": "c"}
    fields = cls.__dataclass_fields__
    args: dict[str, Any] = {k: v for k, v in required.items() if k in fields}
    if kind == "service":
        args["user_assignment_type"] = AssignmentType.NONE
    if kind == "code":
        args["short_code"] = "S"
    if kind == "policy":
        args["levels"] = ()
    entity = cls(**args)
    back = round_trip(upserted(kind, entity)).data["entity"]
    assert back == entity
    assert plain(back) == plain(entity)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_generated_config_entities_round_trip(data: st.DataObject) -> None:
    kind = data.draw(st.sampled_from(sorted(set(CONFIG_TYPES) - _FREE_JSON)))
    entity = data.draw(st.from_type(CONFIG_TYPES[kind]))
    back = round_trip(upserted(kind, entity)).data["entity"]
    assert back == entity
    assert plain(back) == plain(entity)


_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**53), 2**53)
    | st.floats(allow_nan=False, allow_infinity=False).filter(lambda f: not f.is_integer())
    | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)
_IDS = st.from_regex(r"[A-Za-z0-9_-]{1,8}", fullmatch=True)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    nodes=st.lists(
        st.builds(
            Node,
            id=_IDS,
            type=st.sampled_from(["start", "queue", "announcement", "no_such_activity"]),
            settings=st.dictionaries(st.text(max_size=6), _JSON, max_size=4),
            exits=st.dictionaries(st.text(max_size=6), _IDS, max_size=3),
            name=st.none() | st.text(max_size=10),
        ),
        max_size=5,
    ),
    status=st.sampled_from(list(WorkflowStatus)),
    version=st.integers(1, 10_000),
)
def test_generated_workflows_round_trip(
    nodes: list[Node], status: WorkflowStatus, version: int
) -> None:
    """Drafts may hold anything a JSON shape allows; the journal keeps it exactly."""
    workflow = Workflow(
        id="wf",
        ou_id="root",
        name="W",
        modality=Modality.CHAT,
        direction=Direction.INBOUND,
        document=WorkflowDocument(tuple(nodes)),
        version=version,
        status=status,
    )
    back = round_trip(upserted("workflow", workflow)).data["entity"]
    assert back == workflow
    assert plain(back) == plain(workflow)


def test_enum_keyed_dict_and_frozenset_decode_to_their_types() -> None:
    user = round_trip(upserted("user", SAMPLES["user"])).data["entity"]
    keys = list(user.parallelization.per_modality)
    assert keys == [Modality.CHAT, Modality.AUDIO]
    assert all(type(k) is Modality for k in keys)
    service = round_trip(upserted("service", SAMPLES["service"])).data["entity"]
    assert type(service.enabled_modalities) is frozenset
    assert all(type(m) is Modality for m in service.enabled_modalities)
    assert type(service.codes) is tuple
    assert type(service.distribution.default_priority) is Priority


def test_encoding_is_compact_canonical_json() -> None:
    text = encode_event(upserted("service", SAMPLES["service"]))
    assert ", " not in text and '": ' not in text
    parsed = json.loads(text)
    # sets are written sorted, so equal entities give equal text
    assert parsed["entity"]["enabled_modalities"] == ["audio", "chat", "email"]
    assert parsed["entity"]["distribution"]["default_priority"] == 5
    assert parsed["entity"]["user_assignment_type"] == "skill_based"
    assert "☎" in encode_event(upserted("tenant", SAMPLES["tenant"]))  # not \u-escaped


def test_encoding_does_not_change_the_event() -> None:
    event = upserted("user", SAMPLES["user"])
    encode_event(event)
    assert event.data["entity"] is SAMPLES["user"]


def test_plain_event_data_is_identical() -> None:
    data: dict[str, Any] = {
        "task_id": "t-ü-☎",
        "n": 3,
        "big": 2**70,
        "neg": -0.0,
        "tiny": 5e-324,
        "x": 0.1 + 0.2,
        "flag": False,
        "none": None,
        "changes": [{"service_id": "s", "selectable": True, "reason": None}],
        "custom_context": {"k": "v", "": "empty key"},
        "nested": [[1, 2.5, "a"], {}],
        "preferred_users": [],
    }
    event = Event("task.created", 1_767_225_600.123456, data, 42)
    back = round_trip(event)
    assert back == event
    assert plain(back.data) == plain(data)


def test_every_event_of_an_engine_run_round_trips() -> None:
    clock = VirtualClock()
    engine = Engine(tenant(), clock, ids=CountingIds("o"))
    # The samples exercise every field of the codec, not a consistent tenant, so they
    # skip the configuration validation (which has its own tests).
    for kind in ("ou", "skill_category", "skill", "profile", "policy", "parameter", "code", "tag"):
        engine.upsert(kind, SAMPLES[kind], validate=False)
    engine.upsert("not_available_reason", SAMPLES["not_available_reason"], validate=False)
    set_up(engine)
    events = list(engine.commit())
    rng = random.Random(7)
    counter = iter(range(1, 10**9))
    for _ in range(150):
        load_tick(
            engine,
            rng,
            lambda: f"t{next(counter)}",
            lambda: events.extend(engine.commit()),
            advance=clock.advance,
        )
    names = {e.name for e in events}
    assert {"task.created", "task.offered", "task.connected", "task.terminated"} <= names
    assert {"user.acw_started", "user.acw_ended", "user.state_changed"} <= names
    for event in events:
        back = round_trip(event)
        assert back == event
        assert plain(back.data) == plain(event.data), event.name


def test_unknown_config_type_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown configuration type 'gadget'"):
        decode_event("config.upserted", 0.0, 3, '{"type":"gadget","entity":{}}')


def test_invalid_entity_is_refused() -> None:
    with pytest.raises(ValueError):  # pydantic.ValidationError is a ValueError
        decode_event("config.upserted", 0.0, 3, '{"type":"tag","entity":{"id":"x"}}')


def test_unencodable_values_are_refused() -> None:
    with pytest.raises(TypeError):
        encode_event(Event("task.created", 0.0, {"when": object()}, 1))
    with pytest.raises(TypeError):
        to_jsonable({(1, 2): "tuple key"})
    with pytest.raises(TypeError):
        to_jsonable(object())


def test_type_adapters_are_cached() -> None:
    first = codec._adapter(cfg.User)
    round_trip(upserted("user", SAMPLES["user"]))
    assert codec._adapter(cfg.User) is first
