"""Configuration commands: validation on upsert, versions, and refusal to delete what is used."""

from __future__ import annotations

from dataclasses import replace

import pytest

from switchboard.domain import config as cfg
from switchboard.domain.enums import AssignmentType
from switchboard.domain.errors import DomainError
from switchboard.domain.validation import ValidationFailed
from switchboard.engine.clock import VirtualClock
from switchboard.engine.engine import Engine


def _engine() -> Engine:
    engine = Engine(cfg.Tenant(id="t", name="T"), VirtualClock())
    engine.upsert("skill_category", cfg.SkillCategory(id="cat", name="Languages"))
    engine.upsert("skill", cfg.Skill(id="de", category_id="cat", name="German"))
    engine.upsert(
        "policy",
        cfg.DistributionPolicy(
            id="pol", name="German speakers", levels=(cfg.PolicyLevel((cfg.Requirement("de"),)),)
        ),
    )
    engine.upsert(
        "service",
        cfg.Service(
            id="s",
            name="Hotline",
            upn="hotline@t.test",
            user_assignment_type=AssignmentType.SKILL_BASED,
            distribution_policy_id="pol",
        ),
    )
    engine.upsert(
        "user",
        cfg.User(
            id="u",
            upn="u@t.test",
            display_name="U",
            memberships={"s": cfg.Membership("s")},
            skills={"de": cfg.UserSkill("de")},
        ),
    )
    return engine


def test_versions_start_at_one_and_rise_with_each_update() -> None:
    engine = _engine()
    assert engine.state.services["s"].version == 1
    engine.upsert("service", replace(engine.state.services["s"], description="changed"))
    assert engine.state.services["s"].version == 2
    assert engine.state.services["s"].description == "changed"


def test_invalid_entity_is_refused_with_every_issue_and_changes_nothing() -> None:
    engine = _engine()
    seq = engine.state.seq
    bad = cfg.Service(id="x", name="", upn="nope", user_assignment_type=AssignmentType.SKILL_BASED)
    with pytest.raises(ValidationFailed) as refused:
        engine.upsert("service", bad)
    codes = {(i.code, i.path) for i in refused.value.issues}
    assert ("required", "name") in codes
    assert ("invalid_format", "upn") in codes
    assert ("required", "distribution_policy_id") in codes
    assert engine.state.seq == seq and "x" not in engine.state.services


@pytest.mark.parametrize(
    ("kind", "entity_id", "referrer"),
    [
        ("service", "s", "user:u"),
        ("policy", "pol", "service:s"),
        ("skill", "de", "user:u"),
        ("skill_category", "cat", "skill:de"),
        ("ou", "root", None),
    ],
)
def test_deleting_a_used_entity_is_refused(kind: str, entity_id: str, referrer: str | None) -> None:
    engine = _engine()
    seq = engine.state.seq
    with pytest.raises(DomainError) as refused:
        engine.remove(kind, entity_id)
    assert refused.value.code in ("entity_in_use", "not_removable")
    if referrer is not None:
        assert referrer in refused.value.detail["referrers"]
    assert engine.state.seq == seq


def test_built_in_profiles_cannot_be_removed() -> None:
    with pytest.raises(DomainError) as refused:
        _engine().remove("profile", cfg.OFF_DUTY_PROFILE_ID)
    assert refused.value.code == "not_removable"


def test_unused_entity_can_be_removed() -> None:
    engine = _engine()
    engine.upsert("tag", cfg.Tag(id="vip", name="VIP"))
    engine.remove("tag", "vip")
    assert "vip" not in engine.state.tags
    with pytest.raises(DomainError) as missing:
        engine.remove("tag", "vip")
    assert missing.value.code == "tag_not_found"
