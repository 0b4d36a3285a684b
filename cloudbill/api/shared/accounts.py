"""One customer's account: profile, overview, balance history, post-paid bills, balance alert."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ...bootstrap import Container
from ...customers import service
from ...notify import alerts
from ...postpaid import service as postpaid
from ...views import alert_view, customer_view, history_view, overview_view, postpaid_bill_view
from ..operator.schemas import Amount


class BalanceAlertBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(strict=True)
    threshold: Amount = Field(None, description="alert when the expenditure quota drops below")


def profile(c: Container, customer_id: str) -> dict[str, Any]:
    def work(conn, _now):  # type: ignore[no-untyped-def]
        customer = service.get(conn, customer_id)
        return customer_view(customer, service.overview(conn, customer))

    return c.read(work)


def overview(c: Container, customer_id: str) -> dict[str, Any]:
    return c.read(
        lambda conn, now: overview_view(
            service.overview(conn, service.get(conn, customer_id), now, with_hold=True)
        )
    )


def postpaid_bills(c: Container, customer_id: str) -> dict[str, Any]:
    def read(conn, now):  # type: ignore[no-untyped-def]
        customer = service.get(conn, customer_id)
        bills = postpaid.views(conn, customer.id, now=now)
        return {"customer_id": customer.id, "bills": [postpaid_bill_view(b) for b in bills]}

    return c.read(read)


def history(c: Container, customer_id: str, *, limit: int, offset: int) -> dict[str, Any]:
    rows, total = c.read(
        lambda conn, _now: service.history(conn, customer_id, limit=limit, offset=offset)
    )
    return {"total": total, "items": [history_view(r) for r in rows]}


def show_alert(c: Container, customer_id: str) -> dict[str, Any]:
    def work(conn, _now):  # type: ignore[no-untyped-def]
        return alert_view(alerts.get(conn, customer_id), service.get(conn, customer_id).currency)

    return c.read(work)


def set_alert(c: Container, customer_id: str, body: BalanceAlertBody) -> dict[str, Any]:
    def work(conn, now):  # type: ignore[no-untyped-def]
        state = alerts.configure(
            conn, customer_id, enabled=body.enabled, threshold=body.threshold, now=now
        )
        return alert_view(state, service.get(conn, customer_id).currency)

    return c.write(work)
