"""Every route, called as every role, against a declarative copy of spec 10 §2 (R5).

The copy below is typed from the spec's table, not imported from the code, so a
change on either side shows up as a deviation. Each route is mapped to its row
and mode here too; a route the map does not know fails the test, so new routes
cannot slip past it.

Setup: OUs root → ou_a → ou_a1 and root → ou_b; service svc_a in ou_a; one
person per role, every role granted on ou_a or svc_a; "worker" is a member of
svc_a in ou_a (the other user whose state supervisors change). Requests target
entities inside ou_a/svc_a, so a cell reads directly as allowed or denied. A
second pass targets ou_b, where only the tenant-wide roles may go.

System and partner admins (SA, PA) are system accounts; tenant A belongs to
partner A (the PA's), tenant B to partner B. They act in tenant A by selecting it
(`X-Switchboard-Tenant`, 10 R3), so inside it they are tenant-wide. Records above
the tenants (rows 1 and 2) are A's in the first pass and B's in the second,
where only the system admin reaches them. A third pass has the partner admin
select tenant B, which is not its partner's: every tenant route answers 404.

Allowed means the permission check passed: any answer but 401/403/404 (an engine
refusal such as 409 "no offer" comes after it). Denied means 403, or 404 for
what the role may not even see; lists answer 200 without the item, or 403.
"""

from __future__ import annotations

import io
import itertools
import re
import uuid
import wave
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from api_harness import Service, service
from odata_api_harness import insert_rows
from system_harness import TENANT_HEADER, in_tenant, partner_for, system_account, system_sign_in
from test_route_audit import _api_routes, _socket_routes

from switchboard.domain.access import Capability
from switchboard.reporting.odata.sets import ENTITY_SETS
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

__all__ = ["service"]

ROLES = ("SA", "PA", "TA", "OA", "LA", "SO", "SL", "SS", "US", "AG", "NONE")
SYSTEM = ("SA", "PA")
TENANT_WIDE = ("TA", *SYSTEM)

#: 10 §2, the rows with endpoints; row 20 split as the spec's cell text splits it.
SPEC_TABLE = """
row                     SA  PA  TA  OA  LA  SO  SL  SS  US  AG
1:partners              ✔   –   –   –   –   –   –   –   –   –
2:tenant-record         ✔   R   R   –   –   –   –   –   –   –
3:tenant-settings       ✔   ✔   ✔   R   –   –   –   –   –   –
4:privacy-toggles       –   –   ✔   –   –   –   –   –   –   –
5:ous                   ✔   ✔   ✔   ✔   –   –   –   –   –   –
6:users                 ✔   ✔   ✔   ✔   –   –   –   –   –   –
8:services              ✔   ✔   ✔   ✔   –   –   –   –   –   –
9:service-config        ✔   ✔   ✔   ✔   –   O   O   R   –   R(own)
11:calendars            ✔   ✔   ✔   ✔   ✔   O   O   R   –   –
12:shared               ✔   ✔   ✔   ✔   –   R   R   R   R   –
17:handle-tasks         –   –   m   m   m   m   m   m   m   m
18:live-views           ✔   ✔   ✔   ✔   –   O   O   ✔   –   R(own)
20:duty-active-profile  –   –   ✔   ✔   –   O   O   –   ✔   –
20:acw-rona             –   –   ✔   ✔   –   –   –   –   ✔   –
21:flow-actions         ✔   ✔   ✔   ✔   –   O   O   –   –   –
22:api-keys             –   –   ✔   ✔   –   –   –   –   –   –
x:others-presence       –   –   –   –   –   –   –   –   –   –
08:sessions             –   –   R   R   –   R(own)  R(own)  R   –   –
08:user-states          –   –   –   –   –   –   –   –   R   –
08:dimensions           –   –   R   R   –   R   R   R   R   –
"""
#: The 08 rows are 08 §7's reporting matrix (10 §2 defers to it). SA and PA: "–" until
#: 08 PM2 (the tenant-admin rows while a partner privacy toggle is on) is built.
#: Rows of records above the tenants: their second pass is tenant B's records.
ABOVE_TENANTS = ("1:partners", "2:tenant-record")


def _table() -> dict[str, dict[str, str]]:
    lines = [line.split() for line in SPEC_TABLE.strip().splitlines()]
    header = lines[0][1:]
    return {cells[0]: dict(zip(header, cells[1:], strict=True)) for cells in lines[1:]}


TABLE = _table()
MEMBERS_OF_SVC_A = {"SO", "SL", "AG"}


def expected(role: str, row: str, mode: str) -> bool:
    """What the spec says a role may do to an in-scope target (svc_a is "own")."""
    if role == "NONE":
        return False
    cell = TABLE[row][role]
    return {
        "✔": True,
        "R": mode == "read",
        "O": True,
        "R(own)": mode == "read",
        "m": role in MEMBERS_OF_SVC_A,
        "–": False,
    }[cell]


# ---------------------------------------------------------------------- the world


@dataclass
class World:
    svc: Service
    ids: dict[str, str] = field(default_factory=dict)
    creds: dict[str, dict[str, str]] = field(default_factory=dict)
    counter: itertools.count[int] = field(default_factory=itertools.count)

    def admin(self, method: str, path: str, body: Any = None) -> Any:
        response = self.svc.client.request(method, path, json=body, headers=self.svc.auth())
        assert response.status_code < 300, (method, path, response.text)
        return response.json() if response.content else None

    def as_tenant_admin(self, method: str, path: str, body: Any = None) -> Any:
        """For what API keys may not do (manage keys), as the tenant admin person."""
        response = self.svc.client.request(method, path, json=body, headers=self.creds["TA"])
        assert response.status_code < 300, (method, path, response.text)
        return response.json()

    def as_system_admin(self, method: str, path: str, body: Any = None) -> Any:
        """For what only system admins do (partners), as the system admin."""
        response = self.svc.client.request(method, path, json=body, headers=self.creds["SA"])
        assert response.status_code < 300, (method, path, response.text)
        return response.json()

    def fresh(self, prefix: str) -> str:
        return f"{prefix}{next(self.counter)}"


def _build(svc: Service) -> World:
    w = World(svc)
    ids = w.ids
    ids["ou_a"] = w.admin("POST", "/api/v1/ous", {"name": "A", "parent_id": "root"})["id"]
    ids["ou_a1"] = w.admin("POST", "/api/v1/ous", {"name": "A1", "parent_id": ids["ou_a"]})["id"]
    ids["ou_b"] = w.admin("POST", "/api/v1/ous", {"name": "B", "parent_id": "root"})["id"]
    w.admin("POST", "/api/v1/parameters", {"id": "Note", "name": "Note"})
    for side in ("a", "b"):
        ou = ids[f"ou_{side}"]
        ids[f"cal_{side}"] = w.admin(
            "POST", "/api/v1/calendars", {"name": f"Hours {side}", "ou_id": ou}
        )["id"]
        ids[f"svc_{side}"] = w.admin(
            "POST",
            "/api/v1/services",
            {
                "name": f"Service {side}",
                "upn": f"svc-{side}@acme.test",
                "ou_id": ou,
                "user_assignment_type": "teams_based",
                "enabled_modalities": ["audio", "external_task"],
                "primary_calendar_id": ids[f"cal_{side}"],
            },
        )["id"]
        category = w.admin(
            "POST", "/api/v1/skill-categories", {"name": f"Languages {side}", "ou_id": ou}
        )
        ids[f"skill_{side}"] = w.admin(
            "POST",
            "/api/v1/skills",
            {"name": f"German {side}", "category_id": category["id"], "ou_id": ou},
        )["id"]
        ids[f"worker_{side}"] = w.admin(
            "POST",
            "/api/v1/users",
            {
                "upn": f"worker-{side}@acme.test",
                "display_name": f"Worker {side}",
                "ou_id": ou,
                "memberships": {ids[f"svc_{side}"]: {"service_id": ids[f"svc_{side}"]}},
            },
        )["id"]
        ids[f"task_{side}"] = w.admin("POST", "/api/v1/tasks", {"service_id": ids[f"svc_{side}"]})[
            "id"
        ]
        ids[f"wf_{side}"] = w.admin("POST", "/api/v1/workflows", _workflow_body(w, ou))["id"]
    svc_a, ou_a = ids["svc_a"], ids["ou_a"]
    people: dict[str, dict[str, Any]] = {
        "TA": {"roles": [{"role": "tenant_admin", "scope_type": "tenant"}]},
        "OA": {"roles": [{"role": "ou_admin", "scope_type": "ou", "scope_id": ou_a}]},
        "LA": {"roles": [{"role": "limited_admin", "scope_type": "ou", "scope_id": ou_a}]},
        "SO": {"memberships": {svc_a: {"service_id": svc_a, "role": "owner"}}},
        "SL": {"memberships": {svc_a: {"service_id": svc_a, "role": "owner_limited"}}},
        "SS": {"roles": [{"role": "service_supervisor", "scope_type": "ou", "scope_id": ou_a}]},
        "US": {"roles": [{"role": "user_supervisor", "scope_type": "ou", "scope_id": ou_a}]},
        "AG": {"memberships": {svc_a: {"service_id": svc_a}}},
        "NONE": {},
    }
    for role, extra in people.items():
        user = w.admin(
            "POST",
            "/api/v1/users",
            {
                "upn": f"{role.lower()}@acme.test",
                "display_name": f"Person {role}",
                "ou_id": ou_a,
                **extra,
            },
        )
        password = f"correct horse {role} battery staple"
        w.admin(
            "PUT",
            f"/api/v1/users/{user['id']}/account",
            {"username": f"person-{role.lower()}", "password": password},
        )
        signed = svc.client.post(
            "/api/v1/auth/sign-in",
            json={"username": f"person-{role.lower()}", "password": password},
        )
        assert signed.status_code == 200, signed.text
        token = signed.cookies.get("sb_session")
        assert token
        w.creds[role] = {
            "Cookie": f"sb_session={token}",
            "X-CSRF-Token": signed.json()["csrf_token"],
            "Origin": "http://testserver",
        }
        svc.client.cookies.clear()
    for side in ("a", "b"):
        ids[f"partner_{side}"] = partner_for(svc, f"Partner {side}", f"tenant-{side}")
    for role, scope in (("SA", None), ("PA", ids["partner_a"])):
        username = f"system-{role.lower()}"
        system_account(svc, username, "system_admin" if scope is None else "partner_admin", scope)
        w.creds[role] = in_tenant(system_sign_in(svc, username), "tenant-a")
    return w


def _workflow_body(w: World, ou: str) -> dict[str, Any]:
    return {
        "name": w.fresh("wf"),
        "ou_id": ou,
        "modality": "external_task",
        "nodes": [
            {"id": "start", "type": "start", "exits": {"next": "acc"}},
            {"id": "acc", "type": "accept", "exits": {"next": "bye"}},
            {"id": "bye", "type": "disconnect"},
        ],
    }


# ---------------------------------------------------------------------- the routes

Call = tuple[str, str, Any]  # method, path, body
Builder = Callable[[World, str], Call]

KIND_ROWS = {
    "ous": "5:ous",
    "users": "6:users",
    "calendars": "11:calendars",
    "workflows": "11:calendars",
    "services": "9:service-config",
    "audio-resources": "11:calendars",
}


def _body_of(w: World, path: str) -> dict[str, Any]:
    current = w.admin("GET", path)
    server_owned = {"version", "status", "content_type", "duration_s", "size_bytes"}
    if "/parameters/" not in path:  # a parameter's id is the client's
        server_owned.add("id")
    return {k: v for k, v in current.items() if k not in server_owned}


def _config_entity(w: World, kind: str, side: str) -> str:
    return {
        "ous": w.ids["ou_a1"] if side == "a" else w.ids["ou_b"],
        "users": w.ids[f"worker_{side}"],
        "calendars": w.ids[f"cal_{side}"],
        "services": w.ids[f"svc_{side}"],
        "skills": w.ids[f"skill_{side}"],
        "workflows": w.ids[f"wf_{side}"],
    }.get(kind) or _shared_entity(w, kind, side)


def _shared_entity(w: World, kind: str, side: str) -> str:
    """One entity of each remaining row-12 kind per side, made on first use."""
    key = f"{kind}_{side}"
    if key not in w.ids:
        created = w.admin("POST", f"/api/v1/{kind}", _new_body(w, kind, side))
        w.ids[key] = created["id"]
    return w.ids[key]


def _new_body(w: World, kind: str, side: str) -> dict[str, Any]:
    ou = w.ids[f"ou_{side}"]
    name = w.fresh("n")
    return {
        "ous": {"name": name, "parent_id": ou},
        "users": {"upn": f"{name}@acme.test", "display_name": name, "ou_id": ou},
        "calendars": {"name": name, "ou_id": ou},
        "audio-resources": {"name": name, "ou_id": ou},
        "workflows": _workflow_body(w, ou),
        "services": {
            "name": name,
            "upn": f"{name}@acme.test",
            "ou_id": ou,
            "user_assignment_type": "teams_based",
        },
        "skills": {
            "name": name,
            "ou_id": ou,
            "category_id": w.admin("GET", f"/api/v1/skills/{w.ids[f'skill_{side}']}")[
                "category_id"
            ],
        },
        **_shared_bodies(w, name, ou, side),
    }[kind]


SHARED_KINDS = (
    "skill-categories",
    "tags",
    "codes",
    "not-available-reasons",
    "parameters",
    "duty-profiles",
    "distribution-policies",
    "address-books",
)


def _shared_bodies(w: World, name: str, ou: str, side: str) -> dict[str, dict[str, Any]]:
    skill = w.ids[f"skill_{side}"]
    return {
        "skill-categories": {"name": name, "ou_id": ou},
        "tags": {"name": name, "ou_id": ou},
        "codes": {"name": name, "short_code": name[:8], "ou_id": ou},
        "not-available-reasons": {"name": name, "ou_id": ou},
        "parameters": {"id": f"P{name}", "name": name, "ou_id": ou},
        "duty-profiles": {
            "name": name,
            "ou_id": ou,
            "kind": "custom",
            "entries": [{"skill_id": skill}],
        },
        "distribution-policies": {"name": name, "ou_id": ou, "levels": [{"requirements": []}]},
        "address-books": {"name": name, "ou_id": ou},
    }


def _config_route(method: str, path: str) -> tuple[str, str, Builder] | None:
    match = re.fullmatch(r"/api/v1/([a-z-]+)(/\{entity_id\})?", path)
    if match is None:
        return None
    kind, one = match.group(1), match.group(2)
    if kind not in (
        "ous",
        "users",
        "calendars",
        "services",
        "skills",
        "workflows",
        "audio-resources",
        *SHARED_KINDS,
    ):
        return None
    kind_for_row = "skills" if kind in SHARED_KINDS else kind
    row = KIND_ROWS.get(kind_for_row, "12:shared")
    if kind_for_row == "services" and method in ("POST", "DELETE"):
        row = "8:services"
    mode = "read" if method == "GET" else "write"

    def build(w: World, side: str) -> Call:
        if method == "GET" and not one:
            return ("LIST", f"/api/v1/{kind}", _config_entity(w, kind, side))
        if method == "GET":
            return ("GET", f"/api/v1/{kind}/{_config_entity(w, kind, side)}", None)
        if method == "POST":
            return ("POST", f"/api/v1/{kind}", _new_body(w, kind, side))
        if method == "PUT":
            entity = _config_entity(w, kind, side)
            return ("PUT", f"/api/v1/{kind}/{entity}", _body_of(w, f"/api/v1/{kind}/{entity}"))
        # DELETE: calendars and services in use answer 409 to whoever may delete them;
        # everything else is deleted fresh, so no attempt changes what the next one sees.
        if kind in ("calendars", "services"):
            return ("DELETE", f"/api/v1/{kind}/{_config_entity(w, kind, side)}", None)
        created = w.admin("POST", f"/api/v1/{kind}", _new_body(w, kind, side))
        return ("DELETE", f"/api/v1/{kind}/{created['id']}", None)

    return row, mode, build


def _task(w: World, side: str) -> str:
    return w.ids[f"task_{side}"]


def _fresh_task(w: World, side: str) -> str:
    return str(w.admin("POST", "/api/v1/tasks", {"service_id": w.ids[f"svc_{side}"]})["id"])


def _account_delete(w: World, side: str) -> Call:
    worker = w.ids[f"worker_{side}"]
    w.admin(
        "PUT",
        f"/api/v1/users/{worker}/account",
        {"username": w.fresh("acct"), "password": "correct horse battery staple 9"},
    )
    return ("DELETE", f"/api/v1/users/{worker}/account", None)


LIVE: dict[tuple[str, str], tuple[str, str, Builder]] = {
    # The tenant is no OU's: the second pass (outside the role's scope) has nothing to try.
    ("GET", "/api/v1/tenant"): (
        "3:tenant-settings",
        "read",
        lambda w, s: ("GET", "/api/v1/tenant", None) if s == "a" else ("SKIP", "", None),
    ),
    ("PUT", "/api/v1/tenant/settings"): (
        "3:tenant-settings",
        "write",
        lambda w, s: (
            ("PUT", "/api/v1/tenant/settings", w.admin("GET", "/api/v1/tenant")["settings"])
            if s == "a"
            else ("SKIP", "", None)
        ),
    ),
    ("POST", "/api/v1/tasks"): (
        "21:flow-actions",
        "write",
        lambda w, s: ("POST", "/api/v1/tasks", {"service_id": w.ids[f"svc_{s}"]}),
    ),
    ("GET", "/api/v1/tasks"): (
        "18:live-views",
        "read",
        lambda w, s: ("LIST", "/api/v1/tasks", _task(w, s)),
    ),
    ("GET", "/api/v1/tasks/{task_id}"): (
        "18:live-views",
        "read",
        lambda w, s: ("GET", f"/api/v1/tasks/{_task(w, s)}", None),
    ),
    ("GET", "/api/v1/tasks/{task_id}/diagnosis"): (
        "18:live-views",
        "read",
        lambda w, s: ("GET", f"/api/v1/tasks/{_task(w, s)}/diagnosis", None),
    ),
    ("DELETE", "/api/v1/tasks/{task_id}"): (
        "21:flow-actions",
        "write",
        lambda w, s: ("DELETE", f"/api/v1/tasks/{_fresh_task(w, s)}", None),
    ),
    ("POST", "/api/v1/tasks/{task_id}/customer-hangup"): (
        "21:flow-actions",
        "write",
        lambda w, s: ("POST", f"/api/v1/tasks/{_fresh_task(w, s)}/customer-hangup", {}),
    ),
    ("PUT", "/api/v1/tasks/{task_id}/parameters/{parameter_id}"): (
        "21:flow-actions",
        "write",
        lambda w, s: ("PUT", f"/api/v1/tasks/{_task(w, s)}/parameters/Note", {"value": "x"}),
    ),
    ("PUT", "/api/v1/tasks/{task_id}/priority"): (
        "21:flow-actions",
        "write",
        lambda w, s: ("PUT", f"/api/v1/tasks/{_task(w, s)}/priority", {"priority": "high"}),
    ),
    ("POST", "/api/v1/tasks/{task_id}/{action}"): (
        "17:handle-tasks",
        "write",
        lambda w, s: ("POST", f"/api/v1/tasks/{_task(w, s)}/decline", {}),
    ),
    ("PUT", "/api/v1/tasks/{task_id}/codes"): (
        "17:handle-tasks",
        "write",
        lambda w, s: ("PUT", f"/api/v1/tasks/{_task(w, s)}/codes", {}),
    ),
    ("GET", "/api/v1/users/{user_id}/availability"): (
        "18:live-views",
        "read",
        lambda w, s: ("GET", f"/api/v1/users/{w.ids[f'worker_{s}']}/availability", None),
    ),
    ("PUT", "/api/v1/users/{user_id}/presence"): (
        "x:others-presence",
        "write",
        lambda w, s: (
            "PUT",
            f"/api/v1/users/{w.ids[f'worker_{s}']}/presence",
            {"presence": "available"},
        ),
    ),
    ("PUT", "/api/v1/users/{user_id}/duty-profile"): (
        "20:duty-active-profile",
        "write",
        lambda w, s: (
            "PUT",
            f"/api/v1/users/{w.ids[f'worker_{s}']}/duty-profile",
            {"profile_id": "off_duty"},
        ),
    ),
    ("PUT", "/api/v1/users/{user_id}/services/{service_id}/active"): (
        "20:duty-active-profile",
        "write",
        lambda w, s: (
            "PUT",
            f"/api/v1/users/{w.ids[f'worker_{s}']}/services/{w.ids[f'svc_{s}']}/active",
            {"active": True},
        ),
    ),
    ("PUT", "/api/v1/users/{user_id}/not-available"): (
        "20:duty-active-profile",
        "write",
        lambda w, s: (
            "PUT",
            f"/api/v1/users/{w.ids[f'worker_{s}']}/not-available",
            {"reason_id": None},
        ),
    ),
    ("POST", "/api/v1/users/{user_id}/rona/reset"): (
        "20:acw-rona",
        "write",
        lambda w, s: ("POST", f"/api/v1/users/{w.ids[f'worker_{s}']}/rona/reset", {}),
    ),
    ("POST", "/api/v1/users/{user_id}/acw/end"): (
        "20:acw-rona",
        "write",
        lambda w, s: ("POST", f"/api/v1/users/{w.ids[f'worker_{s}']}/acw/end", {}),
    ),
    ("POST", "/api/v1/users/{user_id}/acw/extend"): (
        "20:acw-rona",
        "write",
        lambda w, s: ("POST", f"/api/v1/users/{w.ids[f'worker_{s}']}/acw/extend", {}),
    ),
    ("PUT", "/api/v1/users/{user_id}/account"): (
        "6:users",
        "write",
        lambda w, s: (
            "PUT",
            f"/api/v1/users/{w.ids[f'worker_{s}']}/account",
            {"username": w.fresh("acct"), "password": "correct horse battery staple 9"},
        ),
    ),
    ("DELETE", "/api/v1/users/{user_id}/account"): ("6:users", "write", _account_delete),
    ("GET", "/api/v1/services/{service_id}/opening-hours"): (
        "9:service-config",
        "read",
        lambda w, s: ("GET", f"/api/v1/services/{w.ids[f'svc_{s}']}/opening-hours", None),
    ),
    ("GET", "/api/v1/calendars/{entity_id}/state"): (
        "11:calendars",
        "read",
        lambda w, s: ("GET", f"/api/v1/calendars/{w.ids[f'cal_{s}']}/state", None),
    ),
    ("POST", "/api/v1/workflows/{entity_id}/publish"): (
        "11:calendars",
        "write",
        lambda w, s: (
            "POST",
            "/api/v1/workflows/"
            + w.admin("POST", "/api/v1/workflows", _workflow_body(w, w.ids[f"ou_{s}"]))["id"]
            + "/publish",
            None,
        ),
    ),
    ("GET", "/api/v1/workflows/{entity_id}/issues"): (
        "11:calendars",
        "read",
        lambda w, s: ("GET", f"/api/v1/workflows/{w.ids[f'wf_{s}']}/issues", None),
    ),
    ("POST", "/api/v1/workflow-templates/{template}"): (
        "11:calendars",
        "write",
        lambda w, s: (
            "POST",
            "/api/v1/workflow-templates/external_task_queue",
            {"ou_id": w.ids[f"ou_{s}"], "name": w.fresh("tpl")},
        ),
    ),
    # Not about any OU: whoever may read workflows anywhere may read these.
    ("GET", "/api/v1/workflow-templates"): (
        "11:calendars",
        "read",
        lambda w, s: (
            ("GET", "/api/v1/workflow-templates", None) if s == "a" else ("SKIP", "", None)
        ),
    ),
    ("GET", "/api/v1/workflows/schema"): (
        "11:calendars",
        "read",
        lambda w, s: ("GET", "/api/v1/workflows/schema", None) if s == "a" else ("SKIP", "", None),
    ),
    ("POST", "/api/v1/api-keys"): (
        "22:api-keys",
        "write",
        lambda w, s: (
            "POST",
            "/api/v1/api-keys",
            {"name": w.fresh("key"), "scopes": ["config:read"], "ou_id": w.ids[f"ou_{s}"]},
        ),
    ),
    ("GET", "/api/v1/api-keys"): (
        "22:api-keys",
        "read",
        lambda w, s: ("LIST-KEYS", "/api/v1/api-keys", w.ids[f"ou_{s}"]),
    ),
    ("DELETE", "/api/v1/api-keys/{key_id}"): (
        "22:api-keys",
        "write",
        lambda w, s: (
            "DELETE",
            "/api/v1/api-keys/"
            + w.as_tenant_admin(
                "POST",
                "/api/v1/api-keys",
                {"name": w.fresh("key"), "scopes": ["config:read"], "ou_id": w.ids[f"ou_{s}"]},
            )["key_id"],
            None,
        ),
    ),
    ("POST", "/sim/api/calls"): (
        "21:flow-actions",
        "write",
        lambda w, s: ("POST", "/sim/api/calls", {"to": f"svc-{s}@acme.test"}),
    ),
    ("GET", "/sim/api/calls"): (
        "18:live-views",
        "read",
        lambda w, s: ("LIST", "/sim/api/calls", _sim_call(w, s)),
    ),
    ("GET", "/sim/api/calls/{call_id}"): (
        "18:live-views",
        "read",
        lambda w, s: ("GET", f"/sim/api/calls/{_sim_call(w, s)}", None),
    ),
    ("POST", "/sim/api/calls/{call_id}/digits"): (
        "21:flow-actions",
        "write",
        lambda w, s: ("POST", f"/sim/api/calls/{_sim_call(w, s)}/digits", {"digits": "1"}),
    ),
    ("POST", "/sim/api/calls/{call_id}/speech"): (
        "21:flow-actions",
        "write",
        lambda w, s: (
            "POST",
            f"/sim/api/calls/{_sim_call(w, s)}/speech",
            {"text": "Hello", "seconds": 1},
        ),
    ),
    ("POST", "/sim/api/calls/{call_id}/hangup"): (
        "21:flow-actions",
        "write",
        lambda w, s: ("POST", f"/sim/api/calls/{_sim_call(w, s)}/hangup", None),
    ),
    ("POST", "/sim/api/calls/{call_id}/failures"): (
        "21:flow-actions",
        "write",
        lambda w, s: (
            "POST",
            f"/sim/api/calls/{_sim_call(w, s)}/failures",
            {"command": "ring_user", "reason": "busy"},
        ),
    ),
    ("POST", "/sim/api/calls/{call_id}/phone/{action}"): (
        "17:handle-tasks",
        "write",
        lambda w, s: ("POST", f"/sim/api/calls/{_sim_call(w, s)}/phone/decline", {}),
    ),
    ("PUT", "/sim/api/users/{user_id}/phone"): (
        "21:flow-actions",
        "write",
        lambda w, s: (
            "PUT",
            f"/sim/api/users/{w.ids[f'worker_{s}']}/phone",
            {"behaviour": "manual"},
        ),
    ),
}


def _contacts(w: World, side: str, suffix: str = "") -> str:
    """The contacts of side's address book, which holds the contact "c0"."""
    book = _shared_entity(w, "address-books", side)
    if f"contact_{side}" not in w.ids:
        w.admin("POST", f"/api/v1/address-books/{book}/contacts", {"external_id": "c0"})
        w.ids[f"contact_{side}"] = "c0"
    return f"/api/v1/address-books/{book}/contacts{suffix}"


# Contacts follow their book's OU (row 12); every write is harmless to repeat.
LIVE.update(
    {
        ("GET", "/api/v1/address-books/{entity_id}/contacts"): (
            "12:shared",
            "read",
            lambda w, s: ("GET", _contacts(w, s), None),
        ),
        ("POST", "/api/v1/address-books/{entity_id}/contacts"): (
            "12:shared",
            "write",
            lambda w, s: ("POST", _contacts(w, s), {"external_id": w.fresh("c")}),
        ),
        ("PUT", "/api/v1/address-books/{entity_id}/contacts"): (
            "12:shared",
            "write",
            lambda w, s: ("PUT", _contacts(w, s), {"external_id": "c0", "company": w.fresh("x")}),
        ),
        ("POST", "/api/v1/address-books/{entity_id}/contacts/delete"): (
            "12:shared",
            "write",
            lambda w, s: ("POST", _contacts(w, s, "/delete"), {"external_ids": [w.fresh("c")]}),
        ),
        ("POST", "/api/v1/address-books/{entity_id}/contacts/clear"): (
            "12:shared",
            "write",
            lambda w, s: ("POST", _contacts(w, s, "/clear"), None),
        ),
    }
)


#: A body of bytes is sent as this recording (the upload route takes audio, not JSON).
RECORDING_TYPE = "audio/wav"


def _recording() -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(8000)
        writer.writeframes(b"\x00\x00" * 800)
    return out.getvalue()


def _audio_content(w: World, side: str) -> str:
    """The content route of side's audio resource, which holds a recording."""
    resource = _config_entity(w, "audio-resources", side)
    path = f"/api/v1/audio-resources/{resource}/content"
    if f"recording_{side}" not in w.ids:
        uploaded = w.svc.client.put(
            path,
            content=_recording(),
            headers={**w.svc.auth(), "Content-Type": RECORDING_TYPE},
        )
        assert uploaded.status_code == 200, uploaded.text
        w.ids[f"recording_{side}"] = resource
    return path


# The recording follows its resource (row 11, like calendars and workflows).
LIVE.update(
    {
        ("GET", "/api/v1/audio-resources/{entity_id}/content"): (
            "11:calendars",
            "read",
            lambda w, s: ("GET", _audio_content(w, s), None),
        ),
        ("PUT", "/api/v1/audio-resources/{entity_id}/content"): (
            "11:calendars",
            "write",
            lambda w, s: ("PUT", _audio_content(w, s), _recording()),
        ),
    }
)


def _sim_call(w: World, side: str) -> str:
    """A fresh simulated call to service `side`, placed by the admin key."""
    placed = w.admin("POST", "/sim/api/calls", {"to": f"svc-{side}@acme.test"})
    return str(placed["id"])


def _partner(w: World, side: str) -> str:
    return w.ids[f"partner_{side}"]


# Records above the tenants: partners (row 1) and tenant records (row 2), A's or B's.
LIVE.update(
    {
        ("GET", "/api/v1/partners"): (
            "1:partners",
            "read",
            lambda w, s: ("LIST", "/api/v1/partners", _partner(w, s)),
        ),
        ("POST", "/api/v1/partners"): (
            "1:partners",
            "write",
            lambda w, s: ("POST", "/api/v1/partners", {"name": w.fresh("partner")}),
        ),
        ("GET", "/api/v1/partners/{partner_id}"): (
            "1:partners",
            "read",
            lambda w, s: ("GET", f"/api/v1/partners/{_partner(w, s)}", None),
        ),
        ("PUT", "/api/v1/partners/{partner_id}"): (
            "1:partners",
            "write",
            lambda w, s: ("PUT", f"/api/v1/partners/{_partner(w, s)}", {"name": f"Partner {s}"}),
        ),
        ("DELETE", "/api/v1/partners/{partner_id}"): (
            "1:partners",
            "write",
            lambda w, s: (
                "DELETE",
                "/api/v1/partners/"
                + w.as_system_admin("POST", "/api/v1/partners", {"name": w.fresh("gone")})["id"],
                None,
            ),
        ),
        ("GET", "/api/v1/tenants"): (
            "2:tenant-record",
            "read",
            lambda w, s: ("LIST", "/api/v1/tenants", f"tenant-{s}"),
        ),
        ("GET", "/api/v1/tenants/{tenant_id}"): (
            "2:tenant-record",
            "read",
            lambda w, s: ("GET", f"/api/v1/tenants/tenant-{s}", None),
        ),
        ("POST", "/api/v1/tenants"): (
            "2:tenant-record",
            "write",
            lambda w, s: (
                "POST",
                "/api/v1/tenants",
                {"name": w.fresh("tenant"), "partner_id": _partner(w, s)},
            ),
        ),
        ("PUT", "/api/v1/tenants/{tenant_id}/partner"): (
            "2:tenant-record",
            "write",
            lambda w, s: (
                "PUT",
                f"/api/v1/tenants/tenant-{s}/partner",
                {"partner_id": _partner(w, s)},
            ),
        ),
    }
)


# ---------------------------------------------------------------------- the OData feed (08 §7)

#: One reporting row per side, written straight into the tables (the projection makes
#: these from calls; what matters here is which service or user a row belongs to).
ODATA_ROWS: dict[str, tuple[Any, Callable[[World, str], dict[str, Any]]]] = {
    "UnifiedSessions": (report_unified_sessions, lambda w, s: _unified_row(w, s)),
    "ServiceSessions": (
        report_service_sessions,
        lambda w, s: {"service_id": w.ids[f"svc_{s}"], "unified_session_id": _unified(w, s)},
    ),
    "UserSessions": (report_user_sessions, lambda w, s: {"service_id": w.ids[f"svc_{s}"]}),
    "TransferSessions": (
        report_transfer_sessions,
        lambda w, s: {"service_session_id": _odata_row(w, "ServiceSessions", s)},
    ),
    "UserStates": (report_user_states, lambda w, s: {"user_id": w.ids[f"worker_{s}"]}),
    "ServiceSessionAggregates": (
        report_service_aggregates,
        lambda w, s: {"id": f"svc-agg-{s}", "service_id": w.ids[f"svc_{s}"]},
    ),
    "UserSessionAggregates": (
        report_user_aggregates,
        lambda w, s: {"id": f"user-agg-{s}", "service_id": w.ids[f"svc_{s}"]},
    ),
    "UserStateAggregates": (
        report_user_state_aggregates,
        lambda w, s: {"id": f"state-agg-{s}", "user_id": w.ids[f"worker_{s}"]},
    ),
}

#: Dimensions from the configuration: which entity of each side a row is.
ODATA_DIMENSIONS: dict[str, Callable[[World, str], str]] = {
    "Services": lambda w, s: w.ids[f"svc_{s}"],
    "Users": lambda w, s: w.ids[f"worker_{s}"],
    "OrganizationUnits": lambda w, s: w.ids[f"ou_{s}"],
    "Codes": lambda w, s: _shared_entity(w, "codes", s),
    "Tags": lambda w, s: _shared_entity(w, "tags", s),
    "NotAvailableReasons": lambda w, s: _shared_entity(w, "not-available-reasons", s),
}

ODATA_ROW_OF = {
    Capability.REPORTS: "08:sessions",
    Capability.REPORT_USER_STATES: "08:user-states",
    Capability.REPORT_DIMENSIONS: "08:dimensions",
}


def _unified(w: World, side: str) -> str:
    key = f"unified_{side}"
    if key not in w.ids:
        w.ids[key] = str(uuid.uuid4())
    return w.ids[key]


def _unified_row(w: World, side: str) -> dict[str, Any]:
    """A unified session is in scope through its service sessions (PM1): side's one first."""
    _odata_row(w, "ServiceSessions", side)
    return {"id": _unified(w, side)}


def _odata_row(w: World, set_name: str, side: str) -> str:
    """The id of side's row of a table-backed set, written on first use."""
    key = f"odata_{set_name}_{side}"
    if key not in w.ids:
        table, given = ODATA_ROWS[set_name]
        [w.ids[key]] = insert_rows(w.svc.tenancy.db, "tenant-a", table, [given(w, side)])
    return w.ids[key]


def _odata_key(entity_set: Any, value: Any) -> str:
    """`value` as a key or literal of the set's key type (Guid, number or 'string')."""
    kind = entity_set.key_property.type
    return str(value) if kind in ("Edm.Guid", "Edm.Int32", "Edm.Int64") else f"'{value}'"


def _odata_target(w: World, set_name: str, side: str) -> Any:
    """The key value of side's entity in `set_name`; None: a static set, the same for both."""
    if set_name in ODATA_ROWS:
        return _odata_row(w, set_name, side)
    if set_name in ODATA_DIMENSIONS:
        return ODATA_DIMENSIONS[set_name](w, side)
    return None


def _odata_builders(set_name: str) -> dict[str, Builder]:
    entity_set = ENTITY_SETS[set_name]

    def first_static() -> Any:
        assert entity_set.rows is not None
        return entity_set.rows(None, lambda _t: True)[0]["id"]  # type: ignore[arg-type]

    def target(w: World, side: str) -> Any:
        found = _odata_target(w, set_name, side)
        return first_static() if found is None else found

    def static_b(w: World, side: str) -> bool:
        return side == "b" and _odata_target(w, set_name, side) is None

    def collection(w: World, side: str) -> Call:
        if static_b(w, side):
            return ("SKIP", "", None)
        return ("ODATA", f"/odata/{set_name}?$select=Id&$top=5000", target(w, side))

    def count(w: World, side: str) -> Call:
        if static_b(w, side):
            return ("SKIP", "", None)
        literal = _odata_key(entity_set, target(w, side))
        return ("ODATA-COUNT", f"/odata/{set_name}/$count?$filter=Id eq {literal}", None)

    def one(w: World, side: str) -> Call:
        if static_b(w, side):
            return ("SKIP", "", None)
        return ("GET", f"/odata/{set_name}({_odata_key(entity_set, target(w, side))})", None)

    return {"": collection, "/$count": count, "({key})": one}


for _name, _set in ENTITY_SETS.items():
    for _suffix, _builder in _odata_builders(_name).items():
        LIVE[("GET", f"/odata/{_name}{_suffix}")] = (
            ODATA_ROW_OF[_set.capability],
            "read",
            _builder,
        )


def _odata_root(path: str) -> Builder:
    def build(w: World, side: str) -> Call:
        return ("GET", path, None) if side == "a" else ("SKIP", "", None)

    return build


for _path in ("/odata/", "/odata/$metadata"):
    # Whoever reads any reporting data: exactly the dimensions row's roles.
    LIVE[("GET", _path)] = ("08:dimensions", "read", _odata_root(_path))


#: Routes about the caller themselves, or checked where they are exercised.
ELSEWHERE = {
    ("GET", "/api/v1/auth/me"): "any signed-in principal; test_sign_in.py",
    ("POST", "/api/v1/auth/sign-out"): "own session; test_sign_in.py",
    ("PUT", "/api/v1/auth/password"): "own password; test_sign_in.py",
    ("POST", "/api/v1/auth/sign-in"): "public",
    ("POST", "/api/v1/auth/system/sign-in"): "public; test_system_admins.py",
    ("PUT", "/api/v1/auth/system/tenant"): "own system session; test_tenant_picker_api.py",
    ("GET", "/api/v1/events/stream"): "row 18 read, filtered per event; test_event_stream*.py",
    ("WEBSOCKET", "/api/v1/events/ws"): "row 18 read, filtered per event; "
    "test_event_stream_scope.py, test_event_socket.py",
}


def _plan() -> list[tuple[str, str, str, str, Builder]]:
    plan = []
    for route in _api_routes():
        if not route.path.startswith(("/api/v1/", "/sim/api/", "/odata/")):
            continue
        for method in sorted(route.methods or ()):
            key = (method, route.path)
            if key in ELSEWHERE:
                continue
            entry = LIVE.get(key) or _config_route(method, route.path)
            assert entry is not None, f"{method} {route.path} is not in the RBAC matrix test"
            plan.append((method, route.path, *entry))
    for socket_route in _socket_routes():
        key = ("WEBSOCKET", socket_route.path)
        assert key in ELSEWHERE, f"WebSocket {socket_route.path} is not in the RBAC matrix test"
    return plan


def _allowed(w: World, role: str, call: Call) -> bool | None:
    method, path, body = call
    headers = w.creds[role]
    client = w.svc.client
    if method == "SKIP":
        return None
    if method in ("LIST", "LIST-KEYS"):
        response = client.get(path, headers=headers)
        if response.status_code == 403:
            return False
        assert response.status_code == 200, response.text
        items = response.json()["items"]
        if method == "LIST-KEYS":
            return any(item["ou_id"] == body for item in items)
        return any(item["id"] == body for item in items)
    if method in ("ODATA", "ODATA-COUNT"):
        response = client.get(path, headers=headers)
        if response.status_code == 403:
            return False
        assert response.status_code == 200, (role, path, response.text)
        if method == "ODATA-COUNT":
            return bool(response.text == "1")
        values: list[dict[str, Any]] = response.json()["value"]
        return any(item["Id"] == body for item in values)
    if isinstance(body, bytes):
        headers = {**headers, "Content-Type": RECORDING_TYPE}
        response = client.request(method, path, content=body, headers=headers)
    else:
        response = client.request(method, path, json=body, headers=headers)
    if response.status_code == 422 and response.json()["errors"][0]["path"] in (
        "ou_id",
        "parent_id",
    ):
        # Writing into an OU one cannot see reads as naming an unknown OU.
        assert response.json()["code"] == "unknown_reference", response.text
        return False
    assert response.status_code not in (401, 422, 500), (role, method, path, response.text)
    return response.status_code not in (403, 404)


@pytest.fixture
def world(service: Service) -> World:
    return _build(service)


def test_every_role_on_every_route_matches_the_spec(world: World) -> None:
    deviations = []
    for method, path, row, mode, build in _plan():
        for role in ROLES:
            call = build(world, "a")
            got = _allowed(world, role, call)
            if got is None:
                continue
            want = expected(role, row, mode)
            if got != want:
                deviations.append(f"{role:4} {method:6} {path} (row {row}, {mode}): got {got}")
    assert deviations == [], "\n" + "\n".join(deviations)


def test_outside_their_scope_only_the_tenant_wide_roles_get_in(world: World) -> None:
    """ou_b of tenant A, where only tenant-wide roles go; and tenant B's records, which
    only the system admin reaches."""
    deviations = []
    for method, path, row, mode, build in _plan():
        for role in ROLES:
            call = build(world, "b")
            got = _allowed(world, role, call)
            if got is None:
                continue
            reach = ("SA",) if row in ABOVE_TENANTS else TENANT_WIDE
            want = role in reach and expected(role, row, mode)
            if got != want:
                deviations.append(f"{role:4} {method:6} {path} (row {row}, {mode}): got {got}")
    assert deviations == [], "\n" + "\n".join(deviations)


def _send(w: World, call: Call, headers: dict[str, str]) -> Any:
    """A call as it is, lists as the GET they are (no judging of the answer)."""
    method, path, body = call
    if method.startswith(("LIST", "ODATA")):
        return w.svc.client.get(path, headers=headers)
    if isinstance(body, bytes):
        headers = {**headers, "Content-Type": RECORDING_TYPE}
        return w.svc.client.request(method, path, content=body, headers=headers)
    return w.svc.client.request(method, path, json=body, headers=headers)


def test_a_partner_admin_selecting_another_partners_tenant_finds_nothing(world: World) -> None:
    """10 R3: tenant B is not of the PA's partner, so inside it every route is a 404 —
    except where the PA may not act at all, refused before any tenant is looked at."""
    foreign = {**world.creds["PA"], TENANT_HEADER: "tenant-b"}
    deviations = []
    for method, path, row, mode, build in _plan():
        if row in ABOVE_TENANTS:
            continue
        call = build(world, "a")
        if call[0] == "SKIP":
            continue
        response = _send(world, call, foreign)
        want = (404, "tenant_not_found") if expected("PA", row, mode) else (403, None)
        got = (response.status_code, response.json().get("code") if want[1] else None)
        if got != want:
            deviations.append(f"PA {method:6} {path} (row {row}, {mode}): got {got}")
    assert deviations == [], "\n" + "\n".join(deviations)


def test_system_admins_name_the_tenant_they_act_in(world: World) -> None:
    """Without `X-Switchboard-Tenant`, tenant routes tell SA and PA to send it."""
    deviations = []
    for method, path, row, mode, build in _plan():
        if row in ABOVE_TENANTS:
            continue
        call = build(world, "a")
        if call[0] == "SKIP":
            continue
        for role in SYSTEM:
            headers = {k: v for k, v in world.creds[role].items() if k != TENANT_HEADER}
            response = _send(world, call, headers)
            want = 400 if expected(role, row, mode) else 403
            if response.status_code != want or (
                want == 400 and response.json()["code"] != "tenant_not_selected"
            ):
                deviations.append(f"{role} {method:6} {path}: got {response.status_code}")
    assert deviations == [], "\n" + "\n".join(deviations)


def test_only_the_row_4_roles_change_the_privacy_toggles(world: World) -> None:
    """PUT /tenant/settings is row 3, but flipping `partner_may_see_*` is row 4."""
    deviations = []
    for role in ROLES:
        settings = world.admin("GET", "/api/v1/tenant")["settings"]
        flipped = not settings["partner_may_see_customer_identifiers"]
        body = {**settings, "partner_may_see_customer_identifiers": flipped}
        got = _allowed(world, role, ("PUT", "/api/v1/tenant/settings", body))
        if got != expected(role, "4:privacy-toggles", "write"):
            deviations.append(f"{role:4} PUT /api/v1/tenant/settings (row 4, write): got {got}")
    assert deviations == [], "\n" + "\n".join(deviations)


def test_the_route_map_is_complete() -> None:
    known = {(m, r.path) for r in _api_routes() for m in (r.methods or ())}
    known |= {("WEBSOCKET", r.path) for r in _socket_routes()}
    stale = [key for key in (*LIVE, *ELSEWHERE) if key not in known]
    assert stale == [], f"the matrix names routes that no longer exist: {stale}"
