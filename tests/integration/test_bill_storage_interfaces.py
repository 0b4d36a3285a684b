"""Bill storage through its interfaces, against a real S3-compatible server (moto's, on
loopback): the customer API and the operator API (set up, verify, enable, disable, status and
pushes; the secret never shown back) on SQLite and PostgreSQL, and `cloudbill storage …` on a
fresh SQLite file. Bad input answers a stable error code and changes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from fastapi.testclient import TestClient

from cloudbill.bootstrap import Container
from cloudbill.storage import service as storage
from cloudbill.worker.jobs import storage_due
from tests.helpers import new_customer, snapshot
from tests.integration.customer_world import PREFIX, error_code, issue_key, unthrottled_client
from tests.integration.test_cli import cli_db, run, run_error, run_json, state
from tests.integration.test_cli import new_customer as cli_customer
from tests.s3_server import free_port, s3_server
from tests.scenarios.test_settlement import advance

__all__ = ["cli_db"]  # the fixture, used by name
BUCKET = "acme-bills"
SECRET = "s3cr3t-bucket-key"
OPERATOR = {"Authorization": "Bearer test-token"}


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    with s3_server() as url:
        s3 = boto3.client("s3", endpoint_url=url, region_name="us-east-1",
                          aws_access_key_id="AK", aws_secret_access_key="SK")  # fmt: skip
        s3.create_bucket(Bucket=BUCKET)
        yield url


def settings(endpoint: str, **overrides: object) -> dict[str, object]:
    return {
        "endpoint_url": endpoint, "region": "us-east-1", "bucket": BUCKET,
        "prefix": "billing/acme", "access_key_id": "AKIDEXAMPLE",
        "secret_access_key": SECRET, "bills": ["expenditures", "resource_bill"],
        "file_format": "csv.gz",
    } | overrides  # fmt: skip


def test_customer_api_sets_up_verifies_and_switches_storage(
    container: Container, endpoint: str
) -> None:
    acme = new_customer(container)
    key = issue_key(container, acme.id)
    client = unthrottled_client(container)
    auth = (key.key.id, key.secret)
    url = PREFIX + "/bill-storage"

    missing = client.get(url, auth=auth)
    assert (missing.status_code, error_code(missing)) == (404, "BILL_STORAGE_NOT_SET_UP")
    saved = client.put(url, auth=auth, json=settings(endpoint, bucket="no-such-bucket"))
    assert saved.status_code == 200, saved.text
    assert SECRET not in saved.text and saved.json()["secret_access_key_set"] is True
    assert saved.json()["enabled"] is False and saved.json()["file_format"] == "csv.gz"
    failed = client.post(url + "/verify", auth=auth).json()
    assert failed["ok"] is False
    assert (failed["step"], failed["problem"]) == ("write", "bucket_not_found")
    before = snapshot(container)
    refused = client.post(url + "/enable", auth=auth)
    assert (refused.status_code, error_code(refused)) == (422, "BILL_STORAGE_UNVERIFIED")
    assert refused.json()["error"]["details"] == {"step": "write", "problem": "bucket_not_found"}
    assert snapshot(container) == before
    # The right bucket, the secret left out: the saved one is kept.
    fixed = settings(endpoint)
    del fixed["secret_access_key"]
    assert client.put(url, auth=auth, json=fixed).status_code == 200
    assert client.post(url + "/verify", auth=auth).json() == {
        "ok": True, "step": None, "problem": None, "message": None,
    }  # fmt: skip
    on = client.post(url + "/enable", auth=auth)
    assert on.status_code == 200 and on.json()["enabled"] is True, on.text
    assert on.json()["verified_at"] is not None
    shown = client.get(url, auth=auth)
    assert shown.json()["enabled"] is True and shown.json()["recent_pushes"] == []
    assert SECRET not in shown.text and "secret_sealed" not in shown.text
    engine = container.read(lambda conn, _now: storage.get(conn, acme.id))
    assert engine.enabled and engine.bucket == BUCKET
    off = client.post(url + "/disable", auth=auth)
    assert off.json()["enabled"] is False
    assert not container.read(lambda conn, _now: storage.get(conn, acme.id)).enabled


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"endpoint_url": "ftp://x"}, "endpoint_url"),
        ({"bucket": "Bad_Bucket"}, "bucket"),
        ({"region": "US EAST"}, "region"),
        ({"prefix": "a//b"}, "prefix"),
        ({"bills": ["everything"]}, "bills"),
        ({"file_format": "xlsx"}, "file_format"),
        ({"access_key_id": ""}, "access_key_id"),
        ({"secret_access_key": " "}, "secret_access_key"),
        ({"unknown": 1}, "unknown"),
        ({"bucket": 7}, "bucket"),
    ],
)
def test_bad_settings_on_the_customer_api_change_nothing(
    container: Container, endpoint: str, change: dict[str, object], problem: str
) -> None:
    acme = new_customer(container)
    key = issue_key(container, acme.id)
    client = unthrottled_client(container)
    auth = (key.key.id, key.secret)
    url = PREFIX + "/bill-storage"
    assert client.put(url, auth=auth, json=settings(endpoint)).status_code == 200
    before = snapshot(container)
    refused = client.put(url, auth=auth, json=settings(endpoint) | change)
    assert (refused.status_code, error_code(refused)) == (400, "INVALID_ARGUMENT")
    assert problem in refused.json()["error"]["message"]
    assert snapshot(container) == before


def test_operator_api_for_a_customer_with_its_pushes(container: Container, endpoint: str) -> None:
    acme = new_customer(container)
    client = TestClient(unthrottled_client(container).app)
    url = f"/operator/v1/customers/{acme.id}/bill-storage"
    unknown = client.get("/operator/v1/customers/nobody/bill-storage", headers=OPERATOR)
    assert (unknown.status_code, error_code(unknown)) == (404, "CUSTOMER_NOT_FOUND")
    no_token = client.put(url, json=settings(endpoint))
    assert (no_token.status_code, error_code(no_token)) == (401, "UNAUTHENTICATED")
    before = snapshot(container)
    no_secret = settings(endpoint)
    del no_secret["secret_access_key"]
    refused = client.put(url, headers=OPERATOR, json=no_secret)  # none saved yet
    assert (refused.status_code, error_code(refused)) == (400, "INVALID_ARGUMENT")
    assert snapshot(container) == before
    saved = client.put(url, headers=OPERATOR, json=settings(endpoint, prefix="ops"))
    assert saved.status_code == 200 and SECRET not in saved.text
    assert client.post(url + "/verify", headers=OPERATOR).json()["ok"] is True
    assert client.post(url + "/enable", headers=OPERATOR).json()["enabled"] is True
    advance(container, days=2)  # yesterday's lateness window has passed
    report = storage_due(container)
    assert report.days >= 1 and not report.failed
    listed = client.get(url + "/pushes", headers=OPERATOR, params={"limit": 5}).json()
    assert listed["items"] and {p["outcome"] for p in listed["items"]} == {"ok"}
    assert client.get(url, headers=OPERATOR).json()["recent_pushes"] == listed["items"]
    bad_limit = client.get(url + "/pushes", headers=OPERATOR, params={"limit": 0})
    assert (bad_limit.status_code, error_code(bad_limit)) == (400, "INVALID_ARGUMENT")
    assert client.post(url + "/disable", headers=OPERATOR).json()["enabled"] is False


def test_cli_storage_commands(cli_db: Path, endpoint: str, monkeypatch: pytest.MonkeyPatch) -> None:
    cid = cli_customer("acme")
    common = ("--region", "us-east-1", "--access-key-id", "AKIDEXAMPLE", "--prefix", "cli")
    run_error("storage", "show", cid, code="BILL_STORAGE_NOT_SET_UP")
    before = state()
    run_error("storage", "configure", cid, "--endpoint-url", endpoint, "--bucket", BUCKET,
              *common, code="INVALID_ARGUMENT")  # no secret given, none saved  # fmt: skip
    run_error("storage", "configure", cid, "--endpoint-url", endpoint, "--bucket", "Bad_B",
              *common, "--secret-access-key", SECRET, code="INVALID_ARGUMENT")  # fmt: skip
    run_error("storage", "configure", cid, "--endpoint-url", endpoint, "--bucket", BUCKET,
              *common, "--secret-access-key", SECRET, "--format", "xlsx",
              code="INVALID_ARGUMENT")  # fmt: skip
    assert state() == before
    monkeypatch.setenv("CLOUDBILL_STORAGE_SECRET_ACCESS_KEY", SECRET)
    dead = f"http://127.0.0.1:{free_port()}"
    out = run("storage", "configure", cid, "--endpoint-url", dead, "--bucket", BUCKET, *common)
    assert SECRET not in out.stdout
    line = run_error("storage", "verify", cid, code="BILL_STORAGE_UNVERIFIED")
    assert "endpoint_unreachable" in line
    before = state()
    run_error("storage", "enable", cid, code="BILL_STORAGE_UNVERIFIED")
    assert state() == before
    shown = run_json("storage", "configure", cid, "--endpoint-url", endpoint, "--bucket", BUCKET,
                     *common, "--format", "parquet", "--bills", "expenditures")  # fmt: skip
    assert shown["file_format"] == "parquet" and shown["bills"] == ["expenditures"]
    assert run_json("storage", "verify", cid)["ok"] is True
    assert run_json("storage", "enable", cid)["enabled"] is True
    shown = run("storage", "show", cid).stdout
    assert SECRET not in shown and BUCKET in shown
    assert run_json("storage", "pushes", cid)["items"] == []
    run_error("storage", "pushes", "nobody", code="CUSTOMER_NOT_FOUND")
    assert run_json("storage", "disable", cid)["enabled"] is False
