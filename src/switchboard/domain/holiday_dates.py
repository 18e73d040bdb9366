"""Public holidays by country and subdivision, from the `holidays` library (04 §5.1).

The one module that talks to `holidays` (vacanza), so that its API and its
vocabulary (country and subdivision codes, categories) are read in one place and
the rest of the domain sees plain dates. The library is a pure computation over
rules and data shipped inside the package: no I/O, no clock, which is why the
otherwise stdlib-only domain may use it (decision, docs/decisions.md).

Answers are cached: one country-year takes about a millisecond to compute, and
resolution asks for the same year over and over. The cached mappings are
read-only views, so no caller can change what another one sees.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from functools import cache, lru_cache
from types import MappingProxyType
from typing import Any

import holidays

__all__ = [
    "NAMES_LANGUAGE",
    "PUBLIC",
    "canonical_country",
    "canonical_subdivision",
    "categories_of",
    "holidays_in",
    "is_supported_country",
    "subdivisions_of",
    "years_known",
]

#: The library's name for the category of official public holidays (the default).
PUBLIC = "public"
#: Language of holiday names. Named explicitly because the library otherwise
#: picks it from the process locale (LANG), which would make the same calendar
#: explain itself differently on two machines. Where the library has no
#: translation, names stay in the country's original language.
NAMES_LANGUAGE = "en_US"


@cache
def _countries() -> Mapping[str, tuple[str, ...]]:
    """ISO 3166-1 alpha-2 code → subdivision codes, as the library lists them."""
    listed = holidays.list_supported_countries(include_aliases=False)
    return MappingProxyType({code: tuple(subs) for code, subs in listed.items()})


def _entity(country: str) -> Any:
    """The library's class for a supported country (without building holidays)."""
    return getattr(holidays, country)


def is_supported_country(country: str) -> bool:
    return country in _countries()


def canonical_country(code: str) -> str | None:
    """The alpha-2 code behind another spelling the library knows (`"CHE"` → `"CH"`).

    Only used to make a refusal helpful: the calendar itself must name the
    alpha-2 code, so that one country is always written one way.
    """
    if code in _countries():
        return code
    aliases = holidays.list_supported_countries(include_aliases=True)
    if code not in aliases:
        return None
    found = getattr(_entity(code), "country", None)
    return found if isinstance(found, str) and found in _countries() else None


def subdivisions_of(country: str) -> tuple[str, ...]:
    return _countries().get(country, ())


def canonical_subdivision(country: str, name: str) -> str | None:
    """The subdivision code for a name the library knows (`"Zürich"` → `"ZH"`)."""
    aliases: Mapping[str, str] = getattr(_entity(country), "subdivisions_aliases", {}) or {}
    for alias, code in aliases.items():
        if alias.casefold() == name.casefold():
            return code
    for code in subdivisions_of(country):
        if code.casefold() == name.casefold():
            return code
    return None


def years_known(country: str) -> tuple[int, int]:
    """First and last year for which the library has `country`'s holidays.

    Outside them a holidays rule quietly covers nothing (Sri Lanka's, set by
    lunar observation, end with the current year), which an explanation should say.
    """
    entity = _entity(country)
    return int(entity.start_year), int(entity.end_year)


def categories_of(country: str) -> tuple[str, ...]:
    """Holiday categories the library has for `country` (always includes "public")."""
    found = getattr(_entity(country), "supported_categories", ()) or ()
    return tuple(sorted(str(c) for c in found))


@lru_cache(maxsize=4096)
def holidays_in(
    country: str, subdivision: str | None, categories: tuple[str, ...], year: int
) -> Mapping[date, str]:
    """Every holiday of `year` as date → name (several on one day are joined by "; ").

    Callers pass validated codes; an unknown one raises the library's
    `NotImplementedError`/`ValueError`, which would be a bug upstream.
    """
    found = holidays.country_holidays(
        country,
        subdiv=subdivision,
        years=year,
        categories=categories or (PUBLIC,),
        language=NAMES_LANGUAGE,
    )
    return MappingProxyType({day: str(name) for day, name in found.items() if day.year == year})
