"""Balance alerts on the billing calendar: checked after every balance change, one event per
crossing, re-armed above the threshold, notices on three days in all, API and CLI.

Huawei: "sends a notification if your balance is less than or equal to your set threshold ...
for 1-3 days by SMS and email" ("Will I Receive a Notification If My Account Balance Is
Insufficient?", https://support.huaweicloud.com/eu/price-ecs/ecs_billing_11204.html)."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from cloudbill.api.app import create_app
from cloudbill.customers import service as customers
from cloudbill.kernel.errors import CloudbillError
from cloudbill.notify import alerts
from cloudbill.store.schema import outbox_event
from cloudbill.worker.jobs import run_due

from ..helpers import new_customer, snapshot
from .test_settlement import advance, hour, meter, register, topup


def alert_events(container) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    with container.db.read() as conn:
        rows = conn.execute(
            select(outbox_event.c.topic, outbox_event.c.payload)
            .where(outbox_event.c.topic.like("customer.balance_alert%"))
            .order_by(outbox_event.c.id)
        ).all()
    return [(topic, json.loads(payload)["expenditure_quota"]) for topic, payload in rows]


def configure(container, cid, enabled=True, threshold="50.00"):  # type: ignore[no-untyped-def]
    return container.write(
        lambda conn, now: alerts.configure(conn, cid, enabled=enabled, threshold=threshold, now=now)
    )


def withdraw(container, cid, amount, ref):  # type: ignore[no-untyped-def]
    container.write(lambda conn, now: customers.withdraw(conn, cid, amount, reference=ref, now=now))


def test_fires_once_per_crossing_and_rearms(container) -> None:  # type: ignore[no-untyped-def]
    customer = new_customer(container)
    topup(container, customer.id, "100.00", "t1")
    configure(container, customer.id)
    assert alert_events(container) == []
    withdraw(container, customer.id, "60.00", "w1")  # 40 < 50: fires
    withdraw(container, customer.id, "10.00", "w2")  # still below: silent
    assert alert_events(container) == [("customer.balance_alert", "40.00")]
    topup(container, customer.id, "25.00", "t2")  # 55: re-armed
    assert container.read(lambda conn, _now: alerts.get(conn, customer.id)).armed
    withdraw(container, customer.id, "10.00", "w3")  # 45: fires again
    assert alert_events(container)[-1] == ("customer.balance_alert", "45.00")
    assert len(alert_events(container)) == 2


def test_switched_off_it_says_nothing(container) -> None:  # type: ignore[no-untyped-def]
    customer = new_customer(container)
    topup(container, customer.id, "100.00", "t1")
    configure(container, customer.id)
    configure(container, customer.id, enabled=False, threshold=None)
    withdraw(container, customer.id, "90.00", "w1")
    assert alert_events(container) == []


def test_hourly_fees_trigger_it_and_reminders_follow_daily(container) -> None:  # type: ignore[no-untyped-def]
    customer = new_customer(container)
    topup(container, customer.id, "0.10", "t1")
    register(container, customer.id, "vm-1")
    configure(container, customer.id, threshold="0.05")
    meter(container, ("r1", "vm-1", "duration", "1", hour(7), hour(8), "h"))  # 0.0781
    run_due(container)
    assert [t for t, _ in alert_events(container)] == ["customer.balance_alert"]
    for _day in range(1, 6):
        advance(container, days=1)
        run_due(container)
    topics = [t for t, _ in alert_events(container)]
    # told on three days in all: the day of the crossing, then two reminders; then silence
    assert topics == ["customer.balance_alert"] + ["customer.balance_alert_reminder"] * 2
    run_due(container)
    assert len(alert_events(container)) == 3  # reruns change nothing


def test_bad_settings_change_nothing(container) -> None:  # type: ignore[no-untyped-def]
    customer = new_customer(container)
    before = snapshot(container)
    for threshold, enabled in (("-1", True), ("1.001", True), (1.5, True), (None, True)):
        with pytest.raises(CloudbillError):
            configure(container, customer.id, enabled=enabled, threshold=threshold)
    with pytest.raises(CloudbillError):
        configure(container, "nobody")
    assert snapshot(container) == before


def test_api_sets_and_shows_the_alert(container) -> None:  # type: ignore[no-untyped-def]
    customer = new_customer(container)
    api = TestClient(create_app(container), headers={"Authorization": "Bearer test-token"})
    url = f"/operator/v1/customers/{customer.id}/balance-alert"
    assert api.get(url).json()["enabled"] is False
    answer = api.put(url, json={"enabled": True, "threshold": "20.00"})
    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "customer_id": customer.id,
        "enabled": True,
        "threshold": "20.00",
        "armed": False,
        "fired_at": answer.json()["fired_at"],
        "reminders_sent": 0,
    }  # the quota (0.00) is already below: it fired at once
    assert alert_events(container) == [("customer.balance_alert", "0.00")]
    assert api.put(url, json={"enabled": "yes"}).status_code == 400
    assert api.put(url, json={"enabled": True, "threshold": 5.5}).status_code == 400
    assert (
        api.put(
            "/operator/v1/customers/nobody/balance-alert", json={"enabled": True, "threshold": "1"}
        ).status_code
        == 404
    )


def test_at_the_threshold_it_fires_and_only_above_it_rearms(container) -> None:  # type: ignore[no-untyped-def]
    """Huawei: "less than or equal to your set threshold"."""
    customer = new_customer(container)
    topup(container, customer.id, "100.00", "t1")
    configure(container, customer.id)
    withdraw(container, customer.id, "50.00", "w1")  # exactly 50: fires
    assert alert_events(container) == [("customer.balance_alert", "50.00")]
    withdraw(container, customer.id, "10.00", "w2")
    topup(container, customer.id, "10.00", "t2")  # back to 50, not above: still silent
    assert not container.read(lambda conn, _now: alerts.get(conn, customer.id)).armed
    topup(container, customer.id, "0.01", "t3")  # above: re-armed
    assert container.read(lambda conn, _now: alerts.get(conn, customer.id)).armed
    withdraw(container, customer.id, "0.01", "w3")  # at it again: the second crossing
    assert [t for t, _ in alert_events(container)] == ["customer.balance_alert"] * 2
