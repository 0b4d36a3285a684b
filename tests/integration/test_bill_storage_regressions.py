"""Bill storage regressions a review found: malformed or client-refused endpoints are a 400 /
a verification report, never a 500; the bucket secret never reaches the log; two workers
pushing at once, or one customer's broken settings, never break the worker's pass."""

from __future__ import annotations

import io
import threading

import boto3
import pytest

from cloudbill.credentials.sealing import SecretBox
from cloudbill.kernel.errors import CloudbillError, ErrorCode
from cloudbill.observe import logs
from cloudbill.storage import bucket
from cloudbill.storage import service as storage
from cloudbill.storage.model import Target
from cloudbill.worker.jobs import storage_due

from ..helpers import new_customer
from ..integration.customer_world import PREFIX, error_code, issue_key, unthrottled_client
from ..s3_server import s3_server
from ..scenarios.test_settlement import advance

BUCKET = "acme-bills"


@pytest.fixture
def s3():  # type: ignore[no-untyped-def]
    with s3_server() as url:
        client = boto3.client("s3", endpoint_url=url, region_name="us-east-1",
                              aws_access_key_id="AK", aws_secret_access_key="SK")  # fmt: skip
        client.create_bucket(Bucket=BUCKET)
        yield url


def _settings(url: str) -> dict[str, object]:
    return {"endpoint_url": url, "region": "us-east-1", "bucket": BUCKET, "prefix": "p",
            "access_key_id": "AK", "secret_access_key": "SK",
            "bills": ["expenditures"], "file_format": "csv"}  # fmt: skip


@pytest.mark.parametrize("endpoint", ["http://[::1", "http://[::1:9000/"])
def test_malformed_endpoint_is_a_400_not_a_500(container, endpoint) -> None:  # type: ignore[no-untyped-def]
    """An unclosed IPv6 address made the URL parser raise: refused beside the field."""
    acme = new_customer(container)
    key = issue_key(container, acme.id)
    client = unthrottled_client(container)
    client.raise_server_exceptions = False
    answer = client.put(PREFIX + "/bill-storage", auth=(key.key.id, key.secret),
                        json=_settings("http://x") | {"endpoint_url": endpoint})  # fmt: skip
    assert (answer.status_code, error_code(answer)) == (400, "INVALID_ARGUMENT")


def test_an_endpoint_the_s3_client_refuses_is_refused_when_saved(container) -> None:  # type: ignore[no-untyped-def]
    """A host name with "_" passes a URL parser but not boto3 (ValueError: Invalid endpoint,
    once a 500 at Verify): refused when saved, beside the field; and a verification of such
    a target (saved before the rule) is a report, never an exception."""
    acme = new_customer(container)
    key = issue_key(container, acme.id)
    client = unthrottled_client(container)
    auth = (key.key.id, key.secret)
    saved = client.put(PREFIX + "/bill-storage", auth=auth,
                       json=_settings("http://bad_host:9000"))  # fmt: skip
    assert (saved.status_code, error_code(saved)) == (400, "INVALID_ARGUMENT")
    assert saved.json()["error"]["details"]["field"] == "endpoint_url"
    report = bucket.verify(Target("http://bad_host:9000", "us-east-1", BUCKET, "", "AK", "SK"))
    assert (report.ok, report.step, report.problem) == (False, "write", "endpoint_unreachable")


def test_two_workers_pushing_at_once_both_finish(container, s3, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Two worker processes push the same customer's day at once: both write version 1 (the
    same bytes); the one that records it second finds it recorded (the unique key) and counts
    it done, instead of failing its whole pass (the customers after it, notices, webhooks)."""
    box = SecretBox(container.secret_key())
    for name in ("a", "b"):
        cust = new_customer(container, name=name)
        container.write(lambda conn, now, cid=cust.id: storage.configure(
            conn, box, cid, endpoint_url=s3, region="us-east-1", bucket_name=BUCKET,
            prefix=f"p/{cid}", access_key_id="AK", secret_access_key="SK",
            bills=["expenditures"], file_format="csv", now=now))  # fmt: skip
        assert storage.enable(container, box, cust.id).enabled
    advance(container, hours=48)
    barrier = threading.Barrier(2, timeout=20)
    calls = {"n": 0}
    lock = threading.Lock()
    real_put = bucket.put

    def put(*args, **kw):  # type: ignore[no-untyped-def]
        with lock:
            calls["n"] += 1
            first_two = calls["n"] <= 2
        if first_two:  # both workers are uploading the same first file
            barrier.wait()
        return real_put(*args, **kw)

    monkeypatch.setattr(bucket, "put", put)
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            storage_due(container)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_the_bucket_secret_never_reaches_the_log(container) -> None:  # type: ignore[no-untyped-def]
    """A traceback of an unexpected error with a Target or the Container in scope: the text
    log prints plain tracebacks (a rich one shows every frame's locals), and neither object
    shows its secret when printed."""
    secret = "Sup3rSecretBucketKey0042"
    target = Target("https://obs.example.com", "us-east-1", BUCKET, "", "AK", secret)
    assert secret not in repr(target)
    assert container.secret_key() not in repr(container)
    out = io.StringIO()
    logs.configure(stream=out)
    try:
        try:
            raise RuntimeError(f"broken near {target.bucket}")
        except RuntimeError:
            logs.get("test").exception("push failed")
        assert "push failed" in out.getvalue() and "RuntimeError" in out.getvalue()
        assert secret not in out.getvalue()
    finally:
        logs.configure()


def test_settings_changed_while_verified_are_not_switched_on(container, s3) -> None:  # type: ignore[no-untyped-def]
    """Switching on records the verification of the settings it checked: a new bucket saved
    between the check and the switch is refused, never switched on unchecked."""
    box = SecretBox(container.secret_key())
    acme = new_customer(container)

    def configure(bucket_name: str) -> None:
        container.write(lambda conn, now: storage.configure(
            conn, box, acme.id, endpoint_url=s3, region="us-east-1", bucket_name=bucket_name,
            prefix="p", access_key_id="AK", secret_access_key="SK", bills=["expenditures"],
            file_format="csv", now=now))  # fmt: skip

    configure(BUCKET)
    report = storage.verify(container, box, acme.id)
    assert report.ok
    configure("another-bucket")  # saved while the first one was being checked
    with pytest.raises(CloudbillError) as err:
        container.write(
            lambda conn, now: storage.switch_on(conn, acme.id, verified=report.settings, now=now)
        )
    assert err.value.code is ErrorCode.INVALID_STATE
    assert not container.read(lambda conn, _now: storage.get(conn, acme.id)).enabled
