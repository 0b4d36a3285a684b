"""Every bill shows all the money: two months of a customer (Shanghai time) with pay-per-use
usage, three monthly purchases (one with a coupon and auto-renew), an upgrade, an unsubscription
with its refund and handling fee, an operator charge and credit, and an automatic renewal.

For each month the engine's summary, the trend, the CSV export, the customer API and the three
BSS bill operations (through the real SDK) show the same totals, and those totals equal the
ledger's movements of the customer's money for services in that month, read from the journal
here, independently of the bills code."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from huaweicloudsdkbssintl.v2 import (
    ListCustomerselfResourceRecordDetailsRequest,
    ListCustomerselfResourceRecordsRequest,
    QueryResRecordsDetailReq,
    ShowCustomerMonthlySumRequest,
)

from cloudbill.bills import export
from cloudbill.bills import service as bills
from cloudbill.bills.views import summary_view, trend_view
from cloudbill.bootstrap import Container
from cloudbill.kernel.money import Money
from cloudbill.kernel.periods import utc
from cloudbill.orders import service as orders
from cloudbill.worker.jobs import run_due, settle_due

from ..helpers import assert_books_balance, ledger_by_month, new_customer
from ..integration.customer_world import CustomerApi, unthrottled_client
from ..integration.test_bill_records import adjust
from ..scenarios.test_orders import LARGE, buy, pay, set_clock, terms
from ..scenarios.test_settlement import advance, hour, meter, register, topup, units
from ..scenarios.test_settlement_benefits import coupon
from .conftest import issue_key, sdk_client, sign
from .sdk_types import assert_conforms, parse

MONTHS = ("2026-03", "2026-04")
TZ = "Asia/Shanghai"


def money(units_: int) -> Decimal:
    return Money(units_, "USD").to_decimal()


@pytest.fixture
def history(container: Container, bss: str) -> dict[str, Any]:
    acme = new_customer(container, "acme", timezone=TZ)
    topup(container, acme.id, "300.00", "seed")
    welcome = coupon(container, acme.id, "welcome", "5.00", billing_modes=["yearly_monthly"])
    register(container, acme.id, "vm-ppu")
    meter(
        container,
        ("u1", "vm-ppu", "duration", "3600", hour(6), hour(7), "s"),
        ("u2", "vm-ppu", "duration", "3600", hour(7), hour(8), "s"),
    )
    advance(container, hours=1)
    assert settle_due(container)
    kept = pay(container, acme.id, buy(container, acme.id, auto_renew=True).id, [welcome.id])
    grown = pay(container, acme.id, buy(container, acme.id).id)
    dropped = pay(container, acme.id, buy(container, acme.id).id)

    advance(container, days=3)
    run_due(container)
    upgrade = container.write(
        lambda conn, now: orders.create_change(
            conn,
            acme.id,
            grown.lines[0].resource_id,
            new_spec=LARGE,
            terms=terms(container),
            now=now,
        )
    )
    upgrade = pay(container, acme.id, upgrade.id)

    advance(container, days=4)  # a week after the purchase: outside the full-refund window
    run_due(container)
    refund = container.write(
        lambda conn, now: orders.unsubscribe(
            conn, acme.id, [dropped.lines[0].resource_id], terms=terms(container), now=now
        )
    )
    adjust(container, acme.id, "adj-charge", service="ecs")
    adjust(container, acme.id, "adj-credit", "credit", "1.25", resource_id="vm-ppu")

    # April: an hour of usage, then the auto-renewal (9 April 03:00 Shanghai)
    set_clock(container, utc(2026, 4, 8, 12, 0, 0))
    meter(container, ("u3", "vm-ppu", "duration", "3600", "2026-04-08T10:00:00Z",
                      "2026-04-08T11:00:00Z", "s"))  # fmt: skip
    run_due(container)
    set_clock(container, utc(2026, 4, 8, 19, 0, 0))
    renewed = run_due(container).subscriptions.renewed
    assert len(renewed) == 1
    assert_books_balance(container)

    key = issue_key(container, acme.id)
    return {
        "customer": acme,
        "orders": {"kept": kept, "grown": grown, "dropped": dropped, "upgrade": upgrade},
        "refund": refund,
        "renewal": container.read(lambda conn, _now: orders.get(conn, renewed[0])),
        "sdk": sdk_client(bss, key.key.id, key.secret, acme.id),
        "signed": lambda method, path, query=None, body=None: sign(
            bss, key.key.id, key.secret, method, path, query, body
        ).send(),
        "api": CustomerApi(unthrottled_client(container), (key.key.id, key.secret)),
    }


def _records(client: Any, request_for: Any) -> list[Any]:
    out, offset = [], 0
    while True:
        page = client.list_customerself_resource_records(request_for(offset))
        out += page.fee_records
        offset += len(page.fee_records)
        if offset >= page.total_count:
            return out


def test_every_view_of_each_month_shows_the_ledgers_money(
    container: Container, history: dict[str, Any]
) -> None:
    acme, sdk, api = history["customer"], history["sdk"], history["api"]
    ledger = ledger_by_month(container, acme.id, TZ)
    trend = container.read(
        lambda conn, now: bills.expenditure_trend(conn, acme.id, months=6, now=now)
    )
    by_month = {m.month: m for m in trend}
    assert api.get("/expenditure-trend?months=6") == trend_view(acme.id, trend)
    for month in MONTHS:
        summary = container.read(
            lambda conn, _now, m=month: bills.monthly_summary(conn, acme.id, m, rounding="half_up")
        )
        exact = summary.exact
        # the bill is the ledger's money for services in the month
        assert exact.amount_units == ledger[month], month
        assert by_month[month].amount_units == exact.amount_units
        assert by_month[month].net_units == exact.net_units
        # CSV: the engine's, and the customer API's byte for byte
        text = container.read(lambda conn, _now, m=month: _csv(conn, acme.id, m))
        rows = list(csv.DictReader(io.StringIO(text)))
        assert len(rows) == summary.fee_records
        assert sum(Decimal(r["amount"]) for r in rows) == money(exact.amount_units)
        assert sum(Decimal(r["net"]) for r in rows) == money(exact.net_units)
        served = api.client.get(f"/customer/v1/bills/{month}/export.csv", auth=api.auth)
        assert served.status_code == 200 and served.text == text
        assert api.get(f"/bills/{month}") == json.loads(json.dumps(summary_view(summary)))
        assert api.get(f"/fee-records?month={month}&limit=1")["total"] == summary.fee_records

        # BSS monthly sum: the bill's totals, and lines that add up to them
        sums = sdk.show_customer_monthly_sum(
            ShowCustomerMonthlySumRequest(bill_cycle=month, limit=1000)
        )
        total = summary.total
        assert sums.consume_amount == money(total["amount"])
        assert (sums.coupon_amount, sums.cash_amount) == (
            money(total["coupon"]),
            money(total["cash"]),
        )
        assert (sums.credit_amount, sums.debt_amount) == (
            money(total["credit"]),
            money(total["debt"]),
        )
        for field in ("consume", "coupon", "cash", "credit", "debt"):
            lines = sum(getattr(line, f"{field}_amount") for line in sums.bill_sums)
            assert lines == getattr(sums, f"{field}_amount"), (month, field)
        for line in sums.bill_sums:
            assert (
                line.official_amount - line.official_discount_amount - (line.truncated_amount)
                == line.consume_amount
            )
            assert line.bill_type in (1, 2, 3)
        # refunds and adjustments are lines of their own (March has all three kinds)
        assert {line.bill_type for line in sums.bill_sums} == (
            {1, 2, 3} if month == "2026-03" else {1}
        )
        assert sums.total_count == len(sums.bill_sums)

        # BSS records one by one, and per resource over the cycle
        records = _records(
            sdk,
            lambda offset, m=month: ListCustomerselfResourceRecordsRequest(
                cycle=m, offset=offset, limit=1000, include_zero_record=True
            ),
        )
        assert len(records) == summary.fee_records
        assert sum(r.amount for r in records) == money(exact.amount_units)
        assert all(r.bill_date is not None and r.bill_date.startswith(month) for r in records)
        details = sdk.list_customerself_resource_record_details(
            ListCustomerselfResourceRecordDetailsRequest(
                body=QueryResRecordsDetailReq(cycle=month, limit=1000)
            )
        )
        assert sum(r.consume_amount for r in details.monthly_records) == money(exact.amount_units)


def _csv(conn: Any, customer_id: str, month: str) -> str:
    out = io.StringIO()
    export.export_month_csv(conn, customer_id, month, out)
    return out.getvalue()


def test_march_holds_each_kind_of_money(container: Container, history: dict[str, Any]) -> None:
    acme, sdk = history["customer"], history["sdk"]
    summary = container.read(
        lambda conn, _now: bills.monthly_summary(conn, acme.id, "2026-03", rounding="half_up")
    )
    (by_type,) = [b for b in summary.breakdowns if b.dimension == "bill_type"]
    lines = {line.key: line.exact for line in by_type.lines}
    refund = history["refund"]
    (refund_line,) = refund.lines
    fee = refund_line.fee_units
    assert fee == units("1.16")  # 10 % of the 11.60 paid
    assert {k: v.amount_units for k, v in lines.items()} == {
        "usage": units("0.1562"),  # two hours at 0.0781
        "new_purchase": units("34.80"),  # three months at 11.60
        "upgrade": history["orders"]["upgrade"].amount_units,
        "unsubscription_refund": refund.amount_units - fee,  # the unused time, before the fee
        "unsubscription_fee": fee,
        "deduction": units("3.00"),
        "compensation": -units("1.25"),
    }
    assert lines["new_purchase"].coupon_units == units("5.00")
    assert lines["unsubscription_refund"].amount_units + fee == refund.amount_units
    (by_mode,) = [b for b in summary.breakdowns if b.dimension == "billing_mode"]
    assert {line.key for line in by_mode.lines} == {"pay_per_use", "yearly_monthly", ""}

    # Huawei's bill type codes, the filters by bill type, charging mode and trade id
    def records(**kw: Any) -> list[Any]:
        return _records(
            sdk,
            lambda offset: ListCustomerselfResourceRecordsRequest(
                cycle="2026-03", offset=offset, limit=1000, **kw
            ),
        )

    # with a service named, the monthly sum has a line per resource type of that service
    ecs = sdk.show_customer_monthly_sum(
        ShowCustomerMonthlySumRequest(
            bill_cycle="2026-03", service_type_code="hws.service.type.ec2"
        )
    )
    assert {line.resource_type_code for line in ecs.bill_sums} == {"hws.resource.type.vm", None}
    assert sum(line.consume_amount for line in ecs.bill_sums) == ecs.consume_amount
    whole = sdk.show_customer_monthly_sum(ShowCustomerMonthlySumRequest(bill_cycle="2026-03"))
    assert {line.resource_type_code for line in whole.bill_sums} == {None}
    assert ecs.consume_amount == whole.consume_amount  # everything this month was ECS

    assert sorted({r.bill_type for r in records()}) == [1, 3, 4, 5, 9, 16]
    refunds = records(bill_type=4)
    assert len(refunds) == 2 and sum(r.amount for r in refunds) == money(refund.amount_units)
    assert {(r.trade_id, r.order_id) for r in refunds} == {(refund.id, refund.id)}
    assert {r.period_type for r in refunds} == {"5"}
    yearly = records(charge_mode="1")
    assert sum(r.amount for r in yearly) == money(
        sum(lines[k].amount_units for k in lines if k not in ("usage", "deduction", "compensation"))
    )
    (kept,) = records(trade_id=history["orders"]["kept"].id)
    assert (kept.bill_type, kept.charge_mode, kept.period_type) == (1, "1", "20")
    assert (kept.coupon_amount, kept.cash_amount, kept.period_num) == (
        Decimal("5.00"),
        Decimal("6.60"),
        1,
    )
    assert kept.effective_time is not None and kept.expire_time is not None
    assert kept.product_spec_desc and kept.product_spec_desc != kept.sku_code
    (charge,) = records(bill_type=16)
    assert (charge.trade_id, charge.cloud_service_type) == ("adj-charge", "hws.service.type.ec2")
    (credit,) = records(bill_type=9)
    assert (credit.resource_id, credit.amount) == ("vm-ppu", Decimal("-1.25"))
    usage = records(bill_type=5)
    assert {r.usage_measure_id for r in usage} == {4}  # hours
    assert records(bill_type=15) == []  # taxes: cloudbill bills none


def test_april_holds_the_automatic_renewal(container: Container, history: dict[str, Any]) -> None:
    acme, api = history["customer"], history["api"]
    renewal = history["renewal"]
    renewed = api.get("/fee-records?month=2026-04&bill_type=auto_renewal")["items"]
    assert [(r["order_id"], r["amount"], r["cash"]) for r in renewed] == [
        (renewal.id, "11.60", "11.60")
    ]
    (line,) = renewal.lines
    assert renewed[0]["period_start"] == line.period_start.isoformat().replace("+00:00", "Z")
    refunds = api.get("/fee-records?month=2026-03&bill_type=refund")["items"]
    assert {r["bill_type"] for r in refunds} == {"unsubscription_refund", "unsubscription_fee"}
    api.refused("GET", "/fee-records?bill_type=gift", 400, "INVALID_ARGUMENT")
    api.refused("GET", "/fee-records?billing_mode=monthly", 400, "INVALID_ARGUMENT")
    trend = container.read(
        lambda conn, now: bills.expenditure_trend(conn, acme.id, months=2, now=now)
    )
    assert [m.amount_rounded_units for m in trend][-1] == units("11.68")  # 11.60 + 0.0781
    assert timedelta(0) < line.period_end - line.period_start


@pytest.mark.parametrize("statistic", [1, 2, 3])
def test_answers_are_typed_as_the_sdk_declares(history: dict[str, Any], statistic: int) -> None:
    """Numbers where the SDK declares numbers, in plain notation; text where it declares text;
    and the fields cloudbill knows filled in."""
    signed = history["signed"]
    for month in MONTHS:
        answers = {
            "ShowCustomerMonthlySumResponse": signed(
                "GET", "/v2/bills/customer-bills/monthly-sum", {"bill_cycle": month}
            ),
            "ListCustomerselfResourceRecordsResponse": signed(
                "GET",
                "/v2/bills/customer-bills/res-fee-records",
                {"cycle": month, "statistic_type": statistic, "limit": 1000},
            ),
            "ListCustomerselfResourceRecordDetailsResponse": signed(
                "POST",
                "/v2/bills/customer-bills/res-records/query",
                body={"cycle": month, "statistic_type": statistic, "limit": 1000},
            ),
        }
        for model, response in answers.items():
            assert response.status_code == 200, response.text
            body = parse(response.text)
            assert_conforms(body, model)
        for record in parse(answers["ListCustomerselfResourceRecordsResponse"].text)["fee_records"]:
            for field in ("bill_date", "bill_type", "charge_mode", "sku_code", "product_spec_desc"):
                if record["bill_type"] not in (9, 16):  # adjustments name no spec
                    assert record[field] is not None, (field, record)
            if record["bill_type"] == 5:
                assert record["usage_measure_id"] is not None
                assert record["resource_type_name"] is not None
