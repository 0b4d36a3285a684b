"""Provider webhooks against a real HTTP server on loopback: signed, in order per subject,
retried with backoff, dead-lettered, reconciled."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from cloudbill.notify import webhooks
from cloudbill.notify.outbox import Event, emit_many
from cloudbill.notify.signing import new_secret
from cloudbill.store import clock_repo

SECRET = new_secret()


class Receiver:
    """A provider endpoint: records what it gets; answers from a script of status codes."""

    def __init__(self) -> None:
        self.received: list[dict] = []
        self.script: list[int] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                owner.received.append({"headers": dict(self.headers), "body": body})
                code = owner.script.pop(0) if owner.script else 204
                self.send_response(code)
                self.end_headers()

            def log_message(self, *_args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def topics(self) -> list[tuple[str, str]]:
        return [
            (json.loads(r["body"])["type"], json.loads(r["body"])["subject"]) for r in self.received
        ]


@pytest.fixture
def receiver():  # type: ignore[no-untyped-def]
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def hooked(container, receiver):  # type: ignore[no-untyped-def]
    container.settings = container.settings.model_copy(
        update={
            "webhook_url": receiver.url,
            "webhook_secret": SECRET,
            "webhook_max_attempts": 3,
            "webhook_backoff_s": 60,
        }
    )
    return container


def emit(container, *events: tuple[str, str, str]) -> None:
    container.write(
        lambda conn, now: emit_many(
            conn,
            [
                Event(topic, subject, {"resource_id": subject, "to": to}, f"{topic}:{subject}:{to}")
                for topic, subject, to in events
            ],
            now=now,
        )
    )


def advance(container, **delta):  # type: ignore[no-untyped-def]
    """Time passes for billing and for the outside world (retries wait on the wall clock)."""
    container.write(lambda conn, _now: clock_repo.advance(conn, timedelta(**delta)))
    container.wall.advance(timedelta(**delta))


def verify_signature(request: dict) -> None:
    """An independent check, as a provider would write it from the Standard Webhooks spec."""
    h = {k.lower(): v for k, v in request["headers"].items()}
    key = base64.b64decode(SECRET.removeprefix("whsec_"))
    signed = f"{h['webhook-id']}.{h['webhook-timestamp']}.".encode() + request["body"]
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    assert h["webhook-signature"] == f"v1,{expected}"


def test_events_are_signed_and_delivered_once(hooked, receiver) -> None:  # type: ignore[no-untyped-def]
    emit(hooked, ("resource.frozen", "r1", "frozen"), ("customer.arrears_started", "c1", "x"))
    report = webhooks.deliver_due(hooked)
    assert (report.delivered, report.failed, report.dead) == (2, 0, 0)
    assert receiver.topics() == [("resource.frozen", "r1"), ("customer.arrears_started", "c1")]
    for request in receiver.received:
        verify_signature(request)
    body = json.loads(receiver.received[0]["body"])
    assert body["sequence"] == 1 and body["data"] == {"resource_id": "r1", "to": "frozen"}
    assert webhooks.deliver_due(hooked).delivered == 0
    assert len(receiver.received) == 2


def test_retries_with_backoff_keep_order_per_resource(hooked, receiver) -> None:  # type: ignore[no-untyped-def]
    emit(
        hooked,
        ("resource.frozen", "r1", "frozen"),
        ("resource.released", "r1", "released"),
        ("resource.frozen", "r2", "frozen"),
    )
    receiver.script = [500]  # the first request fails
    report = webhooks.deliver_due(hooked)
    assert (report.delivered, report.failed) == (1, 1)  # r2 went through; r1 waits
    assert receiver.topics() == [("resource.frozen", "r1"), ("resource.frozen", "r2")]
    assert webhooks.deliver_due(hooked).delivered == 0  # backoff: not before 60 s
    advance(hooked, seconds=60)
    assert webhooks.deliver_due(hooked).delivered == 2
    assert receiver.topics()[2:] == [("resource.frozen", "r1"), ("resource.released", "r1")]


def test_dead_letter_retry_and_reconcile(hooked, receiver, container) -> None:  # type: ignore[no-untyped-def]
    from cloudbill.resources import service as resources
    from cloudbill.resources.model import ResourceInput, ResourceStatus

    from ..helpers import created_before, new_customer

    customer = new_customer(container)
    data = ResourceInput(
        customer_id=customer.id,
        resource_type="hws.resource.type.vm",
        spec="s6.large.2",
        billing_mode="pay_per_use",
        region="ap-southeast-1",
        name="vm",
        id="vm-1",
    )
    container.write(lambda conn, now: resources.register(conn, created_before(data, now), now=now))
    container.write(
        lambda conn, now: resources.change_status(
            conn, "vm-1", ResourceStatus.FROZEN, reason="test", now=now
        )
    )
    emit(hooked, ("resource.frozen", "vm-1", "frozen"))
    receiver.script = [503, 503, 503]
    webhooks.deliver_due(hooked)
    advance(hooked, seconds=60)
    webhooks.deliver_due(hooked)
    advance(hooked, seconds=120)
    report = webhooks.deliver_due(hooked)
    assert report.dead == 1 and len(receiver.received) == 3
    assert hooked.read(lambda conn, _now: webhooks.reconcile(conn)) == [
        {"resource_id": "vm-1", "status": "frozen", "delivered": None}
    ]
    event_id = hooked.read(
        lambda conn, now: conn.execute(webhooks.select(webhooks.outbox_event.c.id)).scalar_one()
    )
    assert hooked.write(
        lambda conn, _now: webhooks.retry_dead(conn, event_id, now=hooked.wall.now())
    )
    assert webhooks.deliver_due(hooked).delivered == 1
    assert hooked.read(lambda conn, _now: webhooks.reconcile(conn)) == []


def test_nothing_is_sent_without_an_endpoint(container, receiver) -> None:  # type: ignore[no-untyped-def]
    emit(container, ("resource.frozen", "r1", "frozen"))
    assert webhooks.deliver_due(container) == webhooks.DeliveryReport()
    assert receiver.received == []


def test_customer_facing_topics_stay_off_the_provider_webhook(hooked, receiver) -> None:  # type: ignore[no-untyped-def]
    """Balance alerts, top-ups and bills go to the customer (email, SMS), not to the provider;
    they neither go out nor hold back a later event of their subject."""
    emit(
        hooked,
        ("customer.balance_alert", "c1", "1"),
        ("customer.topup_received", "c1", "2"),
        ("customer.arrears_started", "c1", "3"),
        ("customer.postpaid_bill_issued", "c1", "4"),
        ("resource.frozen", "r1", "frozen"),
    )
    assert webhooks.deliver_due(hooked).delivered == 2
    assert receiver.topics() == [("customer.arrears_started", "c1"), ("resource.frozen", "r1")]
    assert webhooks.deliver_due(hooked).delivered == 0
    everything = hooked.settings.model_copy(update={"webhook_topics": "*"})
    hooked.settings = everything
    assert webhooks.deliver_due(hooked).delivered == 3  # the operator asked for all of them


def test_topic_patterns_treat_underscore_literally(container) -> None:  # type: ignore[no-untyped-def]
    emit(
        container, ("customer.arrearsXstarted", "c1", "1"), ("customer.arrears_started", "c2", "2")
    )
    patterns = webhooks.topic_patterns(" customer.arrears_* , resource.* ")
    assert patterns == ("customer.arrears_*", "resource.*")
    rows = container.read(lambda conn, now: webhooks.due_events(conn, now=now, topics=patterns))
    assert [r.topic for r in rows] == ["customer.arrears_started"]
    assert container.read(lambda conn, now: webhooks.due_events(conn, now=now, topics=())) == []


def test_the_official_verifier_accepts_events_sent_while_billing_time_is_a_year_ago(
    hooked, receiver
) -> None:  # type: ignore[no-untyped-def]
    """Signatures carry the wall clock's time, whatever the billing clock says; the event's
    billing time travels in the body."""
    from standardwebhooks import Webhook

    from cloudbill.kernel.clock import SystemClock

    hooked.wall = SystemClock()  # the receiver's verifier checks against the real time
    year_ago = SystemClock().now() - timedelta(days=365)
    hooked.write(lambda conn, _now: clock_repo.set_system(conn))
    hooked.write(lambda conn, _now: clock_repo.set_simulated(conn, year_ago))
    emit(hooked, ("resource.frozen", "r1", "frozen"))
    assert webhooks.deliver_due(hooked).delivered == 1
    (request,) = receiver.received
    verified = Webhook(SECRET).verify(request["body"], request["headers"])
    assert verified["type"] == "resource.frozen"
    assert verified["timestamp"].startswith(year_ago.date().isoformat())  # billing time


def test_webhooks_test_sends_a_signed_event_and_reports_the_answer(hooked, receiver) -> None:  # type: ignore[no-untyped-def]
    from standardwebhooks import Webhook

    from cloudbill.kernel.clock import SystemClock

    hooked.wall = SystemClock()
    result = webhooks.send_test(hooked)
    assert result.ok and result.status_code == 204
    (request,) = receiver.received
    assert Webhook(SECRET).verify(request["body"], request["headers"])["type"] == "webhook.test"
    receiver.script = [500]
    failed = webhooks.send_test(hooked)
    assert (failed.ok, failed.status_code) == (False, 500)
    hooked.settings = hooked.settings.model_copy(update={"webhook_url": None})
    with pytest.raises(webhooks.CloudbillError) as err:
        webhooks.send_test(hooked)
    assert err.value.code == "INVALID_STATE"
