"""Calendars as configuration in the engine: validated upserts, references, entity_in_use."""

from __future__ import annotations

from dataclasses import replace

import pytest

from switchboard.domain import config as cfg
from switchboard.domain.calendars import OpeningState, Period, PeriodRule, RuleKind, Weekday
from switchboard.domain.enums import AssignmentType
from switchboard.domain.errors import DomainError
from switchboard.domain.validation import ValidationFailed
from switchboard.engine.clock import VirtualClock
from switchboard.engine.engine import Engine

WEEKDAYS = Period(
    "weekdays",
    "Weekdays",
    OpeningState.OPEN,
    PeriodRule(RuleKind.WEEKLY, days=tuple(Weekday)[:5], start="08:00", end="18:00"),
)


def _engine() -> Engine:
    engine = Engine(cfg.Tenant(id="t", name="T", time_zone="Europe/Zurich"), VirtualClock())
    engine.upsert("calendar", cfg.Calendar(id="cal", name="Office", periods=(WEEKDAYS,)))
    engine.upsert("calendar", cfg.Calendar(id="cal-2", name="Backup"))
    engine.upsert(
        "service",
        cfg.Service(
            id="s",
            name="Hotline",
            upn="hotline@t.test",
            user_assignment_type=AssignmentType.NONE,
            primary_calendar_id="cal",
            secondary_calendar_id="cal-2",
        ),
    )
    return engine


def test_calendar_upserts_are_versioned_and_kept_in_their_table() -> None:
    engine = _engine()
    assert engine.state.table("calendar")["cal"].version == 1
    engine.upsert("calendar", replace(engine.state.calendars["cal"], name="Office hours"))
    assert engine.state.calendars["cal"].version == 2
    assert engine.state.calendars["cal"].name == "Office hours"


def test_invalid_calendar_is_refused_and_changes_nothing() -> None:
    engine = _engine()
    seq = engine.state.seq
    bad = cfg.Calendar(id="cal-3", name="Office", time_zone="Europe/Atlantis")
    with pytest.raises(ValidationFailed) as failed:
        engine.upsert("calendar", bad)
    assert [(i.code, i.path) for i in failed.value.issues] == [
        ("not_unique", "name"),
        ("invalid_format", "time_zone"),
    ]
    assert engine.state.seq == seq and "cal-3" not in engine.state.calendars


def test_service_references_to_calendars_are_checked() -> None:
    engine = _engine()
    service = engine.state.services["s"]
    with pytest.raises(ValidationFailed) as failed:
        engine.upsert("service", replace(service, primary_calendar_id="nope"))
    assert [(i.code, i.path) for i in failed.value.issues] == [
        ("unknown_reference", "primary_calendar_id")
    ]
    with pytest.raises(ValidationFailed) as failed:
        engine.upsert("service", replace(service, primary_calendar_id=None))
    assert [(i.code, i.path) for i in failed.value.issues] == [
        ("invalid_combination", "secondary_calendar_id")
    ]


def test_a_used_calendar_cannot_be_removed_until_released() -> None:
    engine = _engine()
    for calendar_id in ("cal", "cal-2"):
        with pytest.raises(DomainError) as refused:
            engine.remove("calendar", calendar_id)
        assert refused.value.code == "entity_in_use"
        assert refused.value.detail["referrers"] == "service:s"
    engine.upsert("service", replace(engine.state.services["s"], secondary_calendar_id=None))
    engine.remove("calendar", "cal-2")
    assert "cal-2" not in engine.state.calendars


def test_an_ou_holding_a_calendar_is_in_use() -> None:
    engine = _engine()
    engine.upsert("ou", cfg.OrganisationUnit(id="ou-x", name="X", parent_id="root"))
    engine.upsert("calendar", cfg.Calendar(id="cal-x", name="X hours", ou_id="ou-x"))
    with pytest.raises(DomainError) as refused:
        engine.remove("ou", "ou-x")
    assert refused.value.code == "entity_in_use"
    assert "calendar:cal-x" in refused.value.detail["referrers"]
