"""Reports in the UI: the figures are `reporting.kpis`, the scope is 08 §7, the CSV is RFC 4180.

The demo tenant gets a few days of simulated history (the real engine, the
voice simulator, the projection), read by people with different rights: the
tenant admin, the supervisor of Customer service (service and user supervisor
of its OU), Lena (owner of Sales) and Jon (an agent of Sales).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import lxml.html
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import and_, insert, select, update
from web_harness import ORIGIN, Demo, Person, make_tenancy

from switchboard.api.demo import DEMO_TENANT_ID, ensure_demo
from switchboard.api.demo_history import HistoryPlan
from switchboard.reporting.kpis import Period, service_kpis, user_kpis
from switchboard.store.database import transaction
from switchboard.store.schema import (
    report_service_sessions,
    report_unified_sessions,
    report_user_sessions,
)
from switchboard.web.app import create_app
from switchboard.web.dashboards import PERIODS, seconds_text, span_of
from switchboard.web.templating import percent

HISTORY = HistoryPlan(days=4, calls_per_weekday=90, chats_per_weekday=8, seed=3)
ZONE = "Europe/Zurich"
SERVICE_OU = {"svc-front", "svc-support", "svc-ivr"}  # the supervisor's OU


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    tmp_path = tmp_path_factory.mktemp("dashboards")
    tenancy = make_tenancy(tmp_path)
    info = ensure_demo(tenancy, history=HISTORY)
    with TestClient(create_app(tenancy=tenancy), base_url=ORIGIN) as client:
        yield Demo(client, tenancy, info)


@pytest.fixture(scope="module")
def people(demo: Demo) -> dict[str, Person]:
    return {name: demo.sign_in(name) for name in ("admin", "supervisor", "lena", "jon")}


# ---------------------------------------------------------------------- reading pages


def _doc(answer: httpx.Response) -> Any:
    assert answer.status_code == 200, answer.text[:500]
    return lxml.html.fromstring(answer.text)


def _id(doc: Any, name: str) -> list[Any]:
    found: list[Any] = doc.xpath(f"//*[@id='{name}']")
    return found


def _tiles(doc: Any) -> dict[str, str]:
    return {e.get("data-kpi"): e.text_content().strip() for e in doc.xpath("//*[@data-kpi]")}


def _period(doc: Any) -> Period:
    (section,) = _id(doc, "dash-figures")
    return Period(
        datetime.fromisoformat(section.get("data-start")),
        datetime.fromisoformat(section.get("data-end")),
    )


def _table(doc: Any, chart_id: str) -> list[list[str]]:
    return [
        [cell.text_content().strip() for cell in row]
        for row in doc.xpath(f"//*[@id='{chart_id}']//details//tbody/tr")
    ]


def _csv(answer: httpx.Response) -> list[dict[str, str]]:
    assert answer.status_code == 200, answer.text[:500]
    return list(csv.DictReader(io.StringIO(answer.text, newline="")))


def _service_ids(demo: Demo, period: Period, services: set[str] | None = None) -> set[str]:
    s = report_service_sessions.c
    where = [s.tenant_id == DEMO_TENANT_ID, s.started_at >= period.start, s.started_at < period.end]
    if services is not None:
        where.append(s.service_id.in_(sorted(services)))
    with transaction(demo.tenancy.db, DEMO_TENANT_ID) as connection:
        return set(connection.execute(select(s.id).where(and_(*where))).scalars())


# ---------------------------------------------------------------------- the figures


@pytest.mark.parametrize("period", list(PERIODS))
def test_the_service_tiles_and_charts_are_the_kpis_of_the_period(
    demo: Demo, people: dict[str, Person], period: str
) -> None:
    before = datetime.now(UTC)
    doc = _doc(demo.get(f"/reports/services?period={period}", people["admin"]))
    after = datetime.now(UTC)
    shown = _period(doc)
    spans = [span_of(period, at, ZONE) for at in (before, after)]
    span = next(s for s in spans if s.period == shown)  # the page's: the hour may turn
    kpis = service_kpis(demo.tenancy.db, DEMO_TENANT_ID, shown)  # inbound, as the page
    assert _tiles(doc) == {
        "tasks": f"{kpis.tasks:,}",
        "handled_by_user": f"{kpis.handled_by_user:,}",
        "queue_hangups": f"{kpis.queue_hangups:,}",
        "service_level": percent(kpis.service_level),
        "asa_s": seconds_text(kpis.asa_s),
        "queue_abandon_rate": percent(kpis.queue_abandon_rate),
        "aht_s": seconds_text(kpis.aht_s),
        "reachability": percent(kpis.reachability),
    }
    if period in ("7d", "30d"):  # the whole history (it ends yesterday; maybe a weekend)
        assert kpis.tasks > 50
    volume = _table(doc, "chart-volume")
    levels = _table(doc, "chart-sl")
    answers = _table(doc, "chart-asa")
    assert len(volume) == len(levels) == len(span.buckets)
    for bucket, bars, level, answer in zip(span.buckets, volume, levels, answers, strict=True):
        expected = service_kpis(demo.tenancy.db, DEMO_TENANT_ID, bucket)
        assert int(bars[-1].replace(",", "")) == expected.tasks
        assert level[1] == percent(expected.service_level)
        assert answer[1] == seconds_text(expected.asa_s)
    outcomes = {row[0]: int(row[1].replace(",", "")) for row in _table(doc, "chart-outcomes")}
    assert sum(outcomes.values()) == kpis.tasks
    assert outcomes["Handled by an agent"] == kpis.handled_by_user


def test_a_service_and_a_direction_narrow_the_figures(
    demo: Demo, people: dict[str, Person]
) -> None:
    doc = _doc(
        demo.get(
            "/reports/services?period=7d&service=svc-sales&direction=all&modality=chat",
            people["admin"],
        )
    )
    kpis = service_kpis(
        demo.tenancy.db,
        DEMO_TENANT_ID,
        _period(doc),
        service_ids=["svc-sales"],
        direction=None,
        modality="chat",
    )
    assert kpis.tasks > 0
    assert _tiles(doc)["tasks"] == f"{kpis.tasks:,}"
    assert _tiles(doc)["service_level"] == percent(kpis.service_level)


def test_a_users_tiles_are_their_kpis(demo: Demo, people: dict[str, Person]) -> None:
    doc = _doc(demo.get("/reports/users/user-chloe?period=7d", people["supervisor"]))
    mine = user_kpis(demo.tenancy.db, DEMO_TENANT_ID, _period(doc), user_ids=["user-chloe"])
    assert mine.offered > 0
    tiles = _tiles(doc)
    assert tiles["offered"] == f"{mine.offered:,}"
    assert tiles["accepted"] == f"{mine.accepted:,}"
    assert tiles["missed"] == f"{mine.missed:,}"
    assert tiles["mean_connected_s"] == seconds_text(mine.mean_connected_s)
    assert tiles["mean_acw_s"] == seconds_text(mine.mean_acw_s)
    states = _table(doc, "chart-user-states")  # Sam supervises Chloé's OU: states shown
    assert states and all(row[1] for row in states)


# ---------------------------------------------------------------------- who sees what


def test_the_supervisor_reads_the_services_of_their_ou_only(
    demo: Demo, people: dict[str, Person]
) -> None:
    sam = people["supervisor"]
    doc = _doc(demo.get("/reports/services?period=7d", sam))
    offered = {
        i.get("value") for i in doc.xpath("//*[@id='report-controls']//input[@name='service']")
    }
    assert offered == SERVICE_OU
    period = _period(doc)
    kpis = service_kpis(demo.tenancy.db, DEMO_TENANT_ID, period, service_ids=SERVICE_OU)
    assert _tiles(doc)["tasks"] == f"{kpis.tasks:,}"
    assert demo.get("/reports/services?period=7d&service=svc-sales", sam).status_code == 404
    assert demo.get("/reports/sessions.csv?period=7d&service=svc-sales", sam).status_code == 404
    listed = _csv(demo.get("/reports/sessions.csv?period=7d&direction=all", sam))
    assert {r["Id"] for r in listed} == _service_ids(demo, period, SERVICE_OU)
    assert "svc-sales" not in {r["ServiceId"] for r in listed}
    # …and the users of their OU, with their state times; not Sales' agents.
    assert demo.get("/reports/users/user-chloe?period=7d", sam).status_code == 200
    assert demo.get("/reports/users/user-jon?period=7d", sam).status_code == 404


def test_an_owner_reads_their_own_service_only(demo: Demo, people: dict[str, Person]) -> None:
    lena = people["lena"]
    doc = _doc(demo.get("/reports/services?period=7d&direction=all", lena))
    offered = {
        i.get("value") for i in doc.xpath("//*[@id='report-controls']//input[@name='service']")
    }
    assert offered == {"svc-sales"}
    listed = _csv(demo.get("/reports/sessions.csv?period=7d&direction=all", lena))
    assert listed and {r["ServiceId"] for r in listed} == {"svc-sales"}
    assert demo.get("/reports/services?service=svc-support", lena).status_code == 404
    assert demo.get("/ui/reports/sessions?list_service=svc-support", lena).status_code == 404
    # Jon's work, as far as it is in Sales; no state times (those are a user supervisor's).
    jon = _doc(demo.get("/reports/users/user-jon?period=7d", lena))
    mine = user_kpis(
        demo.tenancy.db,
        DEMO_TENANT_ID,
        _period(jon),
        user_ids=["user-jon"],
        service_ids=["svc-sales"],
    )
    assert _tiles(jon)["offered"] == f"{mine.offered:,}"
    assert not _id(jon, "chart-user-states")
    assert demo.get("/reports/users/user-chloe", lena).status_code == 404  # support only


def test_an_agent_reads_their_own_figures_and_sessions_only(
    demo: Demo, people: dict[str, Person]
) -> None:
    jon = people["jon"]
    home = demo.get("/reports", jon)
    assert home.status_code == 303 and home.headers["location"] == "/reports/users"
    doc = _doc(demo.get("/reports/users?period=7d", jon))
    assert "Jon Berg" in _id(doc, "span-title")[0].text_content()
    assert _id(doc, "chart-user-states")  # their own state timeline (08 §7)
    assert not _id(doc, "f-user")  # nobody else to choose
    for path in ("/reports/services", "/ui/reports/sessions", "/reports/sessions.csv"):
        answer = demo.get(path, jon)
        assert answer.status_code == 403, path
        assert "role" in answer.text  # the sentence says why
    assert demo.get("/reports/users/user-chloe", jon).status_code == 404
    assert demo.get("/reports/users/user-chloe/sessions.csv", jon).status_code == 404
    listed = _csv(demo.get("/reports/users/user-jon/sessions.csv?period=7d", jon))
    assert listed
    u = report_user_sessions.c
    with transaction(demo.tenancy.db, DEMO_TENANT_ID) as connection:
        his = set(
            connection.execute(
                select(u.service_session_id).where(
                    and_(u.tenant_id == DEMO_TENANT_ID, u.user_id == "user-jon")
                )
            ).scalars()
        )
    assert {r["Id"] for r in listed} <= his


def test_the_tenant_admin_reads_users_work_but_not_their_states(
    demo: Demo, people: dict[str, Person]
) -> None:
    doc = _doc(demo.get("/reports/users/user-chloe?period=7d", people["admin"]))
    assert not _id(doc, "chart-user-states")  # 08 PM4
    assert "Time by state is shown to the person" in doc.text_content()


def test_reports_are_in_the_navigation_of_those_who_may_read_them(
    demo: Demo, people: dict[str, Person]
) -> None:
    for name in ("admin", "supervisor", "lena", "jon"):
        page = demo.get("/reports/users", people[name]).text
        assert '<a href="/reports" aria-current="page">Reports</a>' in page, name


def test_another_tenants_sessions_never_appear(demo: Demo, people: dict[str, Person]) -> None:
    other = demo.tenancy.tenants.create("Another contact centre").id
    yesterday = datetime.now(UTC) - timedelta(days=1)
    s = report_service_sessions.c
    with transaction(demo.tenancy.db, DEMO_TENANT_ID) as connection:
        template = dict(
            connection.execute(
                select(report_service_sessions)
                .where(s.tenant_id == DEMO_TENANT_ID, s.service_id == "svc-support")
                .limit(1)
            )
            .mappings()
            .one()
        )
    foreign = {
        **template,
        "tenant_id": other,
        "id": "99999999-9999-4999-8999-999999999999",
        "started_at": yesterday,
        "ended_at": yesterday + timedelta(minutes=3),
    }
    with transaction(demo.tenancy.db, other, write=True) as connection:
        connection.execute(insert(report_service_sessions), [foreign])
    admin = people["admin"]
    listed = _csv(demo.get("/reports/sessions.csv?period=7d&direction=all", admin))
    assert foreign["id"] not in {r["Id"] for r in listed}
    page = demo.get("/ui/reports/sessions?period=7d&direction=all&page=1", admin).text
    assert foreign["id"] not in page


# ---------------------------------------------------------------------- the list and its CSV


def test_the_list_pages_newest_first_and_the_csv_holds_every_filtered_row(
    demo: Demo, people: dict[str, Person]
) -> None:
    admin = people["admin"]
    query = "period=7d&direction=inbound&outcome_group=3"
    first = lxml.html.fromstring(demo.get(f"/ui/reports/sessions?{query}", admin).text)
    total = int(re.sub(r"\D", "", first.xpath("//*[@class='list-count']/strong")[0].text_content()))
    listed = _csv(demo.get(f"/reports/sessions.csv?{query}", admin))
    assert len(listed) == total > 0
    assert {r["OutcomeGroup"] for r in listed} == {"hangup_by_customer"}
    assert {r["Direction"] for r in listed} == {"inbound"}
    starts = [r["StartedAt"] for r in listed]
    assert starts == sorted(starts, reverse=True)
    # The customer-hung-up count is the outcome chart's (the KPIs' counts).
    doc = _doc(demo.get("/reports/services?period=7d", admin))
    outcomes = {row[0]: int(row[1].replace(",", "")) for row in _table(doc, "chart-outcomes")}
    assert outcomes["Customer hung up"] == total
    # Paging: 50 a page, the pages joined are the CSV's rows in its order.
    ids: list[str] = []
    page_no = 1
    while True:
        doc = lxml.html.fromstring(
            demo.get(f"/ui/reports/sessions?{query}&page={page_no}", admin).text
        )
        rows = [r.get("data-session") for r in doc.xpath("//*[@id='sessions-list']//tbody/tr")]
        assert len(rows) <= 50
        ids += rows
        if not doc.xpath(
            f"//nav[@class='pager']//a[substring-after(@href, 'page=')='{page_no + 1}']"
        ):
            break
        page_no += 1
    assert ids == [r["Id"] for r in listed]
    # An agent and a customer narrow it.
    everything = _csv(demo.get("/reports/sessions.csv?period=7d", admin))
    agent = next(r["LastUserId"] for r in everything if r["LastUserId"])
    mine = _csv(demo.get(f"/reports/sessions.csv?period=7d&user={agent}", admin))
    us = report_user_sessions.c
    with transaction(demo.tenancy.db, DEMO_TENANT_ID) as connection:
        theirs = set(
            connection.execute(
                select(us.service_session_id).where(
                    and_(us.tenant_id == DEMO_TENANT_ID, us.user_id == agent)
                )
            ).scalars()
        )
    assert mine and {r["Id"] for r in mine} == theirs & {r["Id"] for r in everything}
    caller = listed[0]["CallerId"].lstrip("'")
    found = _csv(demo.get(f"/reports/sessions.csv?period=7d&customer={caller[-5:]}", admin))
    assert found and all(caller[-5:] in r["CallerId"] for r in found)


def test_the_csv_is_rfc_4180_with_a_named_file_and_guarded_cells(
    demo: Demo, people: dict[str, Person]
) -> None:
    admin = people["admin"]
    listed = _csv(demo.get("/reports/sessions.csv?period=7d&service=svc-support", admin))
    target = listed[0]["UnifiedSessionId"]
    tricky = '=HYPERLINK("http://x"), "quoted"\nsecond line'
    u = report_unified_sessions.c
    with transaction(demo.tenancy.db, DEMO_TENANT_ID, write=True) as connection:
        connection.execute(
            update(report_unified_sessions)
            .where(u.tenant_id == DEMO_TENANT_ID, u.id == target)
            .values(customer_identifier=tricky)
        )
    answer = demo.get(
        "/reports/sessions.csv?period=7d&service=svc-support&customer=hyperlink&bom=true", admin
    )
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/csv; charset=utf-8")
    disposition = answer.headers["content-disposition"]
    assert re.fullmatch(
        r'attachment; filename="sessions-services-7d-\d{4}-\d{2}-\d{2}_to_\d{4}-\d{2}-\d{2}\.csv"',
        disposition,
    )
    raw = answer.content.decode("utf-8")
    assert raw.startswith("\ufeffId,StartedAt,EndedAt,ServiceId,")
    assert raw.endswith("\r\n")
    assert '"\'=HYPERLINK(""http://x""), ""quoted""\nsecond line"' in raw
    (row,) = list(csv.DictReader(io.StringIO(raw.removeprefix("\ufeff"), newline="")))
    assert row["CustomerIdentifier"] == "'" + tricky
    assert row["CallerId"].startswith("'+")  # a number starting with + is guarded too (CX3)
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z", row["StartedAt"])
    assert re.fullmatch(r"\d+\.\d{3}", row["ConnectedSeconds"])


def test_wrong_filters_are_refused_by_name(demo: Demo, people: dict[str, Person]) -> None:
    admin = people["admin"]
    for query, field in (
        ("period=yesterday", "period"),
        ("period=7d&direction=sideways", "direction"),
        ("period=7d&outcome_group=9", "outcome_group"),
        ("period=7d&page=0", "page"),
    ):
        answer = demo.get(f"/reports/services?{query}", admin)
        assert answer.status_code == 400, query
        assert f"{field} must be" in answer.text, query
    assert demo.get("/reports/services?service=svc-nope", admin).status_code == 404
    assert demo.get("/reports/users/user-nope", admin).status_code == 404


def test_the_figures_refresh_themselves_without_reading_the_list_again(
    demo: Demo, people: dict[str, Person]
) -> None:
    admin = people["admin"]
    # 7 days: the same figures a moment later (48 hours move on at every full hour).
    doc = _doc(demo.get("/reports/services?period=7d", admin))
    (section,) = _id(doc, "dash-figures")
    assert section.get("hx-trigger") == "every 60s"
    assert section.get("hx-select") == "#dash-figures"
    refresh = section.get("hx-get")
    assert refresh.endswith("&part=figures")
    again = _doc(demo.get(refresh, admin, htmx=True))
    assert _tiles(again) == _tiles(doc)
    assert not again.xpath("//*[@id='sessions-list']//tbody/tr")
    assert doc.xpath("//*[@id='sessions-list']//tbody/tr")
