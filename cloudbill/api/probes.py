"""Probes and metrics of a running server: `/health` (the process answers), `/ready` (the
database answers and settlement keeps up), `/metrics` (Prometheus text: the process's counters
and the database's figures at this moment). None of them needs a token or shows a customer."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import REGISTRY, CollectorRegistry, Gauge, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from sqlalchemy import text

from .. import __version__
from ..bootstrap import Container
from ..observe import logs
from ..worker import health

router = APIRouter(tags=["health"])
log = logs.get("cloudbill.probes")


def _container(request: Request) -> Container:
    return request.app.state.container


@router.get("/health")
def alive() -> dict[str, str]:
    return {"status": "ok", "version": __version__}


@router.get("/ready", responses={503: {"description": "not ready: see `checks`"}})
def ready(request: Request) -> Any:
    """Ready when the database answers and, unless CLOUDBILL_READY_MAX_LAG_S is 0, the oldest
    due hour is settled within that many seconds of its due time (a worker keeps up)."""
    c = _container(request)
    limit = c.settings.ready_max_lag_s
    checks: dict[str, Any] = {}
    try:
        lag = c.read(lambda conn, now: _probe(conn, c, now))
        checks["database"] = "ok"
        checks["settlement_lag_s"] = lag.settlement_lag_s
        checks["settlement"] = "ok" if not limit or lag.settlement_lag_s <= limit else "behind"
    except Exception as exc:  # the probe reports the fault rather than raising it
        log.warning("readiness check failed", error=str(exc))
        checks["database"] = f"unreachable: {type(exc).__name__}"
    ok = checks.get("database") == "ok" and checks.get("settlement") == "ok"
    body = {"status": "ready" if ok else "not ready", "checks": checks}
    return body if ok else JSONResponse(status_code=503, content=body)


def _probe(conn, c: Container, now):  # type: ignore[no-untyped-def]
    conn.execute(text("SELECT 1"))
    return health.lag(conn, c.settings, now=now)


def _database_gauges(c: Container) -> CollectorRegistry:
    gauges = CollectorRegistry()
    up = Gauge("cloudbill_database_up", "1 when the database answered this scrape", registry=gauges)
    try:
        f = c.read(lambda conn, now: health.figures(conn, c.settings, now=now))
    except Exception as exc:  # the process's counters are still worth a scrape
        log.warning("metrics: the database did not answer", error=str(exc))
        up.set(0)
        return gauges
    up.set(1)
    hour = f.lag.oldest_unsettled_hour
    for name, doc, value in (
        ("cloudbill_settlement_lag_seconds", "How long the oldest due hour waits to be settled",
         f.lag.settlement_lag_s),
        ("cloudbill_oldest_unsettled_hour_timestamp_seconds",
         "Start of the oldest due hour not settled yet (0: none)",
         hour.timestamp() if hour else 0),
        ("cloudbill_webhook_backlog", "Provider events not delivered yet", f.webhook_backlog),
        ("cloudbill_webhooks_dead", "Provider events given up on", f.webhooks_dead),
        ("cloudbill_notices_pending", "Customer notices waiting to be sent", f.notices_pending),
        ("cloudbill_notices_dead", "Customer notices given up on", f.notices_dead),
        ("cloudbill_customers_in_arrears", "Customers in arrears", f.customers_in_arrears),
        ("cloudbill_settlement_held_customers",
         "Customers settlement set aside: their hours wait until the cause is mended",
         f.customers_held),
    ):  # fmt: skip
        Gauge(name, doc, registry=gauges).set(value)
    return gauges


@router.get("/metrics", response_class=Response)
def metrics(request: Request) -> Response:
    """Prometheus exposition: counters of this process, gauges read from the database."""
    body = generate_latest(REGISTRY) + generate_latest(_database_gauges(_container(request)))
    return Response(body, media_type=CONTENT_TYPE_LATEST)
