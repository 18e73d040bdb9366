"""Effective skills (spec 01 §6.4) and policy-level matching (spec 03 §4 L3/L4)."""

from __future__ import annotations

import pytest

from switchboard.domain.config import (
    BUILTIN_PROFILES,
    DistributionPolicy,
    PolicyLevel,
    ProfileEntry,
    Requirement,
    ResponsibilityProfile,
    User,
    UserSkill,
)
from switchboard.domain.enums import Match, ProfileKind
from switchboard.domain.skills import (
    effective_skills,
    level_matches,
    qualifying_level,
    requirement_met,
    skill_score,
)

ON_DUTY = next(p for p in BUILTIN_PROFILES if p.kind is ProfileKind.ON_DUTY)
OFF_DUTY = next(p for p in BUILTIN_PROFILES if p.kind is ProfileKind.OFF_DUTY)


def make_user(*skills: UserSkill) -> User:
    return User(
        id="u1",
        upn="ada@example.com",
        display_name="Ada",
        skills={s.skill_id: s for s in skills},
    )


def custom(*entries: ProfileEntry) -> ResponsibilityProfile:
    return ResponsibilityProfile(id="p", name="Mornings", kind=ProfileKind.CUSTOM, entries=entries)


FRENCH = UserSkill("fr", level=3, responsibility=4)
GERMAN = UserSkill("de", level=5, responsibility=7)
BILLING = UserSkill("billing")  # unlevelled, no responsibility


# --- effective skills -----------------------------------------------------------------


def test_on_duty_activates_all_skills() -> None:
    user = make_user(FRENCH, GERMAN, BILLING)
    skills = effective_skills(user, ON_DUTY)
    assert skills == {"fr": FRENCH, "de": GERMAN, "billing": BILLING}
    # The result is a copy: changing it does not change the user.
    skills.pop("fr")
    assert "fr" in user.skills


def test_off_duty_activates_nothing() -> None:
    assert effective_skills(make_user(FRENCH, GERMAN), OFF_DUTY) == {}


def test_no_profile_activates_nothing() -> None:
    assert effective_skills(make_user(FRENCH), None) == {}


def test_custom_profile_activates_only_listed_skills() -> None:
    user = make_user(FRENCH, GERMAN, BILLING)
    profile = custom(ProfileEntry("fr"), ProfileEntry("billing"), ProfileEntry("unknown"))
    assert effective_skills(user, profile) == {"fr": FRENCH, "billing": BILLING}


def test_custom_profile_with_no_entries_activates_nothing() -> None:
    assert effective_skills(make_user(FRENCH), custom()) == {}


@pytest.mark.parametrize(
    ("responsibility", "active"),
    [(2, False), (3, True), (4, True), (5, True), (6, False), (None, False)],
    ids=lambda v: str(v),
)
def test_custom_profile_responsibility_band_is_inclusive(
    responsibility: int | None, active: bool
) -> None:
    skill = UserSkill("fr", level=3, responsibility=responsibility)
    profile = custom(ProfileEntry("fr", min_responsibility=3, max_responsibility=5))
    assert ("fr" in effective_skills(make_user(skill), profile)) is active


@pytest.mark.parametrize(
    ("entry", "responsibility", "active"),
    [
        (ProfileEntry("fr", min_responsibility=4), 4, True),
        (ProfileEntry("fr", min_responsibility=4), 10, True),
        (ProfileEntry("fr", min_responsibility=4), 3, False),
        (ProfileEntry("fr", max_responsibility=4), 1, True),
        (ProfileEntry("fr", max_responsibility=4), 4, True),
        (ProfileEntry("fr", max_responsibility=4), 5, False),
        (ProfileEntry("fr"), None, True),
    ],
    ids=["min-edge", "min-above", "min-below", "max-low", "max-edge", "max-above", "no-band"],
)
def test_custom_profile_open_bands(
    entry: ProfileEntry, responsibility: int | None, active: bool
) -> None:
    user = make_user(UserSkill("fr", responsibility=responsibility))
    assert ("fr" in effective_skills(user, custom(entry))) is active


def test_custom_profile_bands_are_per_entry() -> None:
    user = make_user(FRENCH, GERMAN)  # responsibilities 4 and 7
    profile = custom(
        ProfileEntry("fr", min_responsibility=1, max_responsibility=5),
        ProfileEntry("de", min_responsibility=1, max_responsibility=5),
    )
    assert effective_skills(user, profile) == {"fr": FRENCH}


# --- requirements -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("level", "met"),
    [(1, False), (2, True), (3, True), (4, True), (5, False), (None, False)],
    ids=lambda v: str(v),
)
def test_level_bounds_are_inclusive(level: int | None, met: bool) -> None:
    req = Requirement("fr", min_level=2, max_level=4)
    assert requirement_met(req, {"fr": UserSkill("fr", level=level)}) is met


@pytest.mark.parametrize(
    ("responsibility", "met"),
    [(2, False), (3, True), (6, True), (7, False), (None, False)],
    ids=lambda v: str(v),
)
def test_responsibility_bounds_are_inclusive(responsibility: int | None, met: bool) -> None:
    req = Requirement("fr", min_responsibility=3, max_responsibility=6)
    skills = {"fr": UserSkill("fr", level=1, responsibility=responsibility)}
    assert requirement_met(req, skills) is met


def test_level_and_responsibility_bounds_must_both_hold() -> None:
    req = Requirement("fr", min_level=3, max_responsibility=4)
    assert requirement_met(req, {"fr": UserSkill("fr", level=3, responsibility=4)})
    assert not requirement_met(req, {"fr": UserSkill("fr", level=2, responsibility=4)})
    assert not requirement_met(req, {"fr": UserSkill("fr", level=3, responsibility=5)})


def test_open_bounds() -> None:
    only_min = Requirement("fr", min_level=3)
    assert requirement_met(only_min, {"fr": UserSkill("fr", level=10)})
    assert not requirement_met(only_min, {"fr": UserSkill("fr", level=2)})
    only_max = Requirement("fr", max_level=3)
    assert requirement_met(only_max, {"fr": UserSkill("fr", level=1)})
    assert not requirement_met(only_max, {"fr": UserSkill("fr", level=4)})


def test_requirement_without_bounds_needs_only_the_skill() -> None:
    req = Requirement("billing")
    assert requirement_met(req, {"billing": BILLING})
    assert requirement_met(req, {"billing": UserSkill("billing", level=1, responsibility=1)})
    assert not requirement_met(req, {"fr": FRENCH})
    assert not requirement_met(req, {})


# --- levels ----------------------------------------------------------------------------

FR = Requirement("fr", min_level=3)
DE = Requirement("de", min_level=3)


@pytest.mark.parametrize(
    ("skills", "all_", "any_"),
    [
        ({"fr": FRENCH, "de": GERMAN}, True, True),
        ({"fr": FRENCH}, False, True),
        ({"de": GERMAN}, False, True),
        ({"fr": UserSkill("fr", level=1), "de": UserSkill("de", level=2)}, False, False),
        ({}, False, False),
    ],
    ids=["both", "only-fr", "only-de", "too-low", "none"],
)
def test_match_all_and_any(skills: dict[str, UserSkill], all_: bool, any_: bool) -> None:
    assert level_matches(PolicyLevel(requirements=(FR, DE), match=Match.ALL), skills) is all_
    assert level_matches(PolicyLevel(requirements=(FR, DE), match=Match.ANY), skills) is any_


def test_default_match_is_all() -> None:
    assert PolicyLevel().match is Match.ALL
    assert not level_matches(PolicyLevel(requirements=(FR, DE)), {"fr": FRENCH})


@pytest.mark.parametrize("match", list(Match), ids=lambda m: m.value)
@pytest.mark.parametrize(
    "skills", [{}, {"fr": FRENCH}, {"billing": BILLING}], ids=["no-skills", "fr", "billing"]
)
def test_empty_requirements_match_everyone(match: Match, skills: dict[str, UserSkill]) -> None:
    assert level_matches(PolicyLevel(requirements=(), match=match), skills)


# --- qualifying level --------------------------------------------------------------------


def policy(*levels: PolicyLevel) -> DistributionPolicy:
    return DistributionPolicy(id="p", name="Languages", levels=levels)


EXPERT_FR = PolicyLevel(requirements=(Requirement("fr", min_level=5),), time_in_level_s=30)
ANY_FR = PolicyLevel(requirements=(Requirement("fr", min_level=1),), time_in_level_s=30)
FR_OR_DE = PolicyLevel(requirements=(FR, DE), match=Match.ANY, time_in_level_s=30)
ANYONE = PolicyLevel()


def test_qualifying_level_is_the_first_matching_level() -> None:
    p = policy(EXPERT_FR, ANY_FR, ANYONE)
    assert qualifying_level(p, {"fr": UserSkill("fr", level=5)}) == 1
    assert qualifying_level(p, {"fr": FRENCH}) == 2
    assert qualifying_level(p, {"de": GERMAN}) == 3
    assert qualifying_level(p, {}) == 3


def test_qualifying_level_is_the_first_even_when_later_levels_also_match() -> None:
    # Pools are cumulative, so the first match is enough: later levels match too here.
    p = policy(ANY_FR, FR_OR_DE, ANYONE)
    assert qualifying_level(p, {"fr": FRENCH}) == 1


def test_qualifying_level_none_when_nothing_matches() -> None:
    p = policy(EXPERT_FR, FR_OR_DE)
    assert qualifying_level(p, {"billing": BILLING}) is None
    assert qualifying_level(p, {}) is None


def test_off_duty_user_qualifies_nowhere_unless_a_level_is_open() -> None:
    user = make_user(UserSkill("fr", level=5))
    skills = effective_skills(user, OFF_DUTY)
    assert qualifying_level(policy(EXPERT_FR, ANY_FR), skills) is None
    assert qualifying_level(policy(EXPERT_FR, ANYONE), skills) == 2
    assert qualifying_level(policy(EXPERT_FR), effective_skills(user, ON_DUTY)) == 1


def test_custom_profile_band_decides_the_level() -> None:
    user = make_user(UserSkill("fr", level=5, responsibility=8))
    narrow = custom(ProfileEntry("fr", max_responsibility=5))
    wide = custom(ProfileEntry("fr", max_responsibility=8))
    p = policy(EXPERT_FR, ANYONE)
    assert qualifying_level(p, effective_skills(user, narrow)) == 2
    assert qualifying_level(p, effective_skills(user, wide)) == 1


# --- skill score -----------------------------------------------------------------------


def test_skill_score_sums_levels_of_named_skills() -> None:
    level = PolicyLevel(requirements=(FR, DE), match=Match.ANY)
    assert skill_score(level, {"fr": FRENCH, "de": GERMAN}) == 3 + 5


def test_skill_score_ignores_missing_unlevelled_and_unnamed_skills() -> None:
    level = PolicyLevel(requirements=(FR, Requirement("billing")))
    skills = {"fr": FRENCH, "billing": BILLING, "de": GERMAN}
    assert skill_score(level, skills) == 3
    assert skill_score(level, {}) == 0
    assert skill_score(PolicyLevel(), skills) == 0


def test_skill_score_counts_skills_below_the_bound_too() -> None:
    # The score ranks candidates; it is not a second filter.
    level = PolicyLevel(requirements=(Requirement("fr", min_level=5),))
    assert skill_score(level, {"fr": UserSkill("fr", level=2)}) == 2
