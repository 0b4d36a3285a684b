"""Customer notices on the billing calendar, delivered to a real SMTP server and a real SMS
gateway on loopback: a customer runs out of money and hears of it once per event, with
reminders before each deadline, however often the jobs run."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from sqlalchemy import select

from cloudbill.notify import customer_notices
from cloudbill.store.schema import customer, customer_notice
from cloudbill.worker import jobs

from ..helpers import new_customer
from ..notice_servers import configure, sms, smtp
from .test_arrears_lifecycle import CSS, EIP, meter_day, register, status
from .test_settlement import advance, topup

TZ = "Asia/Shanghai"
__all__ = ["sms", "smtp"]  # the fixtures, used by name


def tick(container, times: int = 2) -> None:  # type: ignore[no-untyped-def]
    """What the worker does each minute (run more than once: reruns must add nothing)."""
    for _ in range(times):
        jobs.run_due(container)
        customer_notices.run_due(container)


def kinds(container, status_: str | None = None) -> Counter[tuple[str, str]]:  # type: ignore[no-untyped-def]
    query = select(customer_notice.c.kind, customer_notice.c.channel)
    if status_:
        query = query.where(customer_notice.c.status == status_)
    with container.db.read() as conn:
        return Counter(map(tuple, conn.execute(query).all()))


def arrears_since(container, cid):  # type: ignore[no-untyped-def]
    with container.db.read() as conn:
        return conn.execute(select(customer.c.arrears_since).where(customer.c.id == cid)).scalar()


def out_of_money(container, **contact: str) -> str:  # type: ignore[no-untyped-def]
    """A customer with a cluster and its EIP whose first day costs more than it paid in."""
    cid = new_customer(container, email="ops@acme.example", **contact).id
    topup(container, cid, "1.00", "seed")
    register(container, cid, "css-1", CSS)
    register(container, cid, "eip-1", EIP, parent="css-1")
    advance(container, days=1, minutes=16)
    meter_day(container, 0)
    tick(container)
    return cid


def test_out_of_money_the_customer_hears_once_per_event(container, smtp, sms) -> None:  # type: ignore[no-untyped-def]
    configure(container, smtp, sms)
    cid = out_of_money(container, mobile="+8613800000000", timezone=TZ)
    since = arrears_since(container, cid)
    assert since is not None
    assert smtp.subjects() == ["Top-up of 1.00 USD received", "Your account acme is in arrears"]
    assert len(sms.received) == 2 and sms.received[1]["to"] == "+8613800000000"
    assert sms.headers[0]["Authorization"] == "Bearer gw-token"
    arrears_mail = smtp.messages[1]
    assert arrears_mail["To"] == "ops@acme.example"
    assert arrears_mail["From"] == "billing@cloud.example"
    local = (since + timedelta(hours=8)).strftime("%Y-%m-%d %H:%M")  # Shanghai is UTC+8
    assert f"went into arrears on {local} Asia/Shanghai" in smtp.body(1)

    # 31 days, twice a day, every job run twice: grace reminders 7/3/1 days before the freeze,
    # the freeze, release reminders, the release -- each exactly once.
    for _ in range(62):
        advance(container, hours=12)
        tick(container)
    assert (status(container, "css-1"), status(container, "eip-1")) == ("released", "released")
    assert smtp.subjects()[2:] == [
        "Your resources will be frozen in 7 days",
        "Your resources will be frozen in 3 days",
        "Your resources will be frozen in 1 day",
        "Your resources have been frozen",
        "Your frozen resources will be released in 7 days",
        "Your frozen resources will be released in 3 days",
        "Your frozen resources will be released in 1 day",
        "Your resources have been released",
    ]
    assert len(sms.received) == len(smtp.messages)
    freeze_at = (since + timedelta(days=15, hours=8)).strftime("%Y-%m-%d %H:%M")
    assert f"In 3 days, on {freeze_at} Asia/Shanghai, the grace" in smtp.body(3)
    assert "css-1" in smtp.body(5) and "eip-1" in smtp.body(5)  # one notice, both resources
    assert f"frozen in 1 day(s), on {freeze_at} Asia/Shanghai" in sms.texts()[4]

    # paying after the release: the top-up and the cleared arrears, once each
    topup(container, cid, "1000.00", "late-pay")
    tick(container, times=3)
    assert smtp.subjects()[-2:] == ["Top-up of 1000.00 USD received", "Your arrears are paid"]
    assert "paid your arrears" in smtp.body(-2)
    sent = (len(smtp.messages), len(sms.received))
    assert kinds(container, "sent")[("grace_reminder", "email")] == 3
    assert sum(kinds(container).values()) == 2 * sent[0]
    # everything again, and later: nothing new
    advance(container, days=3)
    tick(container, times=3)
    assert (len(smtp.messages), len(sms.received)) == sent


def test_a_job_that_was_down_sends_only_the_nearest_reminder(container, smtp, sms) -> None:  # type: ignore[no-untyped-def]
    configure(container, smtp, sms)
    out_of_money(container, mobile="+15550100")
    before = len(smtp.messages)
    advance(container, days=12, hours=12)  # 2.5 days before the freeze: 7 and 3 have come
    tick(container)
    assert smtp.subjects()[before:] == ["Your resources will be frozen in 3 days"]
    advance(container, days=1, hours=12)
    tick(container)
    assert smtp.subjects()[before + 1 :] == ["Your resources will be frozen in 1 day"]
