"""Resource packages and cash coupons on SQLite and PostgreSQL: use cases, API and CLI.

After every step that touches coupons the books are checked twice: the ledger verifies, and
each customer's COUPON account holds exactly the sum of that customer's coupon balances.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, insert, select
from typer.testing import CliRunner, Result

from cloudbill.api.app import create_app
from cloudbill.benefits import service as benefits
from cloudbill.bootstrap import Container
from cloudbill.cli import app as cli_app
from cloudbill.cli import context as cli_context
from cloudbill.customers import service as customers
from cloudbill.customers.model import CustomerStatus
from cloudbill.kernel.errors import CloudbillError, ErrorCode
from cloudbill.kernel.periods import utc
from cloudbill.ledger.model import AccountKind
from cloudbill.store import clock_repo
from cloudbill.store.schema import (
    audit_event,
    ledger_account,
    ledger_transaction,
    package_period,
    package_usage,
    settlement_run,
)
from tests.conftest import T0
from tests.helpers import assert_books_balance, new_customer, snapshot

VM = "hws.resource.type.vm"
E10 = 10**10
UNITS = 10**8
API = "/operator/v1"
AUTH = {"Authorization": "Bearer test-token"}

# -- helpers ---------------------------------------------------------------------------------


def grant(c: Container, cid: str, /, **overrides: Any):  # type: ignore[no-untyped-def]
    args: dict[str, Any] = dict(
        customer_id=cid, name=None, usage_type="duration", quantity="744", unit="h",
        valid_from=T0, valid_to=T0 + timedelta(days=90), reference="grant-1",
    )  # fmt: skip
    args.update(overrides)
    return c.write(lambda conn, now: benefits.grant_package(conn, **args, now=now))


def issue(c: Container, cid: str, /, **overrides: Any):  # type: ignore[no-untyped-def]
    args: dict[str, Any] = dict(
        customer_id=cid, name=None, value="20.00", valid_from=None,
        valid_to=T0 + timedelta(days=30), reference="coupon-1",
    )  # fmt: skip
    args.update(overrides)
    return c.write(lambda conn, now: benefits.issue_coupon(conn, **args, now=now))


def refused(c: Container, call, code: ErrorCode) -> CloudbillError:  # type: ignore[no-untyped-def]
    """`call` must fail with `code` and change nothing."""
    before = snapshot(c)
    with pytest.raises(CloudbillError) as caught:
        call()
    assert caught.value.code == code, caught.value
    assert snapshot(c) == before
    return caught.value


def check_books(c: Container, *customer_ids: str) -> None:
    assert_books_balance(c)
    with c.db.read() as conn:
        for cid in customer_ids:
            ledger_units, coupon_units = benefits.coupon_books(conn, cid)
            assert ledger_units == coupon_units, (cid, ledger_units, coupon_units)


def overview(c: Container, customer_id: str):  # type: ignore[no-untyped-def]
    return c.read(lambda conn, _now: customers.overview(conn, customers.get(conn, customer_id)))


def promotion_units(c: Container, currency: str = "USD") -> int:
    with c.db.read() as conn:
        return conn.execute(
            select(ledger_account.c.balance_units).where(
                ledger_account.c.code == f"provider:{currency}:{AccountKind.PROMOTION}"
            )
        ).scalar_one()


def count(c: Container, table) -> int:  # type: ignore[no-untyped-def]
    with c.db.read() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def advance(c: Container, delta: timedelta) -> datetime:
    return c.write(lambda conn, _now: clock_repo.advance(conn, delta))


def record_use(c: Container, package_id: str, period_start: datetime, used_e10: int) -> None:
    """Stand in for settlement: the cached used quantity of one period."""
    with c.db.write() as conn:
        conn.execute(
            insert(package_period).values(
                package_id=package_id, period_start=period_start, used_e10=used_e10
            )
        )


# -- resource packages -----------------------------------------------------------------------


def test_grant_then_list_with_remaining(container: Container) -> None:
    cust = new_customer(container)
    tx_before = count(container, ledger_transaction)
    package, created = grant(container, cust.id, service="ecs", resource_type=VM)
    assert created and package.quantity_e10 == 744 * E10 and package.pricing_unit == "h"
    assert package.name == "744 h duration" and package.source == "granted"
    assert count(container, ledger_transaction) == tx_before  # a grant moves no money
    with container.db.read() as conn:
        actions = conn.execute(select(audit_event.c.action)).scalars().all()
    assert "package.granted" in actions

    rows, total = container.read(lambda conn, now: benefits.list_packages(conn, cust.id, at=now))
    assert total == 1 and rows[0].package == package
    assert (rows[0].used_e10, rows[0].remaining_e10, rows[0].state) == (0, 744 * E10, "active")

    record_use(container, package.id, package.valid_from, 100 * E10 + 5)
    balance = container.read(lambda conn, now: benefits.get_package(conn, package.id, at=now))
    assert balance.used_e10 == 100 * E10 + 5
    assert balance.remaining_e10 == 644 * E10 - 5
    check_books(container, cust.id)


def test_expired_packages_are_listed_only_when_asked(container: Container) -> None:
    cust = new_customer(container)
    short, _ = grant(container, cust.id, valid_to=T0 + timedelta(days=1), reference="short")
    long, _ = grant(container, cust.id, reference="long")
    advance(container, timedelta(days=1))  # exactly at valid_to: the end is exclusive

    def listing(include_expired: bool):  # type: ignore[no-untyped-def]
        return container.read(
            lambda conn, now: benefits.list_packages(
                conn, cust.id, at=now, include_expired=include_expired
            )
        )

    rows, total = listing(False)
    assert [r.package.id for r in rows] == [long.id] and total == 1
    rows, total = listing(True)
    assert [r.package.id for r in rows] == [short.id, long.id]  # expiring first
    assert [str(r.state) for r in rows] == ["expired", "active"]


def test_monthly_package_periods_in_the_customer_zone(container: Container) -> None:
    cust = new_customer(container, timezone="Asia/Shanghai")
    package, _ = grant(
        container, cust.id, resets_monthly=True,
        valid_from=utc(2026, 3, 1), valid_to=utc(2026, 6, 1),
    )  # fmt: skip
    march, april = utc(2026, 2, 28, 16), utc(2026, 3, 31, 16)  # Shanghai midnights
    record_use(container, package.id, march, 700 * E10)
    record_use(container, package.id, april, 10 * E10)

    def at(instant: datetime):  # type: ignore[no-untyped-def]
        return container.read(lambda conn, _now: benefits.get_package(conn, package.id, at=instant))

    last_march_second = at(utc(2026, 3, 31, 15, 59, 59))
    assert last_march_second.period_key == march
    assert last_march_second.period.start == utc(2026, 3, 1)  # clipped to the validity
    assert last_march_second.remaining_e10 == 44 * E10
    first_april_second = at(april)
    assert first_april_second.period_key == april
    assert first_april_second.period.end == utc(2026, 4, 30, 16)
    assert first_april_second.remaining_e10 == 734 * E10
    assert at(utc(2026, 5, 10)).remaining_e10 == 744 * E10  # May: nothing used yet
    listed, _ = container.read(
        lambda conn, _now: benefits.list_packages(conn, cust.id, at=utc(2026, 3, 31, 16))
    )
    assert listed[0].remaining_e10 == 734 * E10


def test_grants_are_idempotent_by_reference(container: Container) -> None:
    cust = new_customer(container)
    other = new_customer(container, "beta")
    first, created = grant(container, cust.id, quantity="744.5", spec=None)
    before = snapshot(container)
    # the same instants given naive (UTC) and the same quantity written differently
    again, created_again = grant(
        container, cust.id, quantity=Decimal("744.50"),
        valid_from=T0.replace(tzinfo=None), valid_to=(T0 + timedelta(days=90)).replace(tzinfo=None),
    )  # fmt: skip
    assert created and not created_again and again == first
    assert snapshot(container) == before
    for conflicting in ({"quantity": "745"}, {"customer_id": other.id}, {"resets_monthly": True}):
        args = {"quantity": "744.5", **conflicting}
        call = lambda a=args: grant(container, cust.id, **a)  # noqa: E731
        refused(container, call, ErrorCode.IDEMPOTENCY_CONFLICT)


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"quantity": 744.0}, ErrorCode.INVALID_AMOUNT),
        ({"quantity": "0"}, ErrorCode.INVALID_AMOUNT),
        ({"quantity": "-3"}, ErrorCode.INVALID_AMOUNT),
        ({"quantity": "1.00000000001"}, ErrorCode.TOO_MANY_DECIMALS),
        ({"quantity": "99999999999"}, ErrorCode.AMOUNT_OUT_OF_RANGE),
        ({"usage_type": "nope"}, ErrorCode.CATALOG_ITEM_NOT_FOUND),
        ({"unit": "parsec"}, ErrorCode.CATALOG_ITEM_NOT_FOUND),
        ({"unit": "GB"}, ErrorCode.INVALID_ARGUMENT),
        ({"service": "nope"}, ErrorCode.CATALOG_ITEM_NOT_FOUND),
        ({"service": "evs", "resource_type": VM}, ErrorCode.INVALID_ARGUMENT),
        ({"spec": "s6.large.2"}, ErrorCode.INVALID_ARGUMENT),
        ({"resource_type": VM, "spec": "nope"}, ErrorCode.CATALOG_ITEM_NOT_FOUND),
        ({"usage_type": "capacity", "unit": "GBh", "resource_type": VM},
         ErrorCode.INVALID_ARGUMENT),
        ({"region": "Bad Region"}, ErrorCode.INVALID_ARGUMENT),
        ({"valid_to": T0}, ErrorCode.INVALID_ARGUMENT),
        ({"valid_from": T0 - timedelta(days=9), "valid_to": T0}, ErrorCode.INVALID_ARGUMENT),
        ({"reference": " "}, ErrorCode.INVALID_ARGUMENT),
        ({"reference": "g\x00"}, ErrorCode.INVALID_ARGUMENT),
        ({"name": ""}, ErrorCode.INVALID_ARGUMENT),
        ({"customer_id": "nobody"}, ErrorCode.CUSTOMER_NOT_FOUND),
    ],
)  # fmt: skip
def test_bad_grants_change_nothing(
    container: Container, overrides: dict[str, Any], code: ErrorCode
) -> None:
    cust = new_customer(container)
    refused(container, lambda: grant(container, cust.id, **overrides), code)


def test_no_grant_to_a_frozen_customer(container: Container) -> None:
    cust = new_customer(container)
    container.write(
        lambda conn, now: customers.set_status(
            conn, cust.id, CustomerStatus.FROZEN, reason="t", now=now
        )
    )
    refused(container, lambda: grant(container, cust.id), ErrorCode.CUSTOMER_FROZEN)


def test_package_usage_records_page(container: Container) -> None:
    cust = new_customer(container)
    package, _ = grant(container, cust.id)
    with container.db.write() as conn:
        run_id = conn.execute(
            insert(settlement_run).values(
                hour_start=T0, watermark_seq=0, records=0, late_records=0, fees=0,
                customers=0, started_at=T0, finished_at=T0,
            )
        ).inserted_primary_key[0]  # fmt: skip
        conn.execute(
            insert(package_usage),
            [
                {"package_id": package.id, "period_start": package.valid_from,
                 "settlement_id": run_id, "customer_id": cust.id, "resource_id": "vm-1",
                 "hour_start": T0 + timedelta(hours=h), "quantity_e10": E10}
                for h in range(3)
            ],
        )  # fmt: skip
    rows, total = container.read(
        lambda conn, _now: benefits.package_usage(conn, package.id, limit=2, offset=0)
    )
    assert total == 3
    assert [r.hour_start for r in rows] == [T0 + timedelta(hours=2), T0 + timedelta(hours=1)]
    with pytest.raises(CloudbillError) as caught:
        container.read(lambda conn, _now: benefits.package_usage(conn, "nope"))
    assert caught.value.code is ErrorCode.NOT_FOUND
    with pytest.raises(CloudbillError) as caught:
        container.read(lambda conn, now: benefits.get_package(conn, "nope", at=now))
    assert caught.value.code is ErrorCode.NOT_FOUND


# -- cash coupons ----------------------------------------------------------------------------


def test_issue_raises_coupons_and_expenditure_quota(container: Container) -> None:
    cust = new_customer(container)
    container.write(
        lambda conn, now: customers.topup(conn, cust.id, "100.00", reference="pay-1", now=now)
    )
    before = overview(container, cust.id)
    assert (before.coupon_units, before.expenditure_quota_units) == (0, 100 * UNITS)
    coupon, created = issue(container, cust.id, services=["ecs", "evs"], min_spend="10.00")
    assert created and coupon.status == "active" and coupon.currency == "USD"
    assert coupon.face_value_units == coupon.balance_units == 20 * UNITS
    assert coupon.min_spend_units == 10 * UNITS and coupon.services == ("ecs", "evs")
    assert coupon.valid_from == T0 and coupon.billing_modes is None
    after = overview(container, cust.id)
    assert after.coupon_units == 20 * UNITS
    assert after.expenditure_quota_units == 120 * UNITS
    assert after.cash_balance_units == 100 * UNITS  # cash untouched
    assert promotion_units(container) == 20 * UNITS  # the provider's cost of the coupon
    usage, total = container.read(lambda conn, _now: benefits.coupon_usage(conn, coupon.id))
    assert total == 1 and usage[0].kind == "issued" and usage[0].amount_units == 20 * UNITS
    assert usage[0].ledger_transaction_id is not None
    check_books(container, cust.id)


def test_coupon_replay_and_conflicting_replay(container: Container) -> None:
    cust = new_customer(container)
    coupon, _ = issue(container, cust.id, billing_modes=["pay_per_use"])
    check_books(container, cust.id)
    before = snapshot(container)
    advance(container, timedelta(hours=5))  # "from now" means the first request's now
    again, created = issue(container, cust.id, billing_modes=["pay_per_use", "pay_per_use"])
    assert not created and again == coupon
    assert snapshot(container) == before
    for conflicting in ({"value": "21.00"}, {"services": ["ecs"]}, {"billing_modes": None},
                        {"min_spend": "1.00"}, {"name": "other"}):  # fmt: skip
        args = {"billing_modes": ["pay_per_use"], **conflicting}
        call = lambda a=args: issue(container, cust.id, **a)  # noqa: E731
        refused(container, call, ErrorCode.IDEMPOTENCY_CONFLICT)
    check_books(container, cust.id)


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"value": "0"}, ErrorCode.INVALID_AMOUNT),
        ({"value": "-5.00"}, ErrorCode.INVALID_AMOUNT),
        ({"value": 20.5}, ErrorCode.INVALID_AMOUNT),
        ({"value": "20.001"}, ErrorCode.TOO_MANY_DECIMALS),
        ({"services": ["nope"]}, ErrorCode.CATALOG_ITEM_NOT_FOUND),
        ({"services": []}, ErrorCode.INVALID_ARGUMENT),
        ({"services": "ecs"}, ErrorCode.INVALID_ARGUMENT),
        ({"billing_modes": ["monthly"]}, ErrorCode.INVALID_ARGUMENT),
        ({"min_spend": "-1"}, ErrorCode.INVALID_AMOUNT),
        ({"min_spend": "1.001"}, ErrorCode.TOO_MANY_DECIMALS),
        ({"valid_to": T0}, ErrorCode.INVALID_ARGUMENT),
        ({"valid_from": T0 + timedelta(days=40)}, ErrorCode.INVALID_ARGUMENT),
        ({"valid_from": T0 - timedelta(days=9), "valid_to": T0 - timedelta(days=1)},
         ErrorCode.INVALID_ARGUMENT),
        ({"reference": "r" * 129}, ErrorCode.INVALID_ARGUMENT),  # references are at most 128
        ({"reference": ""}, ErrorCode.INVALID_ARGUMENT),
        ({"reference": "c\x001"}, ErrorCode.INVALID_ARGUMENT),
        ({"customer_id": "nobody"}, ErrorCode.CUSTOMER_NOT_FOUND),
    ],
)  # fmt: skip
def test_bad_coupons_change_nothing(
    container: Container, overrides: dict[str, Any], code: ErrorCode
) -> None:
    cust = new_customer(container)
    refused(container, lambda: issue(container, cust.id, **overrides), code)
    check_books(container, cust.id)


def test_coupon_value_takes_the_currency_digits(container: Container) -> None:
    cust = new_customer(container, currency="JPY")
    refused(
        container, lambda: issue(container, cust.id, value="100.5"), ErrorCode.TOO_MANY_DECIMALS
    )
    coupon, _ = issue(container, cust.id, value="500")
    assert coupon.currency == "JPY" and coupon.balance_units == 500 * UNITS
    assert promotion_units(container, "JPY") == 500 * UNITS
    check_books(container, cust.id)


def test_revoke_gives_the_balance_back(container: Container) -> None:
    cust, other = new_customer(container), new_customer(container, "beta")
    coupon, _ = issue(container, cust.id)
    kept, _ = issue(container, other.id, reference="coupon-2")
    check_books(container, cust.id, other.id)
    refused(
        container,
        lambda: container.write(
            lambda conn, now: benefits.revoke_coupon(conn, coupon.id, reason=" ", now=now)
        ),
        ErrorCode.INVALID_ARGUMENT,
    )

    def revoke(coupon_id: str):  # type: ignore[no-untyped-def]
        return container.write(
            lambda conn, now: benefits.revoke_coupon(conn, coupon_id, reason="mistake", now=now)
        )

    revoked = revoke(coupon.id)
    assert revoked.status == "revoked" and revoked.balance_units == 0
    assert revoked.face_value_units == 20 * UNITS
    assert overview(container, cust.id).coupon_units == 0
    assert overview(container, other.id).coupon_units == 20 * UNITS
    assert promotion_units(container) == 20 * UNITS  # only the other coupon is still out
    usage, _ = container.read(lambda conn, _now: benefits.coupon_usage(conn, coupon.id))
    assert [(u.kind, u.amount_units) for u in usage] == [
        ("revoked", 20 * UNITS),
        ("issued", 20 * UNITS),
    ]
    check_books(container, cust.id, other.id)

    before = snapshot(container)
    assert revoke(coupon.id) == revoked  # twice: a no-op
    assert snapshot(container) == before
    refused(container, lambda: revoke("nope"), ErrorCode.NOT_FOUND)
    refused(container, lambda: revoke("no\x00pe"), ErrorCode.NOT_FOUND)  # PostgreSQL: no NUL
    assert kept.status == "active"


def test_expiry_job_runs_once_per_coupon(container: Container) -> None:
    cust = new_customer(container)
    soon, _ = issue(container, cust.id, valid_to=T0 + timedelta(days=1), reference="soon")
    late, _ = issue(container, cust.id, valid_to=T0 + timedelta(days=10), reference="late")
    gone, _ = issue(container, cust.id, valid_to=T0 + timedelta(days=1), reference="gone")
    container.write(lambda conn, now: benefits.revoke_coupon(conn, gone.id, reason="x", now=now))

    def expire(limit: int = 1000) -> int:
        return container.write(
            lambda conn, now: benefits.expire_coupons(conn, now=now, limit=limit)
        )

    assert expire() == 0  # nothing is due yet
    advance(container, timedelta(days=1))  # valid_to is exclusive: due exactly at it
    assert expire() == 1
    assert overview(container, cust.id).coupon_units == 20 * UNITS
    check_books(container, cust.id)
    before = snapshot(container)
    assert expire() == 0  # a second run changes nothing
    assert snapshot(container) == before
    with pytest.raises(CloudbillError) as caught:
        container.write(
            lambda conn, now: benefits.revoke_coupon(conn, soon.id, reason="x", now=now)
        )
    assert caught.value.code is ErrorCode.INVALID_STATE

    advance(container, timedelta(days=10))
    assert expire() == 1
    statuses, _ = container.read(lambda conn, _now: benefits.list_coupons(conn, cust.id))
    assert {c.id: str(c.status) for c in statuses} == {
        soon.id: "expired",
        late.id: "expired",
        gone.id: "revoked",
    }
    assert all(c.balance_units == 0 for c in statuses)
    assert overview(container, cust.id).coupon_units == 0
    assert promotion_units(container) == 0
    check_books(container, cust.id)
    refused(container, lambda: expire(0), ErrorCode.INVALID_ARGUMENT)


def test_expiry_job_is_bounded(container: Container) -> None:
    cust = new_customer(container)
    for n in range(3):
        issue(container, cust.id, valid_to=T0 + timedelta(hours=1 + n), reference=f"c{n}")
    advance(container, timedelta(days=1))
    run = lambda: container.write(lambda conn, now: benefits.expire_coupons(conn, now=now, limit=2))  # noqa: E731
    assert (run(), run(), run()) == (2, 1, 0)
    check_books(container, cust.id)


def test_list_coupons_by_status(container: Container) -> None:
    cust = new_customer(container)
    a, _ = issue(container, cust.id, valid_to=T0 + timedelta(days=9), reference="a")
    b, _ = issue(container, cust.id, valid_to=T0 + timedelta(days=3), reference="b")
    container.write(lambda conn, now: benefits.revoke_coupon(conn, a.id, reason="x", now=now))

    def listing(**kw: Any):  # type: ignore[no-untyped-def]
        return container.read(lambda conn, _now: benefits.list_coupons(conn, cust.id, **kw))

    rows, total = listing()
    assert [r.id for r in rows] == [b.id, a.id] and total == 2  # soonest-expiring first
    assert [r.id for r in listing(status="active")[0]] == [b.id]
    assert [r.id for r in listing(status="revoked")[0]] == [a.id]
    assert listing(limit=1)[0][0].id == b.id and listing(limit=1)[1] == 2
    for bad in ({"status": "gone"}, {"limit": 0}, {"offset": -1}):
        with pytest.raises(CloudbillError) as caught:
            listing(**bad)
        assert caught.value.code is ErrorCode.INVALID_ARGUMENT


# -- the operator API ------------------------------------------------------------------------


@pytest.fixture
def client(container: Container) -> TestClient:
    return TestClient(create_app(container))


def api_refused(c: Container, response_of, status: int, code: str) -> None:  # type: ignore[no-untyped-def]
    before = snapshot(c)
    response = response_of()
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code, response.text
    assert snapshot(c) == before


def test_api_packages(container: Container, client: TestClient) -> None:
    cust = new_customer(container, timezone="Asia/Shanghai")
    url = f"{API}/customers/{cust.id}/packages"
    body = {
        "usage_type": "duration", "quantity": "744", "unit": "h", "service": "ecs",
        "resets_monthly": True, "valid_from": "2026-03-01T00:00:00+08:00",
        "valid_to": "2026-06-01T00:00:00", "reference": "api-grant-1",
    }  # fmt: skip
    created = client.post(url, json=body, headers=AUTH)
    assert created.status_code == 201, created.text
    view = created.json()
    assert view["created"] is True and view["quantity"] == "744" and view["remaining"] == "744"
    assert (
        view["valid_from"] == "2026-02-28T16:00:00Z" and view["valid_to"] == "2026-06-01T00:00:00Z"
    )
    assert view["period"] == {"start": "2026-02-28T16:00:00Z", "end": "2026-03-31T16:00:00Z"}
    replay = client.post(url, json=body, headers=AUTH)
    assert replay.status_code == 201 and replay.json()["created"] is False
    assert replay.json()["id"] == view["id"]

    for bad, status, code in [
        ({**body, "quantity": "745"}, 409, "IDEMPOTENCY_CONFLICT"),
        ({**body, "reference": "x", "quantity": 744.0}, 400, "INVALID_AMOUNT"),
        ({**body, "reference": "x", "valid_from": 1772323200}, 400, "INVALID_ARGUMENT"),
        ({**body, "reference": "x", "valid_to": "next week"}, 400, "INVALID_ARGUMENT"),
        ({**body, "reference": "x", "resets_monthly": "yes"}, 400, "INVALID_ARGUMENT"),
        ({**body, "reference": "x", "colour": "red"}, 400, "INVALID_ARGUMENT"),
        ({**body, "reference": "x", "unit": "GB"}, 400, "INVALID_ARGUMENT"),
        ({**body, "reference": "x", "usage_type": "nope"}, 404, "CATALOG_ITEM_NOT_FOUND"),
    ]:  # fmt: skip
        api_refused(container, lambda b=bad: client.post(url, json=b, headers=AUTH), status, code)
    api_refused(container, lambda: client.post(url, json=body), 401, "UNAUTHENTICATED")
    api_refused(
        container,
        lambda: client.post(f"{API}/customers/nobody/packages", json=body, headers=AUTH),
        404,
        "CUSTOMER_NOT_FOUND",
    )

    listed = client.get(url, headers=AUTH).json()
    assert listed["total"] == 1 and listed["items"][0]["id"] == view["id"]
    at_april = client.get(url, params={"at": "2026-04-01T00:00:00+08:00"}, headers=AUTH).json()
    assert at_april["items"][0]["period"]["start"] == "2026-03-31T16:00:00Z"
    assert client.get(url, params={"at": "soon"}, headers=AUTH).status_code == 400
    advance(container, timedelta(days=90))
    assert client.get(url, headers=AUTH).json()["total"] == 0
    expired = client.get(url, params={"include_expired": "true"}, headers=AUTH).json()
    assert expired["items"][0]["state"] == "expired"

    shown = client.get(f"{API}/packages/{view['id']}", headers=AUTH).json()
    assert shown["id"] == view["id"] and shown["usage"] == {"total": 0, "items": []}
    missing = client.get(f"{API}/packages/nope", headers=AUTH)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "NOT_FOUND"
    # A NUL never reaches the database: the request guard refuses it before routing.
    nul = client.get(f"{API}/packages/no%00pe", headers=AUTH)
    assert nul.status_code == 400 and nul.json()["error"]["code"] == "INVALID_ARGUMENT"


def test_api_coupons(container: Container, client: TestClient) -> None:
    cust = new_customer(container)
    url = f"{API}/customers/{cust.id}/coupons"
    body = {
        "value": "20.00", "valid_to": "2026-04-16T09:00:00Z", "services": ["ecs"],
        "billing_modes": ["pay_per_use"], "min_spend": "5.00", "reference": "api-c1",
    }  # fmt: skip
    issued = client.post(url, json=body, headers=AUTH)
    assert issued.status_code == 201, issued.text
    coupon = issued.json()
    assert coupon["created"] is True and coupon["balance"] == "20.00"
    assert coupon["services"] == ["ecs"] and coupon["min_spend"] == "5.00"
    figures = client.get(f"{API}/customers/{cust.id}/overview", headers=AUTH).json()
    assert figures["coupons"] == "20.00" and figures["expenditure_quota"] == "20.00"
    check_books(container, cust.id)
    assert client.post(url, json=body, headers=AUTH).json()["created"] is False

    for bad, status, code in [
        ({**body, "value": "25.00"}, 409, "IDEMPOTENCY_CONFLICT"),
        ({**body, "reference": "y", "value": 20.0}, 400, "INVALID_AMOUNT"),
        ({**body, "reference": "y", "value": "20.001"}, 400, "TOO_MANY_DECIMALS"),
        ({**body, "reference": "y", "billing_modes": ["often"]}, 400, "INVALID_ARGUMENT"),
        ({**body, "reference": "y", "services": ["nope"]}, 404, "CATALOG_ITEM_NOT_FOUND"),
        ({**body, "reference": "y", "valid_to": "2026-01-01T00:00:00Z"}, 400, "INVALID_ARGUMENT"),
    ]:  # fmt: skip
        api_refused(container, lambda b=bad: client.post(url, json=b, headers=AUTH), status, code)

    listed = client.get(url, params={"status": "active"}, headers=AUTH).json()
    assert [c["id"] for c in listed["items"]] == [coupon["id"]]
    assert client.get(url, params={"status": "nope"}, headers=AUTH).status_code == 400
    shown = client.get(f"{API}/coupons/{coupon['id']}", headers=AUTH).json()
    assert [u["kind"] for u in shown["usage"]["items"]] == ["issued"]

    revoke_url = f"{API}/coupons/{coupon['id']}/revoke"
    revoked = client.post(revoke_url, json={"reason": "test"}, headers=AUTH)
    assert revoked.status_code == 200 and revoked.json()["status"] == "revoked"
    assert [u["kind"] for u in revoked.json()["usage"]["items"]] == ["revoked", "issued"]
    check_books(container, cust.id)
    before = snapshot(container)
    assert client.post(revoke_url, json={"reason": "again"}, headers=AUTH).status_code == 200
    assert snapshot(container) == before

    second = client.post(url, json={**body, "reference": "api-c2"}, headers=AUTH).json()
    advance(container, timedelta(days=31))
    assert client.post(f"{API}/coupons/expire", headers=AUTH).json() == {
        "expired": 1,
        "more": False,
    }
    assert client.post(f"{API}/coupons/expire", headers=AUTH).json()["expired"] == 0
    assert client.get(f"{API}/coupons/{second['id']}", headers=AUTH).json()["status"] == "expired"
    assert client.get(f"{API}/coupons/nope", headers=AUTH).status_code == 404
    check_books(container, cust.id)


# -- the CLI (SQLite only) -------------------------------------------------------------------

runner = CliRunner()
ANSI = re.compile(r"\x1b\[[0-9;]*m")


@pytest.fixture
def cli_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh SQLite file for the CLI, and a fresh cached container around each test."""
    for name in list(os.environ):
        if name.startswith("CLOUDBILL_") and not name.startswith("CLOUDBILL_TEST_"):
            monkeypatch.delenv(name)
    path = tmp_path / "x.sqlite"
    monkeypatch.setenv("CLOUDBILL_DATABASE_URL", f"sqlite:///{path}")
    monkeypatch.chdir(tmp_path)
    cli_context.container.cache_clear()
    yield path
    if cli_context.container.cache_info().currsize:
        cli_context.container().db.dispose()
    cli_context.container.cache_clear()


def run(*args: str) -> Result:
    result = runner.invoke(cli_app, list(args))
    assert result.exit_code == 0, (args, result.exit_code, result.output, result.exception)
    assert result.stderr == "", result.stderr
    return result


def run_json(*args: str) -> Any:
    return json.loads(run(*args, "--json").stdout)


def run_error(*args: str, code: str) -> None:
    """Must fail with one `error: CODE: …` line, exit status 2, and change nothing."""
    before = snapshot(cli_context.container())
    result = runner.invoke(cli_app, list(args))
    assert result.exit_code == 2, (args, result.exit_code, result.output)
    lines = ANSI.sub("", result.stderr).strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {code}: "), result.stderr
    assert result.stdout == ""
    assert snapshot(cli_context.container()) == before


def test_cli_packages(cli_db: Path) -> None:
    run("clock", "simulate", "--at", "2026-03-16T09:00:00Z")
    cid = run_json("customer", "create", "acme", "--currency", "USD")["id"]
    grant_args = ("package", "grant", cid, "--usage-type", "duration", "--quantity", "744",
                  "--unit", "h", "--service", "ecs", "--resource-type", VM, "--spec",
                  "s6.large.2", "--monthly", "--valid-from", "2026-03-01",
                  "--valid-to", "2026-06-01", "--reference", "cli-g1")  # fmt: skip
    granted = run_json(*grant_args)
    assert granted["created"] is True and granted["spec"] == "s6.large.2"
    assert granted["resets_monthly"] is True and granted["remaining"] == "744"
    assert run_json(*grant_args)["created"] is False
    assert "package already granted" in run(*grant_args).stdout
    run_error(*grant_args[:-1], "cli-g2", "--unit", "GB", code="INVALID_ARGUMENT")
    run_error(*grant_args[:-1], "cli-g2", "--quantity", "1e3", code="INVALID_AMOUNT")
    run_error(*grant_args[:-1], "cli-g2", "--valid-to", "someday", code="INVALID_ARGUMENT")
    run_error("package", "grant", "nobody", *grant_args[3:], code="CUSTOMER_NOT_FOUND")

    listed = run_json("package", "list", cid)
    assert listed["total"] == 1 and listed["items"][0]["id"] == granted["id"]
    assert granted["id"] in run("package", "list", cid).stdout
    shown = run_json("package", "show", granted["id"])
    assert shown["usage"] == {"total": 0, "items": []}
    assert "remaining" in run("package", "show", granted["id"]).stdout
    run_error("package", "show", "nope", code="NOT_FOUND")
    run("clock", "advance", "--days", "90")
    assert run_json("package", "list", cid)["total"] == 0
    assert run_json("package", "list", cid, "--all")["items"][0]["state"] == "expired"


def test_cli_coupons(cli_db: Path) -> None:
    run("clock", "simulate", "--at", "2026-03-16T09:00:00Z")
    cid = run_json("customer", "create", "acme", "--currency", "USD")["id"]
    issue_args = ("coupon", "issue", cid, "20.00", "--valid-to", "2026-04-01T00:00:00Z",
                  "--service", "ecs", "--service", "obs", "--billing-mode", "pay_per_use",
                  "--min-spend", "10.00", "--reference", "cli-c1")  # fmt: skip
    coupon = run_json(*issue_args)
    assert coupon["created"] is True and coupon["services"] == ["ecs", "obs"]
    assert coupon["billing_modes"] == ["pay_per_use"] and coupon["min_spend"] == "10.00"
    assert "ecs, obs" in run(*issue_args).stdout
    figures = run_json("customer", "show", cid)["overview"]
    assert figures["coupons"] == "20.00" and figures["expenditure_quota"] == "20.00"
    run_error(*issue_args[:3], "25.00", *issue_args[4:], code="IDEMPOTENCY_CONFLICT")
    run_error(*issue_args[:3], "20.001", *issue_args[4:-1], "c2", code="TOO_MANY_DECIMALS")
    run_error(*issue_args[:-1], "c2", "--billing-mode", "sometimes", code="INVALID_ARGUMENT")

    second = run_json("coupon", "issue", cid, "5", "--valid-to", "2026-05-01", "--reference", "c3")
    assert [c["id"] for c in run_json("coupon", "list", cid)["items"]] == [
        coupon["id"],
        second["id"],
    ]
    assert run_json("coupon", "revoke", second["id"], "--reason", "oops")["status"] == "revoked"
    assert run_json("coupon", "list", cid, "--status", "revoked")["items"][0]["id"] == second["id"]
    run_error("coupon", "list", cid, "--status", "lost", code="INVALID_ARGUMENT")
    run_error("coupon", "revoke", "nope", code="NOT_FOUND")

    assert run_json("coupon", "expire") == {"expired": 0, "more": False}
    run("clock", "advance", "--days", "16")
    assert run_json("coupon", "expire") == {"expired": 1, "more": False}
    assert "0 coupon(s) expired" in run("coupon", "expire").stdout
    shown = run_json("coupon", "show", coupon["id"])
    assert shown["status"] == "expired"
    assert [u["kind"] for u in shown["usage"]["items"]] == ["expired", "issued"]
    assert run_json("customer", "show", cid)["overview"]["coupons"] == "0.00"
    assert run_json("verify")["ok"] is True
    check_books(cli_context.container(), cid)
