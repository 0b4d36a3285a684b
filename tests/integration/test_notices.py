"""Customer notices against a real SMTP server and a real SMS gateway on loopback: retries with
backoff, dead notices and their revival, operator templates (overridden, broken), customers
without an address, the claim that keeps two workers from sending one notice twice, and the
operator API."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from cloudbill.api.app import create_app
from cloudbill.customers import service as customers
from cloudbill.kernel.errors import CloudbillError, ErrorCode
from cloudbill.notify import customer_notices
from cloudbill.notify.notices import delivery, operator
from cloudbill.store import clock_repo
from cloudbill.store.schema import customer_notice, outbox_event

from ..helpers import new_customer, snapshot
from ..notice_servers import configure, free_port, sms, smtp

AUTH = {"Authorization": "Bearer test-token"}
__all__ = ["sms", "smtp"]  # the fixtures, used by name


def advance(container, **delta):  # type: ignore[no-untyped-def]
    """Time passes for billing and for the outside world (retries wait on the wall clock)."""
    container.write(lambda conn, _now: clock_repo.advance(conn, timedelta(**delta)))
    container.wall.advance(timedelta(**delta))


def topup(container, cid: str, amount: str = "25.50", ref: str = "r1") -> None:  # type: ignore[no-untyped-def]
    container.write(lambda conn, now: customers.topup(conn, cid, amount, reference=ref, now=now))


def notices(container) -> list:  # type: ignore[no-untyped-def]
    with container.db.read() as conn:
        return conn.execute(select(customer_notice).order_by(customer_notice.c.id)).all()


def by_channel(container, channel: str):  # type: ignore[no-untyped-def]
    (row,) = [n for n in notices(container) if n.channel == channel]
    return row


def acme(container, **kwargs: object) -> str:  # type: ignore[no-untyped-def]
    fields = {"email": "ops@acme.example", "mobile": "+15550100"} | kwargs
    return new_customer(container, **fields).id


def test_smtp_down_is_retried_then_dead_then_revived(container, smtp, sms) -> None:  # type: ignore[no-untyped-def]
    configure(container, smtp, sms, smtp_port=free_port())  # nothing listens there
    cid = acme(container)
    topup(container, cid)
    report = customer_notices.run_due(container)
    assert (report.events_read, report.enqueued) == (1, 2)
    assert (report.delivery.sent, report.delivery.failed) == (1, 1)  # the SMS went
    assert sms.texts() == ["acme: top-up of 25.50 USD received on 2026-03-16 09:00 UTC."]
    mail = by_channel(container, "email")
    assert (mail.status, mail.attempts) == ("pending", 1)
    assert "ConnectionRefusedError" in mail.last_error
    assert mail.next_attempt_at == container.wall.now() + timedelta(seconds=60)  # wall clock
    assert customer_notices.run_due(container).delivery == delivery.DeliveryReport()  # backoff
    advance(container, seconds=60)
    assert customer_notices.run_due(container).delivery.failed == 1
    advance(container, seconds=119)
    assert customer_notices.run_due(container).delivery.failed == 0  # 120 s the second time
    advance(container, seconds=1)
    assert customer_notices.run_due(container).delivery.dead == 1
    mail = by_channel(container, "email")
    log = container.read(lambda conn, _now: operator.attempts(conn, mail.id))
    assert (mail.status, [a.attempt for a in log]) == ("dead", [1, 2, 3])
    assert all("ConnectionRefusedError" in a.error for a in log)
    # the server is back; the operator retries the dead notice: sent once, never again
    configure(container, smtp, sms)
    container.write(lambda conn, now: operator.retry(conn, mail.id, container.settings, now=now))
    assert customer_notices.run_due(container).delivery.sent == 1
    assert smtp.subjects() == ["Top-up of 25.50 USD received"]
    assert smtp.messages[0]["Message-ID"] == f"<notice-{mail.id}@cloud.example>"
    advance(container, days=1)
    customer_notices.run_due(container)
    assert len(smtp.messages) == 1 and len(sms.received) == 1
    assert by_channel(container, "email").status == "sent"


def test_a_temporary_smtp_refusal_is_retried(container, smtp, sms) -> None:  # type: ignore[no-untyped-def]
    configure(container, smtp, sms)
    smtp.script = ["451 4.3.0 try again later"]
    sms.script = [503]
    topup(container, acme(container))
    assert customer_notices.run_due(container).delivery.failed == 2
    assert "451" in by_channel(container, "email").last_error
    assert by_channel(container, "sms").last_error == "HTTP 503"
    advance(container, minutes=1)
    assert customer_notices.run_due(container).delivery.sent == 2
    assert len(smtp.messages) == 1 and len(sms.received) == 1


def test_operator_templates_replace_the_defaults(container, smtp, sms, tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "topup_received.subject.j2").write_text("Payment of {{ amount }} booked")
    (tmp_path / "topup_received.sms.j2").write_text("{{ customer.name }} paid {{ amount }}")
    configure(container, smtp, sms, notice_templates_dir=str(tmp_path))
    topup(container, acme(container), "1234.5")
    customer_notices.run_due(container)
    assert smtp.subjects() == ["Payment of 1234.50 USD booked"]
    assert "we received your top-up of 1234.50 USD" in smtp.body(0)  # the default body
    assert sms.texts() == ["acme paid 1234.50 USD"]


def test_a_broken_template_keeps_the_notice_dead_with_the_error(
    container, smtp, sms, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    broken = tmp_path / "topup_received.email.j2"
    broken.write_text("Hello {{ customer.nmae }}\n")
    configure(container, smtp, sms, notice_templates_dir=str(tmp_path))
    topup(container, acme(container))
    customer_notices.run_due(container)
    mail = by_channel(container, "email")
    assert (mail.status, mail.body) == ("dead", None)
    assert mail.last_error.startswith("template topup_received.email.j2 line 1: ")
    assert "nmae" in mail.last_error
    assert len(sms.received) == 1 and smtp.messages == []  # the SMS is not held up
    # retrying before the fix changes nothing and says why
    before = snapshot(container)
    with pytest.raises(Exception) as still:
        container.write(
            lambda conn, now: operator.retry(conn, mail.id, container.settings, now=now)
        )
    assert still.value.code == "TEMPLATE_INVALID" and snapshot(container) == before
    broken.write_text("Hello {{ customer.name }}, thanks for {{ amount }}.\n")
    container.write(lambda conn, now: operator.retry(conn, mail.id, container.settings, now=now))
    customer_notices.run_due(container)
    assert smtp.body(0).splitlines() == ["Hello acme, thanks for 25.50 USD."]


def test_no_address_or_no_channel_is_skipped_with_the_reason(container, smtp) -> None:  # type: ignore[no-untyped-def]
    configure(container, smtp, None)  # no SMS gateway
    no_mail = new_customer(container, "no-mail", mobile="+15550199").id
    topup(container, no_mail)
    topup(container, acme(container), ref="r2")
    customer_notices.run_due(container)
    seen = {
        (n.customer_id == no_mail, n.channel): (n.recipient, n.status, n.last_error)
        for n in notices(container)
    }
    assert seen == {
        (True, "email"): (None, "skipped", "no email address"),
        (True, "sms"): ("+15550199", "skipped", "SMS gateway not configured"),
        (False, "email"): ("ops@acme.example", "sent", None),
        (False, "sms"): ("+15550100", "skipped", "SMS gateway not configured"),
    }
    assert len(smtp.messages) == 1
    assert customer_notices.run_due(container).enqueued == 0  # nothing made twice


def test_a_skipped_notice_is_sent_once_its_channel_and_address_exist(container, smtp, sms) -> None:  # type: ignore[no-untyped-def]
    configure(container, smtp, None)  # no SMS gateway yet
    cid = new_customer(container, "late", email="ops@late.example").id  # no mobile yet
    topup(container, cid)
    customer_notices.run_due(container)
    text = by_channel(container, "sms")
    assert (text.status, text.last_error) == ("skipped", "no mobile number")

    def retry() -> object:
        return container.write(
            lambda conn, now: operator.retry(conn, text.id, container.settings, now=now)
        )

    before = snapshot(container)
    with pytest.raises(CloudbillError) as err:  # still no number: refused, nothing changed
        retry()
    assert err.value.code is ErrorCode.INVALID_STATE and "no mobile number" in err.value.message
    assert snapshot(container) == before
    container.write(lambda conn, now: customers.update(conn, cid, {"mobile": "+15550123"}, now=now))
    with pytest.raises(CloudbillError) as err:
        retry()
    assert "SMS gateway not configured" in err.value.message
    configure(container, smtp, sms)
    assert retry().status == "pending"
    assert customer_notices.run_due(container).delivery.sent == 1
    assert [r["to"] for r in sms.received] == ["+15550123"]
    assert by_channel(container, "sms").status == "sent"


def test_a_claimed_notice_is_sent_by_one_worker_only(container, smtp, sms) -> None:  # type: ignore[no-untyped-def]
    configure(container, smtp, sms)
    topup(container, acme(container))
    customer_notices.enqueue_due(container)
    stale = container.read(lambda conn, now: delivery.due(conn, now=now))
    first = [
        container.write(lambda conn, now, n=n: delivery.claim(conn, n, container.settings, now=now))
        for n in stale
    ]
    again = [
        container.write(lambda conn, now, n=n: delivery.claim(conn, n, container.settings, now=now))
        for n in stale  # a second worker that read the same rows before the first claimed them
    ]
    assert first == [1, 1] and again == [None, None]
    assert container.read(lambda conn, now: delivery.due(conn, now=now)) == []


def test_operator_api_lists_shows_and_retries(container, smtp, sms) -> None:  # type: ignore[no-untyped-def]
    configure(container, smtp, sms, smtp_port=free_port(), notice_max_attempts=1)
    cid = acme(container)
    topup(container, cid)
    customer_notices.run_due(container)
    api = TestClient(create_app(container))
    listed = api.get("/operator/v1/notices", params={"customer_id": cid}, headers=AUTH).json()
    assert listed["total"] == 2
    dead = api.get("/operator/v1/notices", params={"status": "dead"}, headers=AUTH).json()
    (item,) = dead["items"]
    assert (item["channel"], item["kind"], item["attempts"]) == ("email", "topup_received", 1)
    shown = api.get(f"/operator/v1/notices/{item['id']}", headers=AUTH).json()
    assert shown["subject"] == "Top-up of 25.50 USD received"
    assert len(shown["attempt_log"]) == 1 and shown["attempt_log"][0]["error"]
    before = snapshot(container)
    for method, path, params, code in [
        ("get", "/notices", {"status": "lost"}, "INVALID_ARGUMENT"),
        ("get", "/notices", {"channel": "fax"}, "INVALID_ARGUMENT"),
        ("get", "/notices", {"limit": 0}, "INVALID_ARGUMENT"),
        ("get", "/notices/999999", {}, "NOT_FOUND"),
        ("post", "/notices/999999/retry", {}, "NOT_FOUND"),
        ("post", f"/notices/{item['id'] + 1}/retry", {}, "INVALID_STATE"),  # the sent SMS
        ("get", "/notices/abc", {}, "INVALID_ARGUMENT"),
    ]:
        answer = getattr(api, method)(f"/operator/v1{path}", params=params, headers=AUTH)
        assert answer.json()["error"]["code"] == code, (path, params, answer.json())
        assert 400 <= answer.status_code < 500
    assert snapshot(container) == before
    assert api.get("/operator/v1/notices").status_code == 401
    configure(container, smtp, sms)
    retried = api.post(f"/operator/v1/notices/{item['id']}/retry", headers=AUTH).json()
    assert (retried["status"], retried["attempts"]) == ("pending", 0)
    customer_notices.run_due(container)
    assert smtp.subjects() == ["Top-up of 25.50 USD received"]


def test_an_event_that_commits_late_with_a_lower_id_is_not_skipped(container, smtp, sms) -> None:  # type: ignore[no-untyped-def]
    """On PostgreSQL ids are taken at insert and seen at commit: a lower id can appear after a
    higher one was read. The scan marks events one by one, so it is still read, once."""
    configure(container, smtp, sms)
    cid = acme(container)

    def event(event_id: int, amount: str):  # type: ignore[no-untyped-def]
        payload = {
            "customer_id": cid,
            "currency": "USD",
            "amount": amount,
            "reference": amount,
            "debt_written_off": "0",
            "unpaid_repaid": "0",
            "at": "2026-03-16T09:00:00+00:00",
        }
        container.write(
            lambda conn, now: conn.execute(
                outbox_event.insert().values(
                    id=event_id,
                    topic="customer.topup_received",
                    subject_id=cid,
                    subject_seq=event_id,
                    dedupe_key=f"late:{event_id}",
                    payload=json.dumps(payload),
                    created_at=now,
                )
            )
        )

    event(100, "2.00")
    assert customer_notices.run_due(container).events_read == 1
    event(50, "1.00")  # committed after 100 was read
    assert customer_notices.run_due(container).events_read == 1
    assert customer_notices.run_due(container).events_read == 0
    assert smtp.subjects() == ["Top-up of 2.00 USD received", "Top-up of 1.00 USD received"]
