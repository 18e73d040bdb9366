"""Liveness, readiness and Prometheus metrics: for orchestrators and operators."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Gauge, generate_latest

from switchboard.api.tenancy import Tenancy

router = APIRouter(tags=["System"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is alive (it answers)."""
    return {"status": "ok"}


@router.get(
    "/readyz",
    responses={503: {"description": "Not ready yet", "content": {"application/json": {}}}},
)
async def readyz(request: Request, response: Response) -> dict[str, object]:
    """Every tenant is restored and its writer is taking work: safe to send traffic.

    Not ready while starting, and while a tenant rebuilds its engine from the
    journal after a failed write (`recovering` lists those tenants).
    """
    tenancy: Tenancy = request.app.state.tenancy
    ready = tenancy.ready
    recovering = sorted(t for t, host in tenancy.hosts.items() if host.recovering)
    response.status_code = 200 if ready else 503
    status = "ready" if ready else "recovering" if recovering else "starting"
    body: dict[str, object] = {"status": status, "tenants": len(tenancy.hosts)}
    if recovering:
        body["recovering"] = recovering
    return body


@router.get("/metrics", response_class=PlainTextResponse)
async def metrics(request: Request) -> Response:
    """Per-tenant gauges read from live state; no customer data (10 TI4)."""
    tenancy: Tenancy = request.app.state.tenancy
    registry = CollectorRegistry()
    labels = ["tenant"]
    waiting = Gauge(
        "switchboard_tasks_waiting", "Tasks queued or offered", labels, registry=registry
    )
    offers = Gauge("switchboard_offers_total", "Offers made since start", labels, registry=registry)
    decisions = Gauge(
        "switchboard_decisions_total", "Dispatch decisions since start", labels, registry=registry
    )
    recoveries = Gauge(
        "switchboard_sweeper_recoveries_total",
        "Offers only the safety-net sweeper found (each one is a defect)",
        labels,
        registry=registry,
    )
    lag = Gauge(
        "switchboard_journal_lag_events",
        "Events applied but not yet journaled",
        labels,
        registry=registry,
    )
    commits = Gauge(
        "switchboard_journal_commits_total",
        "Journal transactions since start",
        labels,
        registry=registry,
    )
    journal_failures = Gauge(
        "switchboard_journal_failures_total",
        "Journal appends that failed since start (their requests were refused)",
        labels,
        registry=registry,
    )
    journal_recoveries = Gauge(
        "switchboard_journal_recoveries_total",
        "Engines rebuilt from the journal after a failed append, since start",
        labels,
        registry=registry,
    )
    recovering = Gauge(
        "switchboard_tenant_recovering",
        "1 while the tenant rebuilds its engine from the journal and takes no work",
        labels,
        registry=registry,
    )
    for tenant_id, host in tenancy.hosts.items():
        state = host.engine.state
        waiting.labels(tenant_id).set(sum(state.waiting_counts.values()))
        m = host.engine.metrics
        offers.labels(tenant_id).set(m.offers)
        decisions.labels(tenant_id).set(m.decisions)
        recoveries.labels(tenant_id).set(m.sweeper_recoveries)
        lag.labels(tenant_id).set(host.stats.journal_lag)
        commits.labels(tenant_id).set(host.stats.batches)
        journal_failures.labels(tenant_id).set(host.stats.journal_failures)
        journal_recoveries.labels(tenant_id).set(host.stats.recoveries)
        recovering.labels(tenant_id).set(int(host.recovering))
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
