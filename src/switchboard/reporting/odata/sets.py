"""The feed's entity sets (08 OD3), stated explicitly over the store's tables.

What is derived from the tables (property names and types) is `model`'s; what is
decided here: which sets exist, what each is called, which id columns hold UUIDs,
the navigation between sets (OD5), which 08 §7 row guards a set, and how its rows
are scoped to a principal (PM1). Sets of projected rows read the reporting tables;
dimensions are built per request from the tenant's configuration (services, users,
OUs, codes, tags, not-available reasons) or from static tables (outcomes, states,
modalities, …).

Not here yet, because nothing produces their rows: `OutboundCalls`,
`OutboundAttempts`, `SessionNotes`, `SessionContext`, `Callers`, `OutboundLists`,
`CallResultDetails`, and type-2 history (`ValidFrom`, `ValidTo`, `IsCurrent`) of
the slowly changing dimensions: `Services`, `Users` and `OrganizationUnits` hold
the current version only. The 08 §4 dimension `UserStates` (the reporting states)
is `ReportingStates` here, since OD3 gives that name to the user-state intervals.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

from switchboard.domain.access import Capability, Target
from switchboard.domain.enums import Direction, Modality, TaskKind
from switchboard.engine.state import TenantState
from switchboard.reporting.odata.model import (
    BOOLEAN,
    GUID,
    INT32,
    STRING,
    EntitySet,
    Navigation,
    Property,
    Scoping,
    row_properties,
    table_properties,
)
from switchboard.reporting.outcomes import (
    Outcome,
    OutcomeGroup,
    ReportingState,
    UserOutcome,
    UserOutcomeGroup,
)
from switchboard.store.schema import (
    report_service_aggregates,
    report_service_sessions,
    report_transfer_sessions,
    report_unified_sessions,
    report_user_aggregates,
    report_user_sessions,
    report_user_state_aggregates,
    report_user_states,
)

SESSIONS, STATES, DIMENSIONS = (
    Capability.REPORTS,
    Capability.REPORT_USER_STATES,
    Capability.REPORT_DIMENSIONS,
)

#: Columns of projected rows holding ids the projection derives (UUIDs); configuration
#: ids (services, users, OUs, …) may be any string and stay `Edm.String`.
SESSION_GUIDS: Final = frozenset(
    {
        "id",
        "unified_session_id",
        "service_session_id",
        "from_user_session_id",
        "to_service_session_id",
        "to_user_session_id",
        "transferred_from_service_session_id",
    }
)

#: 05 §1 / 08 §2 transfer types (codes of `TransferSessions.TransferType`).
TRANSFER_TYPES: Final = ("blind", "safe", "consultation", "voicemail", "service", "workflow")


def _nav(
    name: str, target: str, local: str, remote: str = "Id", *, many: bool = False
) -> Navigation:
    return Navigation(name=name, target=target, many=many, local=local, remote=remote)


def _in_scope_via_service_session(link: str) -> Scoping:
    """In scope when the service session `link` names is (PM1)."""
    return Scoping(column="service_id", via=report_service_sessions, link=link, link_to="id")


_TABLE_SETS: Final[tuple[EntitySet, ...]] = (
    EntitySet(
        name="UnifiedSessions",
        type_name="UnifiedSession",
        capability=SESSIONS,
        table=report_unified_sessions,
        properties=table_properties(report_unified_sessions, guids=SESSION_GUIDS),
        # In scope when any of its service sessions is.
        scoping=Scoping(
            column="service_id",
            via=report_service_sessions,
            link="id",
            link_to="unified_session_id",
        ),
        navigation=(
            _nav("ServiceSessions", "ServiceSessions", "Id", "UnifiedSessionId", many=True),
        ),
        description="One customer interaction (08 §2).",
    ),
    EntitySet(
        name="ServiceSessions",
        type_name="ServiceSession",
        capability=SESSIONS,
        table=report_service_sessions,
        properties=table_properties(report_service_sessions, guids=SESSION_GUIDS),
        scoping=Scoping(column="service_id"),
        navigation=(
            _nav("Service", "Services", "ServiceId"),
            _nav("Outcome", "ServiceSessionOutcomes", "OutcomeId"),
            _nav("UnifiedSession", "UnifiedSessions", "UnifiedSessionId"),
            _nav("UserSessions", "UserSessions", "Id", "ServiceSessionId", many=True),
        ),
        description="A task's visit to one service (08 §2).",
    ),
    EntitySet(
        name="UserSessions",
        type_name="UserSession",
        capability=SESSIONS,
        table=report_user_sessions,
        properties=table_properties(report_user_sessions, guids=SESSION_GUIDS),
        scoping=Scoping(column="service_id"),
        navigation=(
            _nav("User", "Users", "UserId"),
            _nav("Outcome", "UserSessionOutcomes", "OutcomeId"),
            _nav("ServiceSession", "ServiceSessions", "ServiceSessionId"),
        ),
        description="One offer or engagement of a user (08 §2).",
    ),
    EntitySet(
        name="TransferSessions",
        type_name="TransferSession",
        capability=SESSIONS,
        table=report_transfer_sessions,
        properties=table_properties(report_transfer_sessions, guids=SESSION_GUIDS),
        scoping=_in_scope_via_service_session("service_session_id"),
        navigation=(_nav("ServiceSession", "ServiceSessions", "ServiceSessionId"),),
        description="One hand-over attempt (08 §2).",
    ),
    EntitySet(
        name="UserStates",
        type_name="UserStateInterval",
        capability=STATES,
        table=report_user_states,
        properties=table_properties(report_user_states, guids=SESSION_GUIDS),
        scoping=Scoping(column="user_id"),
        description="A user in one reporting state, contiguously (08 §2.1).",
    ),
    EntitySet(
        name="ServiceSessionAggregates",
        type_name="ServiceSessionAggregate",
        capability=SESSIONS,
        table=report_service_aggregates,
        properties=table_properties(report_service_aggregates),
        scoping=Scoping(column="service_id"),
        description="Additive 15-minute buckets of service sessions (08 §2.2).",
    ),
    EntitySet(
        name="UserSessionAggregates",
        type_name="UserSessionAggregate",
        capability=SESSIONS,
        table=report_user_aggregates,
        properties=table_properties(report_user_aggregates),
        scoping=Scoping(column="service_id"),
        description="Additive 15-minute buckets of user sessions (08 §2.2).",
    ),
    EntitySet(
        name="UserStateAggregates",
        type_name="UserStateAggregate",
        capability=STATES,
        table=report_user_state_aggregates,
        properties=table_properties(report_user_state_aggregates),
        scoping=Scoping(column="user_id"),
        description="Milliseconds per user and state in 15-minute buckets (08 §2.2).",
    ),
)


# ---------------------------------------------------------------------- dimensions

Sees = Callable[[Target], bool]
Rows = Sequence[Mapping[str, Any]]


def _static(rows: Rows) -> Callable[[TenantState, Sees], Rows]:
    return lambda _state, _sees: rows


def _services(state: TenantState, sees: Sees) -> Rows:
    return [
        {
            "id": s.id,
            "name": s.name,
            "display_name": s.display_name or None,
            "upn": s.upn,
            "ou_id": s.ou_id,
            "enabled": s.enabled,
            "sla_acceptance_s": s.reporting.sla_acceptance_s,
            "sla_hangup_s": s.reporting.sla_hangup_s,
        }
        for s in state.services.values()
        if sees(Target(ou_id=s.ou_id, service_ids=frozenset({s.id})))
    ]


def _users(state: TenantState, sees: Sees) -> Rows:
    return [
        {
            "id": u.id,
            "display_name": u.display_name,
            "upn": u.upn,
            "ou_id": u.ou_id,
            "enabled": u.enabled,
        }
        for u in state.users.values()
        if sees(Target(ou_id=u.ou_id, service_ids=frozenset(u.memberships), user_id=u.id))
    ]


def _ous(state: TenantState, sees: Sees) -> Rows:
    rows = []
    for ou in state.ous.values():
        if not sees(Target(ou_id=ou.id)):
            continue
        chain = [ou.id, *_ancestors(state, ou.id)]
        names = [state.ous[i].name if i in state.ous else i for i in reversed(chain)]
        rows.append(
            {
                "id": ou.id,
                "name": ou.name,
                "parent_id": ou.parent_id,
                "path": "/" + "/".join(names),
                "level": len(chain) - 1,
            }
        )
    return rows


def _ancestors(state: TenantState, ou_id: str) -> list[str]:
    found: list[str] = []
    current = state.ous.get(ou_id)
    while current is not None and current.parent_id and current.parent_id not in found:
        found.append(current.parent_id)
        current = state.ous.get(current.parent_id)
    return found


def _placed(attr: str) -> Callable[[TenantState, Sees], Rows]:
    """Codes, tags, not-available reasons: id, name, OU, enabled (and a code's short code)."""

    def build(state: TenantState, sees: Sees) -> Rows:
        entities: Mapping[str, Any] = getattr(state, attr)
        return [
            {
                "id": e.id,
                "name": e.name,
                "short_code": getattr(e, "short_code", None),
                "ou_id": e.ou_id,
                "enabled": e.enabled,
            }
            for e in entities.values()
            if sees(Target(ou_id=e.ou_id))
        ]

    return build


def _codes(values: Sequence[str]) -> Rows:
    return [{"id": v} for v in values]


_PLACED = row_properties(
    ("id", STRING, False),
    ("name", STRING, False),
    ("ou_id", STRING, False),
    ("enabled", BOOLEAN, False),
)

_DIMENSION_SETS: Final[tuple[EntitySet, ...]] = (
    EntitySet(
        name="Services",
        type_name="Service",
        capability=DIMENSIONS,
        rows=_services,
        properties=(
            *row_properties(
                ("id", STRING, False),
                ("name", STRING, False),
                ("display_name", STRING, True),
                ("upn", STRING, False),
                ("ou_id", STRING, False),
                ("enabled", BOOLEAN, False),
            ),
            Property("SlaAcceptanceSeconds", "sla_acceptance_s", INT32, False),
            Property("SlaHangupSeconds", "sla_hangup_s", INT32, False),
        ),
        description="Services as configured now.",
    ),
    EntitySet(
        name="Users",
        type_name="User",
        capability=DIMENSIONS,
        rows=_users,
        properties=row_properties(
            ("id", STRING, False),
            ("display_name", STRING, False),
            ("upn", STRING, False),
            ("ou_id", STRING, False),
            ("enabled", BOOLEAN, False),
        ),
        description="Users as configured now.",
    ),
    EntitySet(
        name="OrganizationUnits",
        type_name="OrganizationUnit",
        capability=DIMENSIONS,
        rows=_ous,
        properties=row_properties(
            ("id", STRING, False),
            ("name", STRING, False),
            ("parent_id", STRING, True),
            ("path", STRING, False),
            ("level", INT32, False),
        ),
        description="OUs with their path of names from the root and their depth (root: 0).",
    ),
    EntitySet(
        name="Codes",
        type_name="Code",
        capability=DIMENSIONS,
        rows=_placed("codes"),
        properties=(*_PLACED, *row_properties(("short_code", STRING, True))),
    ),
    EntitySet(
        name="Tags",
        type_name="Tag",
        capability=DIMENSIONS,
        rows=_placed("tags"),
        properties=_PLACED,
    ),
    EntitySet(
        name="NotAvailableReasons",
        type_name="NotAvailableReason",
        capability=DIMENSIONS,
        rows=_placed("not_available_reasons"),
        properties=_PLACED,
    ),
    EntitySet(
        name="OutcomeGroups",
        type_name="OutcomeGroup",
        capability=DIMENSIONS,
        rows=_static([{"id": g.value, "code": g.code, "handled": g.handled} for g in OutcomeGroup]),
        properties=row_properties(
            ("id", INT32, False), ("code", STRING, False), ("handled", BOOLEAN, False)
        ),
        description="08 §3.1.",
    ),
    EntitySet(
        name="ServiceSessionOutcomes",
        type_name="ServiceSessionOutcome",
        capability=DIMENSIONS,
        rows=_static(
            [{"id": o.value, "code": o.code, "outcome_group_id": o.group.value} for o in Outcome]
        ),
        properties=row_properties(
            ("id", INT32, False), ("code", STRING, False), ("outcome_group_id", INT32, False)
        ),
        navigation=(_nav("OutcomeGroup", "OutcomeGroups", "OutcomeGroupId"),),
        description="08 §3.2.",
    ),
    EntitySet(
        name="UserSessionOutcomes",
        type_name="UserSessionOutcome",
        capability=DIMENSIONS,
        rows=_static(
            [
                {"id": o.value, "code": o.code, "outcome_group_id": o.group.value}
                for o in UserOutcome
            ]
        ),
        properties=row_properties(
            ("id", INT32, False), ("code", STRING, False), ("outcome_group_id", INT32, False)
        ),
        navigation=(_nav("OutcomeGroup", "UserSessionOutcomeGroups", "OutcomeGroupId"),),
        description="08 §3.4.",
    ),
    EntitySet(
        name="UserSessionOutcomeGroups",
        type_name="UserSessionOutcomeGroup",
        capability=DIMENSIONS,
        rows=_static([{"id": g.value, "code": g.code} for g in UserOutcomeGroup]),
        properties=row_properties(("id", INT32, False), ("code", STRING, False)),
        description="08 §3.4.",
    ),
    EntitySet(
        name="ReportingStates",
        type_name="ReportingState",
        capability=DIMENSIONS,
        rows=_static([{"id": s.value, "code": s.code} for s in ReportingState]),
        properties=row_properties(("id", INT32, False), ("code", STRING, False)),
        description="08 §2.1, by precedence (1 wins).",
    ),
    EntitySet(
        name="Modalities",
        type_name="Modality",
        capability=DIMENSIONS,
        rows=_static(_codes([m.value for m in Modality])),
        properties=row_properties(("id", STRING, False)),
    ),
    EntitySet(
        name="Directions",
        type_name="Direction",
        capability=DIMENSIONS,
        rows=_static(_codes([d.value for d in Direction])),
        properties=row_properties(("id", STRING, False)),
    ),
    EntitySet(
        name="TaskKinds",
        type_name="TaskKind",
        capability=DIMENSIONS,
        rows=_static(_codes([k.value for k in TaskKind])),
        properties=row_properties(("id", STRING, False)),
    ),
    EntitySet(
        name="TransferTypes",
        type_name="TransferType",
        capability=DIMENSIONS,
        rows=_static(_codes(TRANSFER_TYPES)),
        properties=row_properties(("id", STRING, False)),
    ),
)


def _checked(sets: Sequence[EntitySet]) -> dict[str, EntitySet]:
    """The sets by name, without navigation whose ends are gone (a renamed column)."""
    by_name = {s.name: s for s in sets}
    found = {}
    for entity_set in sets:
        kept = tuple(
            n
            for n in entity_set.navigation
            if n.local in entity_set.by_name
            and n.target in by_name
            and n.remote in by_name[n.target].by_name
        )
        if kept != entity_set.navigation:
            entity_set = _with_navigation(entity_set, kept)
        found[entity_set.name] = entity_set
    return found


def _with_navigation(entity_set: EntitySet, navigation: tuple[Navigation, ...]) -> EntitySet:
    return EntitySet(
        name=entity_set.name,
        type_name=entity_set.type_name,
        capability=entity_set.capability,
        properties=entity_set.properties,
        key=entity_set.key,
        navigation=navigation,
        table=entity_set.table,
        scoping=entity_set.scoping,
        rows=entity_set.rows,
        description=entity_set.description,
    )


#: Every entity set by name, in the order of the service document.
ENTITY_SETS: Final[Mapping[str, EntitySet]] = _checked((*_TABLE_SETS, *_DIMENSION_SETS))
#: Navigation the declarations name that `_checked` had to drop (the model test lists it).
DECLARED_NAVIGATION: Final = {s.name: s.navigation for s in (*_TABLE_SETS, *_DIMENSION_SETS)}
#: The Guid columns named above (the model test checks each exists somewhere).
GUID_DECLARATIONS: Final = SESSION_GUIDS
__all__ = ["ENTITY_SETS", "GUID", "EntitySet"]
