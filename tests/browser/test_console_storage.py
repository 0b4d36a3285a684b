"""Bill storage from the Overview card, in a real browser, with a real S3-compatible server
(moto's, on loopback): the customer sets up a bucket, Verify says beside the field what failed,
the card's switch refuses an unverified bucket, and turns storage on once the bucket passes;
the engine's state says so."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from cloudbill.credentials.sealing import SecretBox
from cloudbill.storage import service as storage

from ..s3_server import s3_server
from .test_console import WIDE, Demo, _sign_in, demo

__all__ = ["demo"]  # the fixture, used by name
BUCKET = "acme-bills"


@pytest.fixture
def endpoint() -> Iterator[str]:
    with s3_server() as url:
        s3 = boto3.client("s3", endpoint_url=url, region_name="us-east-1",
                          aws_access_key_id="AK", aws_secret_access_key="SK")  # fmt: skip
        s3.create_bucket(Bucket=BUCKET)
        yield url


def _submit(page: Any, selector: str) -> None:
    with page.expect_navigation():
        page.click(selector)


def test_bill_storage_is_turned_on_from_the_overview_card(
    browser: Any, demo: Demo, endpoint: str
) -> None:
    page = browser.new_context(viewport=WIDE).new_page()
    _sign_in(page, demo, "billing@acme.example")
    acme = demo.customer("acme-healthy")
    card = page.locator("[data-testid=card-storage]")
    assert card.locator("[data-figure=storage_status]").inner_text() == "Not set up"
    _submit(page, "[data-testid=storage-settings]")
    # A bucket that does not exist: Verify says so beside the bucket's field.
    page.fill("#endpoint_url", endpoint)
    page.fill("#region", "us-east-1")
    page.fill("#bucket", "no-such-bucket")
    page.fill("#prefix", "billing/acme")
    page.fill("#access_key_id", "AKIDEXAMPLE")
    page.fill("#secret_access_key", "s3cr3t-key")
    page.select_option("#file_format", "csv.gz")
    _submit(page, "[data-testid=storage-verify]")
    assert "bucket_not_found" in page.locator("#err-bucket").inner_text()
    assert "s3cr3t-key" not in page.content()
    page.screenshot(path=str(demo.shots / "bill-storage-verify-failed.png"), full_page=True)
    saved = demo.c.read(lambda conn, _now: storage.get(conn, acme))
    assert saved.bucket == "no-such-bucket" and not saved.enabled
    # The card's switch refuses a bucket that fails its check, and storage stays off.
    page.goto(demo.base + "/console/")
    page.check("[data-testid=storage-enabled]")
    _submit(page, "[data-testid=storage-save]")
    error = page.locator("#err-storage_enabled").inner_text()
    assert "BILL_STORAGE_UNVERIFIED" in error and "bucket_not_found" in error
    assert not demo.c.read(lambda conn, _now: storage.get(conn, acme)).enabled
    # The right bucket (the secret saved before is kept): verified, then switched on.
    page.goto(demo.base + "/console/bill-storage")
    page.fill("#bucket", BUCKET)
    _submit(page, "[data-testid=storage-verify]")
    assert "verified" in page.locator("[data-testid=storage-done]").inner_text()
    page.goto(demo.base + "/console/")
    page.check("[data-testid=storage-enabled]")
    _submit(page, "[data-testid=storage-save]")
    card = page.locator("[data-testid=card-storage]")
    assert card.locator("[data-figure=storage_status]").inner_text() == "On"
    assert card.locator("[data-figure=storage_bucket]").inner_text() == f"{BUCKET}/billing/acme"
    page.screenshot(path=str(demo.shots / "bill-storage-on.png"), full_page=True)
    config = demo.c.read(lambda conn, _now: storage.get(conn, acme))
    assert config.enabled and config.verified_at is not None and config.bucket == BUCKET
    assert str(config.file_format) == "csv.gz" and config.next_day is not None
    box = SecretBox(demo.c.secret_key())
    assert box.open(config.secret_sealed) == "s3cr3t-key"
    # Switched off from the card again.
    page.uncheck("[data-testid=storage-enabled]")
    _submit(page, "[data-testid=storage-save]")
    assert not demo.c.read(lambda conn, _now: storage.get(conn, acme)).enabled
