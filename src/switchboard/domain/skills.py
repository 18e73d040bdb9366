"""Skill matching: effective skills from the duty profile, and policy levels (03 §4).

`qualifying_level` answers "from which policy level on may this user receive the
service's tasks?" Because pools are cumulative (L3), one number per (user,
service) is enough, which keeps dispatch cheap.
"""

from __future__ import annotations

from collections.abc import Mapping

from switchboard.domain.config import (
    DistributionPolicy,
    PolicyLevel,
    Requirement,
    ResponsibilityProfile,
    User,
    UserSkill,
)
from switchboard.domain.enums import Match, ProfileKind


def effective_skills(user: User, profile: ResponsibilityProfile | None) -> dict[str, UserSkill]:
    """The user's skills that the active responsibility profile switches on."""
    if profile is None or profile.kind is ProfileKind.OFF_DUTY:
        return {}
    if profile.kind is ProfileKind.ON_DUTY:
        return dict(user.skills)
    active: dict[str, UserSkill] = {}
    for entry in profile.entries:
        skill = user.skills.get(entry.skill_id)
        if skill is None:
            continue
        resp = skill.responsibility
        if entry.min_responsibility is not None and (
            resp is None or resp < entry.min_responsibility
        ):
            continue
        if entry.max_responsibility is not None and (
            resp is None or resp > entry.max_responsibility
        ):
            continue
        active[entry.skill_id] = skill
    return active


def _within(value: int | None, low: int | None, high: int | None) -> bool:
    if low is None and high is None:
        return True
    if value is None:
        return False
    return (low is None or value >= low) and (high is None or value <= high)


def requirement_met(req: Requirement, skills: Mapping[str, UserSkill]) -> bool:
    skill = skills.get(req.skill_id)
    if skill is None:
        return False
    return _within(skill.level, req.min_level, req.max_level) and _within(
        skill.responsibility, req.min_responsibility, req.max_responsibility
    )


def level_matches(level: PolicyLevel, skills: Mapping[str, UserSkill]) -> bool:
    if not level.requirements:
        return True
    results = (requirement_met(r, skills) for r in level.requirements)
    return all(results) if level.match is Match.ALL else any(results)


def qualifying_level(policy: DistributionPolicy, skills: Mapping[str, UserSkill]) -> int | None:
    """The first (1-based) policy level whose filter the skills satisfy, or None."""
    for index, level in enumerate(policy.levels, start=1):
        if level_matches(level, skills):
            return index
    return None


def skill_score(level: PolicyLevel, skills: Mapping[str, UserSkill]) -> int:
    """Sum of the user's levels in the skills a policy level names (most-skilled order)."""
    total = 0
    for req in level.requirements:
        skill = skills.get(req.skill_id)
        if skill is not None and skill.level is not None:
            total += skill.level
    return total
