"""The tenant's other entities, as far as a workflow refers to them (04 §2 V11).

A workflow names parameters, calendars, services, users and audio resources
by id. Whether those exist, and whether they are visible from the workflow's
OU (01 §2 rule 7: the referenced entity's OU is the workflow's OU or one of
its ancestors), depends on stored configuration; the domain must not read
storage, so the caller hands in this snapshot of ids and OUs. Validating
without one (a template, an offline check) skips the reference rules only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from switchboard.domain.validation import Catalog

__all__ = ["RefKind", "References", "ServiceRef", "references_from_catalog"]


class RefKind(StrEnum):
    PARAMETER = "parameter"
    CALENDAR = "calendar"
    SERVICE = "service"
    USER = "user"
    AUDIO_RESOURCE = "audio_resource"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ")


@dataclass(frozen=True, slots=True)
class ServiceRef:
    """What a workflow needs to know about a service.

    `has_calendar` and `workflow_ids` let the validator warn that a
    `check_opening_hours` on the service's calendar will always answer `open`
    for a service that uses this workflow but has no calendar (04 §3.7).
    """

    ou_id: str
    has_calendar: bool = False
    workflow_ids: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class References:
    """Known ids of one tenant, each mapped to the OU that owns it.

    `ous` maps every OU id to its parent (None for the root). `workflow_names`
    holds the other workflows (id to name) for the uniqueness of names.
    """

    ous: Mapping[str, str | None] = field(default_factory=dict)
    parameters: Mapping[str, str] = field(default_factory=dict)
    calendars: Mapping[str, str] = field(default_factory=dict)
    services: Mapping[str, ServiceRef] = field(default_factory=dict)
    users: Mapping[str, str] = field(default_factory=dict)
    audio_resources: Mapping[str, str] = field(default_factory=dict)
    workflow_names: Mapping[str, str] = field(default_factory=dict)

    def owner_ou(self, kind: RefKind, entity_id: str) -> str | None:
        """The OU of the entity, or None when no such entity exists."""
        if kind is RefKind.SERVICE:
            service = self.services.get(entity_id)
            return None if service is None else service.ou_id
        table: Mapping[str, str] = {
            RefKind.PARAMETER: self.parameters,
            RefKind.CALENDAR: self.calendars,
            RefKind.USER: self.users,
            RefKind.AUDIO_RESOURCE: self.audio_resources,
        }[kind]
        return table.get(entity_id)

    def visible_ous(self, ou_id: str) -> frozenset[str] | None:
        """The OU and its ancestors, or None when the OU is unknown."""
        if ou_id not in self.ous:
            return None
        seen: list[str] = []
        current: str | None = ou_id
        while current is not None and current not in seen:
            seen.append(current)
            current = self.ous.get(current)
        return frozenset(seen)


def references_from_catalog(catalog: Catalog) -> References:
    """Build the snapshot from the configuration catalog of `validation`."""
    return References(
        ous={ou.id: ou.parent_id for ou in catalog.ous.values()},
        parameters={p.id: p.ou_id for p in catalog.parameters.values()},
        calendars={c.id: c.ou_id for c in catalog.calendars.values()},
        services={
            s.id: ServiceRef(
                ou_id=s.ou_id,
                has_calendar=s.primary_calendar_id is not None,
                workflow_ids=frozenset(s.workflows.values()),
            )
            for s in catalog.services.values()
        },
        users={u.id: u.ou_id for u in catalog.users.values()},
        audio_resources={a.id: a.ou_id for a in catalog.audio_resources.values()},
        workflow_names={w.id: w.name for w in catalog.workflows.values()},
    )
