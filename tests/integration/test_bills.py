"""Bills: monthly summaries, fee record views, package usage, the expenditure trend and the CSV
export, on SQLite and PostgreSQL.

Fee records are inserted directly (settlement is another stage), so every figure is known
exactly; amounts are compared as Decimals, never floats.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import re
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import insert
from typer.testing import CliRunner

from cloudbill.api.app import create_app
from cloudbill.bills import export, rules, service
from cloudbill.bills.model import FIGURES, Figures
from cloudbill.bills.views import summary_view
from cloudbill.bootstrap import Container
from cloudbill.cli import app as cli_app
from cloudbill.cli import bills as cli_bills
from cloudbill.kernel.errors import CloudbillError
from cloudbill.kernel.money import Money, Rounding
from cloudbill.kernel.periods import utc
from cloudbill.store.schema import fee_record, package_usage, resource_package, settlement_run
from tests.helpers import new_customer, snapshot

API = "/operator/v1"
AUTH = {"Authorization": "Bearer test-token"}
VM, DISK = "hws.resource.type.vm", "hws.resource.type.volume"
HALF_UP, TRUNCATE = Rounding.HALF_UP, Rounding.TRUNCATE
ANSI = re.compile(r"\x1b\[[0-9;]*m")


# -- building known data ---------------------------------------------------------------------


def units(text: str) -> int:
    value = Decimal(text).scaleb(8)
    assert value == value.to_integral_value(), text
    return int(value)


def fee(customer_id: str, hour: datetime, **kw: Any) -> dict[str, Any]:
    """One fee record; paid in cash unless told otherwise (coupon + cash + credit + debt)."""
    official, discount = Decimal(kw.pop("official", "1")), Decimal(kw.pop("discount", "0"))
    amount = official - discount
    paid = {k: Decimal(kw.pop(k, "0")) for k in ("coupon", "credit", "debt")}
    cash = Decimal(kw.pop("cash", amount - sum(paid.values())))
    assert sum(paid.values()) + cash == amount
    row = {
        "customer_id": customer_id, "resource_id": "vm-1", "service": "ecs",
        "resource_type": VM, "spec": "s6.large.2", "region": "ap-southeast-1",
        "billing_mode": "pay_per_use", "usage_type": "duration", "hour_start": hour,
        "is_late": False, "currency": "USD", "pricing_unit": "h",
        "usage_e10": units(kw.pop("usage", "1")) * 100, "package_usage_e10": 0,
        "unit_price": "0.0781", "official_units": units(str(official)),
        "discount_units": units(str(discount)), "amount_units": units(str(amount)),
        "cash_units": units(str(cash)), "ledger_transaction_id": None, "created_at": hour,
        **{f"{k}_units": units(str(v)) for k, v in paid.items()},
    }  # fmt: skip
    row.update(kw)
    return row


_RUN_HOURS = itertools.count()


def add_run(conn: Any, now: datetime, fees: int) -> int:
    """A settlement run to hang rows on (its hour is unique; which one does not matter here)."""
    hour = utc(2000, 1, 1) + timedelta(hours=next(_RUN_HOURS))
    return conn.execute(
        insert(settlement_run).values(
            hour_start=hour, watermark_seq=0, records=fees, late_records=0, fees=fees,
            customers=1, started_at=now, finished_at=now,
        )
    ).inserted_primary_key[0]  # fmt: skip


def add_fees(container: Container, rows: list[dict[str, Any]]) -> None:
    def work(conn, now):  # type: ignore[no-untyped-def]
        run_id = add_run(conn, now, len(rows))
        conn.execute(insert(fee_record), [{**r, "settlement_id": run_id} for r in rows])

    container.write(work)


def summary(container: Container, customer_id: str, month: str, rounding=HALF_UP):  # type: ignore[no-untyped-def]
    return container.read(
        lambda conn, _now: service.monthly_summary(conn, customer_id, month, rounding=rounding)
    )


def fees(container: Container, customer_id: str, **kw: Any):  # type: ignore[no-untyped-def]
    return container.read(lambda conn, _now: service.fee_records(conn, customer_id, **kw))


def read_error(container: Container, work: Any) -> CloudbillError:
    before = snapshot(container)
    with pytest.raises(CloudbillError) as caught:
        container.read(lambda conn, now: work(conn, now))
    assert snapshot(container) == before
    return caught.value


def d(text: str) -> Decimal:
    assert isinstance(text, str), f"amounts are decimal strings, got {text!r}"
    return Decimal(text)


def assert_lines_add_up(view: dict[str, Any]) -> None:
    for key in ("by_service", "by_resource_type", "by_billing_mode"):
        part = view[key]
        for name in FIGURES:
            printed = sum((d(line[name]) for line in part["lines"]), Decimal(0))
            assert printed + d(part["rounding_adjustment"][name]) == d(view["total"][name]), (
                key,
                name,
            )


# -- monthly summary -------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(
    lines=st.lists(st.integers(min_value=-(10**12), max_value=10**12), max_size=12),
    rounding=st.sampled_from(list(Rounding)),
    currency=st.sampled_from(["USD", "JPY", "KWD"]),
)
def test_rounded_lines_plus_adjustment_equal_the_total(
    lines: list[int], rounding: Rounding, currency: str
) -> None:
    rows = [
        (f"k{i}", Figures(official_units=u, amount_units=u, cash_units=u))
        for i, u in enumerate(lines)
    ]
    exact = rules.add_figures([f for _, f in rows])
    total = rules.round_figures(exact, currency, rounding)
    result = rules.breakdown("service", rows, total, currency, rounding)
    quantum = 10 ** (8 - Money.zero(currency).digits)
    for name in FIGURES:
        printed = sum(line.rounded[name] for line in result.lines)
        assert printed + result.rounding_adjustment[name] == total[name]
        assert total[name] % quantum == 0  # the total is rounded to the currency's digits
        assert abs(total[name] - exact.units()[name]) < quantum  # and rounded once, not drifted


def test_summary_rounds_once_and_carries_the_rounding_adjustment(container: Container) -> None:
    cid = new_customer(container).id
    third = "0.33333333"
    add_fees(
        container,
        [
            fee(cid, utc(2026, 3, 2, 10), service="ecs", resource_type=VM, official=third),
            fee(cid, utc(2026, 3, 2, 11), service="evs", resource_type=DISK, official=third,
                resource_id="disk-1"),
            fee(cid, utc(2026, 3, 2, 12), service="eip", resource_type="hws.resource.type.ip",
                official=third, resource_id="eip-1", billing_mode="yearly_monthly"),
        ],
    )  # fmt: skip
    result = summary(container, cid, "2026-03")
    view = summary_view(result)
    assert view["fee_records"] == 3 and view["currency"] == "USD" and view["rounding"] == "half_up"
    assert view["exact"]["amount"] == "0.99999999"
    assert view["total"]["amount"] == "1.00" and view["total"]["official"] == "1.00"
    assert view["truncated_amount"] == "-0.00000001"
    lines = view["by_service"]["lines"]
    assert [line["service"] for line in lines] == ["ecs", "eip", "evs"]
    assert all(line["amount"] == "0.33" for line in lines)
    assert view["by_service"]["rounding_adjustment"]["amount"] == "0.01"
    assert view["by_resource_type"]["rounding_adjustment"]["amount"] == "0.01"
    by_mode = {line["billing_mode"]: line["amount"] for line in view["by_billing_mode"]["lines"]}
    assert by_mode == {"pay_per_use": "0.67", "yearly_monthly": "0.33"}
    assert view["by_billing_mode"]["rounding_adjustment"]["amount"] == "0.00"
    assert_lines_add_up(view)
    # exact = printed total + truncated, for every figure
    for name in FIGURES:
        assert d(view["exact"][name]) == d(view["total"][name]) + d(view["truncated"][name])

    truncated = summary_view(summary(container, cid, "2026-03", rounding=TRUNCATE))
    assert truncated["total"]["amount"] == "0.99"
    assert truncated["by_service"]["rounding_adjustment"]["amount"] == "0.00"
    assert truncated["truncated_amount"] == "0.00999999"
    assert_lines_add_up(truncated)


def test_summary_figures_coupons_and_net_amount(container: Container) -> None:
    cid = new_customer(container).id
    add_fees(
        container,
        [
            fee(cid, utc(2026, 3, 5, 0), official="10.00000000", discount="1.00000001",
                coupon="2.12345678", credit="0.5", debt="0.25"),
            fee(cid, utc(2026, 3, 5, 1), official="0.00000003", discount="0.00000001",
                coupon="0.00000002", service="evs", resource_type=DISK, resource_id="d-1"),
        ],
    )  # fmt: skip
    view = summary_view(summary(container, cid, "2026-03"))
    exact = {name: d(v) for name, v in view["exact"].items()}
    assert exact["official"] == Decimal("10.00000003")
    assert exact["amount"] == exact["official"] - exact["discount"] == Decimal("9.00000001")
    assert exact["coupon"] + exact["cash"] + exact["credit"] + exact["debt"] == exact["amount"]
    assert exact["net"] == exact["amount"] - exact["coupon"] == Decimal("6.87654321")
    assert view["total"] == {
        "official": "10.00", "discount": "1.00", "amount": "9.00", "coupon": "2.12",
        "cash": "6.13", "credit": "0.50", "debt": "0.25", "net": "6.88",
    }  # fmt: skip
    assert_lines_add_up(view)


def test_month_boundaries_follow_the_customer_time_zone(container: Container) -> None:
    shanghai = new_customer(container, "sh", timezone="Asia/Shanghai").id
    london = new_customer(container, "utc").id
    hours = [utc(2026, 3, 31, 15), utc(2026, 3, 31, 16), utc(2026, 3, 31, 17)]
    add_fees(container, [fee(c, h) for c in (shanghai, london) for h in hours])
    # 15:00Z is 23:00 on March 31 in Shanghai; 16:00Z and 17:00Z are already April there.
    assert summary(container, shanghai, "2026-03").fee_records == 1
    april = summary(container, shanghai, "2026-04")
    assert april.fee_records == 2
    assert summary_view(april)["period"]["start"] == "2026-03-31T16:00:00Z"
    assert summary(container, london, "2026-03").fee_records == 3
    assert summary(container, london, "2026-04").fee_records == 0
    empty = summary_view(summary(container, london, "2026-04"))
    assert empty["total"]["amount"] == "0.00" and empty["by_service"]["lines"] == []


# -- fee records -----------------------------------------------------------------------------


def test_day_granularity_splits_at_local_midnight(container: Container) -> None:
    cid = new_customer(container, timezone="Asia/Shanghai").id
    add_fees(
        container,
        [
            fee(cid, utc(2026, 3, 30, 15), official="0.1"),  # Mar 30, 23:00 local
            fee(cid, utc(2026, 3, 30, 16), official="0.2"),  # Mar 31, 00:00 local
            fee(cid, utc(2026, 3, 30, 17), official="0.3"),
            fee(cid, utc(2026, 3, 30, 17), official="0.4", usage_type="traffic"),
            fee(cid, utc(2026, 3, 30, 17), official="0.5", resource_id="vm-2"),
        ],
    )
    rows, total = fees(container, cid, month="2026-03", granularity="day")
    assert total == 4
    got = [(r.day.isoformat(), r.item.resource_id, r.item.usage_type, r.records) for r in rows]
    assert got == [
        ("2026-03-30", "vm-1", "duration", 1),
        ("2026-03-31", "vm-1", "duration", 2),
        ("2026-03-31", "vm-1", "traffic", 1),
        ("2026-03-31", "vm-2", "duration", 1),
    ]
    assert rows[1].figures.amount_units == units("0.5")
    assert rows[1].first_hour == utc(2026, 3, 30, 16) and rows[1].last_hour == utc(2026, 3, 30, 17)
    by_resource, total = fees(container, cid, month="2026-03", granularity="resource")
    assert total == 3 and by_resource[0].records == 3 and by_resource[0].day is None
    assert by_resource[0].figures.amount_units == units("0.6")
    # an explicit range that starts mid-day
    ranged, _ = fees(
        container, cid, start="2026-03-30T16:00:00Z", end="2026-03-31T00:00:00Z",
        granularity="day", resource_id="vm-1", usage_type="duration",
    )  # fmt: skip
    assert [(r.day.isoformat(), r.records) for r in ranged] == [("2026-03-31", 2)]


def test_day_granularity_on_a_dst_day(container: Container) -> None:
    # Berlin moves to summer time on 2026-03-29: that local day has 23 hours.
    cid = new_customer(container, timezone="Europe/Berlin").id
    add_fees(container, [fee(cid, utc(2026, 3, 28, 23)), fee(cid, utc(2026, 3, 29, 21)),
                         fee(cid, utc(2026, 3, 29, 22))])  # fmt: skip
    rows, _ = fees(container, cid, month="2026-03", granularity="day")
    assert [(r.day.isoformat(), r.records) for r in rows] == [("2026-03-29", 2), ("2026-03-30", 1)]


def test_fee_record_paging_and_filters(container: Container) -> None:
    cid = new_customer(container).id
    other = new_customer(container, "other").id
    rows = [fee(cid, utc(2026, 3, 1) + timedelta(hours=h)) for h in range(7)]
    add_fees(container, [*rows, fee(other, utc(2026, 3, 1), resource_id="theirs")])
    seen = []
    for offset in (0, 3, 6):
        page, total = fees(container, cid, month="2026-03", limit=3, offset=offset)
        assert total == 7
        seen += [r.id for r in page]
    hours = [r.hour_start for r in fees(container, cid, month="2026-03", limit=10)[0]]
    assert len(seen) == len(set(seen)) == 7 and hours == sorted(hours)
    assert fees(container, cid, month="2026-03", offset=50) == ([], 7)
    assert fees(container, cid)[1] == 7  # no period: everything of the customer
    # another customer's resource id matches nothing
    assert fees(container, cid, resource_id="theirs") == ([], 0)
    assert fees(container, cid, service="evs") == ([], 0)
    day_page, day_total = fees(container, cid, month="2026-03", granularity="day", limit=1)
    assert day_total == 1 and day_page[0].records == 7


@pytest.mark.parametrize(
    ("kw", "code"),
    [
        ({"month": "2026-13"}, "INVALID_ARGUMENT"),
        ({"month": "march"}, "INVALID_ARGUMENT"),
        ({"month": "0001-01"}, "INVALID_ARGUMENT"),
        ({"granularity": "week"}, "INVALID_ARGUMENT"),
        ({"limit": 0}, "INVALID_ARGUMENT"),
        ({"limit": 1001}, "INVALID_ARGUMENT"),
        ({"offset": -1}, "INVALID_ARGUMENT"),
        ({"offset": 10**30}, "LIMIT_EXCEEDED"),
        ({"granularity": "day"}, "INVALID_ARGUMENT"),
        ({"month": "2026-03", "start": "2026-03-01T00:00:00Z"}, "INVALID_ARGUMENT"),
        ({"start": "2026-03-01T00:00:00Z"}, "INVALID_ARGUMENT"),
        ({"start": "yesterday", "end": "2026-03-01T00:00:00Z"}, "INVALID_ARGUMENT"),
        ({"start": "2026-03-02T00:00:00Z", "end": "2026-03-01T00:00:00Z"}, "INVALID_ARGUMENT"),
        ({"start": "2026-01-01T00:00Z", "end": "2026-06-01T00:00Z", "granularity": "day"},
         "LIMIT_EXCEEDED"),
        ({"resource_id": "x" * 200}, "INVALID_ARGUMENT"),
        ({"resource_id": "a\x00b"}, "INVALID_ARGUMENT"),
    ],
)  # fmt: skip
def test_fee_records_bad_input(container: Container, kw: dict[str, Any], code: str) -> None:
    cid = new_customer(container).id
    error = read_error(container, lambda conn, _now: service.fee_records(conn, cid, **kw))
    assert error.code == code


def test_unknown_customer_and_bad_month_everywhere(container: Container) -> None:
    cid = new_customer(container).id
    calls = [
        lambda conn, now: service.monthly_summary(conn, "nobody", "2026-03", rounding=HALF_UP),
        lambda conn, now: service.fee_records(conn, "nobody"),
        lambda conn, now: service.package_usage_records(conn, "nobody"),
        lambda conn, now: service.expenditure_trend(conn, "nobody", now=now),
        lambda conn, now: export.plan_export(conn, "nobody", "2026-03"),
    ]
    for call in calls:
        assert read_error(container, call).code == "CUSTOMER_NOT_FOUND"
    bad_month = [
        lambda conn, now: service.monthly_summary(conn, cid, "2026-00", rounding=HALF_UP),
        lambda conn, now: service.package_usage_records(conn, cid, month="26-03"),
        lambda conn, now: export.plan_export(conn, cid, "9999-12"),
    ]
    for call in bad_month:
        assert read_error(container, call).code == "INVALID_ARGUMENT"


# -- package usage ---------------------------------------------------------------------------


def add_package(container: Container, customer_id: str, package_id: str) -> None:
    start = utc(2026, 3, 1)
    container.write(
        lambda conn, now: conn.execute(
            insert(resource_package).values(
                id=package_id, customer_id=customer_id, name=f"{package_id} 744 h",
                usage_type="duration", pricing_unit="h", quantity_e10=744 * 10**10,
                reset_kind="monthly_calendar", valid_from=start, valid_to=utc(2027, 3, 1),
                source="granted", reference=f"ref-{package_id}", created_at=start,
            )
        )
    )  # fmt: skip


def add_package_usage(container: Container, rows: list[tuple[str, str, datetime, int]]) -> None:
    def work(conn, now):  # type: ignore[no-untyped-def]
        run_id = add_run(conn, now, 0)
        conn.execute(
            insert(package_usage),
            [
                {"package_id": p, "period_start": utc(2026, 3, 1), "settlement_id": run_id,
                 "customer_id": c, "resource_id": "vm-1", "hour_start": h, "quantity_e10": q}
                for p, c, h, q in rows
            ],
        )  # fmt: skip

    container.write(work)


def test_package_usage_records(container: Container) -> None:
    cid = new_customer(container).id
    other = new_customer(container, "other").id
    add_package(container, cid, "pkg-a")
    add_package(container, cid, "pkg-b")
    add_package(container, other, "pkg-x")
    add_package_usage(
        container,
        [
            ("pkg-a", cid, utc(2026, 3, 1, 1), 10**10),
            ("pkg-a", cid, utc(2026, 3, 1, 0), 5 * 10**9),
            ("pkg-b", cid, utc(2026, 4, 1, 0), 1),
            ("pkg-x", other, utc(2026, 3, 1, 0), 10**10),
        ],
    )

    def records(**kw: Any):  # type: ignore[no-untyped-def]
        return container.read(lambda conn, _now: service.package_usage_records(conn, cid, **kw))

    rows, total = records()
    assert total == 3 and [r.hour_start for r in rows] == sorted(r.hour_start for r in rows)
    from cloudbill.bills.views import package_use_view

    first = package_use_view(rows[0])
    assert first["package_name"] == "pkg-a 744 h" and first["quantity"] == "0.5"
    assert package_use_view(rows[2])["quantity"] == "0.0000000001"
    assert records(package_id="pkg-a")[1] == 2
    assert records(month="2026-04")[1] == 1
    assert records(package_id="pkg-x") == ([], 0)  # another customer's package
    page, total = records(limit=1, offset=1)
    assert total == 3 and page[0].hour_start == utc(2026, 3, 1, 1)


# -- expenditure trend -----------------------------------------------------------------------


def trend(container: Container, customer_id: str, now: datetime, months: int = 6):  # type: ignore[no-untyped-def]
    return container.read(
        lambda conn, _now: service.expenditure_trend(conn, customer_id, months=months, now=now)
    )


def test_trend_zero_fills_and_crosses_the_year(container: Container) -> None:
    cid = new_customer(container, timezone="Asia/Shanghai").id
    add_fees(
        container,
        [
            fee(cid, utc(2025, 8, 20), official="100"),  # before the window
            fee(cid, utc(2025, 9, 1), official="1.005", coupon="0.5"),
            fee(cid, utc(2025, 12, 31, 16), official="2"),  # Jan 1 00:00 in Shanghai
            fee(cid, utc(2026, 2, 27), official="3", coupon="3"),
            fee(cid, utc(2026, 2, 28, 16), official="50"),  # March in Shanghai: after now
        ],
    )
    months = trend(container, cid, now=utc(2026, 2, 28, 15, 59))
    assert [m.month for m in months] == [
        "2025-09", "2025-10", "2025-11", "2025-12", "2026-01", "2026-02",
    ]  # fmt: skip
    from cloudbill.bills.views import trend_view

    view = {m["month"]: m for m in trend_view(cid, months)["months"]}
    assert view["2025-09"]["amount"] == "1.01" and view["2025-09"]["amount_exact"] == "1.005"
    assert view["2025-09"]["net_amount"] == "0.51"  # 0.505 rounded half-up, once
    assert view["2025-10"]["amount"] == view["2025-11"]["net_amount"] == "0.00"
    assert view["2025-12"]["amount"] == "0.00" and view["2026-01"]["amount"] == "2.00"
    assert view["2026-02"]["amount"] == "3.00" and view["2026-02"]["net_amount"] == "0.00"
    assert view["2026-01"]["start"] == "2025-12-31T16:00:00Z"
    one = trend(container, cid, now=utc(2026, 2, 28, 16), months=1)
    assert [(m.month, m.amount_units) for m in one] == [("2026-03", units("50"))]
    for bad in (0, 37, True):
        error = read_error(
            container,
            lambda conn, now, bad=bad: service.expenditure_trend(conn, cid, months=bad, now=now),
        )
        assert error.code == "INVALID_ARGUMENT"


# -- CSV export ------------------------------------------------------------------------------


def parse_csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_export_sums_exactly_to_the_summary(container: Container) -> None:
    cid = new_customer(container, timezone="Asia/Shanghai").id
    add_fees(
        container,
        [
            fee(cid, utc(2026, 3, 10, 2), official="0.33333333", resource_id="b"),
            fee(cid, utc(2026, 3, 10, 1), official="0.12345678", coupon="0.1", resource_id="z"),
            fee(cid, utc(2026, 3, 10, 1), official="7", discount="0.7", resource_id="a"),
            fee(cid, utc(2026, 3, 31, 16), official="9"),  # April in Shanghai
        ],
    )
    out = io.StringIO()
    written = container.read(lambda conn, _now: export.export_month_csv(conn, cid, "2026-03", out))
    rows = parse_csv(out.getvalue())
    assert written == len(rows) == 3
    assert [(r["hour_start"], r["resource_id"]) for r in rows] == [
        ("2026-03-10T01:00:00Z", "a"), ("2026-03-10T01:00:00Z", "z"),
        ("2026-03-10T02:00:00Z", "b"),
    ]  # fmt: skip
    assert rows[0]["hour_start_local"] == "2026-03-10T09:00:00+08:00"
    assert rows[1]["amount"] == "0.12345678" and rows[1]["net"] == "0.02345678"
    totals = summary_view(summary(container, cid, "2026-03"))
    for name in FIGURES:
        assert sum((d(r[name]) for r in rows), Decimal(0)) == d(totals["exact"][name]), name
    assert sum(Decimal(r["usage"]) for r in rows) == 3


def test_export_streams_every_row_once_in_small_chunks(container: Container) -> None:
    cid = new_customer(container).id
    base = utc(2026, 3, 3)
    rows = [
        fee(cid, base + timedelta(hours=h), resource_id=f"r{n}", official=f"0.0000000{n + 1}")
        for h in range(3)
        for n in range(3)
    ]
    # late fees: written after the others (higher ids) for earlier hours
    late = [fee(cid, base, resource_id="r1", is_late=True, official="0.5") for _ in range(2)]
    add_fees(container, rows)
    add_fees(container, late)
    seen_chunks: list[str] = []

    def work(conn, _now):  # type: ignore[no-untyped-def]
        plan = export.plan_export(conn, cid, "2026-03")
        seen_chunks.extend(export.csv_chunks(conn, plan, chunk_size=2))

    container.read(work)
    assert len(seen_chunks) == 1 + 6  # header + 11 rows in chunks of 2
    parsed = parse_csv("".join(seen_chunks))
    ids = [int(r["id"]) for r in parsed]
    assert len(parsed) == 11 and len(set(ids)) == 11
    keys = [(r["hour_start"], r["resource_id"], int(r["id"])) for r in parsed]
    assert keys == sorted(keys)
    assert [r["is_late"] for r in parsed[:5]] == ["false", "false", "true", "true", "false"]
    # the same with a chunk of one and of exactly the row count
    for size in (1, 11):
        out = io.StringIO()
        container.read(
            lambda conn, _now, size=size, out=out: export.export_month_csv(
                conn, cid, "2026-03", out, chunk_size=size
            )
        )
        assert [int(r["id"]) for r in parse_csv(out.getvalue())] == ids


# -- API -------------------------------------------------------------------------------------


@pytest.fixture
def client(container: Container) -> TestClient:
    return TestClient(create_app(container))


def test_api_routes(container: Container, client: TestClient) -> None:
    cid = new_customer(container).id
    add_fees(container, [fee(cid, utc(2026, 3, 1, h), official="0.33333333") for h in range(3)])
    add_package(container, cid, "pkg-a")
    add_package_usage(container, [("pkg-a", cid, utc(2026, 3, 1), 10**10)])
    got = client.get(f"{API}/customers/{cid}/bills/2026-03", headers=AUTH)
    assert got.status_code == 200, got.text
    body = got.json()
    assert body["total"]["amount"] == "1.00" and body["exact"]["amount"] == "0.99999999"
    assert_lines_add_up(body)
    got = client.get(
        f"{API}/customers/{cid}/fee-records",
        params={"month": "2026-03", "granularity": "hour", "limit": 2, "offset": 1},
        headers=AUTH,
    )
    assert got.status_code == 200, got.text
    assert got.json()["total"] == 3 and len(got.json()["items"]) == 2
    assert got.json()["items"][0]["amount"] == "0.33333333"
    day = client.get(
        f"{API}/customers/{cid}/fee-records",
        params={"month": "2026-03", "granularity": "day"},
        headers=AUTH,
    ).json()
    assert day["items"][0]["day"] == "2026-03-01" and day["items"][0]["records"] == 3
    pkg = client.get(f"{API}/customers/{cid}/package-usage", headers=AUTH).json()
    assert pkg["total"] == 1 and pkg["items"][0]["quantity"] == "1"
    trend_body = client.get(f"{API}/customers/{cid}/expenditure-trend", headers=AUTH).json()
    assert [m["month"] for m in trend_body["months"]][-1] == "2026-03"  # the clock: T0
    assert len(trend_body["months"]) == 6 and trend_body["months"][-1]["amount"] == "1.00"
    csv_resp = client.get(f"{API}/customers/{cid}/bills/2026-03/export.csv", headers=AUTH)
    assert csv_resp.status_code == 200
    assert csv_resp.headers["content-type"].startswith("text/csv")
    assert f"cloudbill-{cid}-2026-03.csv" in csv_resp.headers["content-disposition"]
    assert sum(d(r["amount"]) for r in parse_csv(csv_resp.text)) == Decimal("0.99999999")


@pytest.mark.parametrize(
    ("path", "params", "status", "code"),
    [
        ("/customers/{cid}/bills/2026-3x", {}, 400, "INVALID_ARGUMENT"),
        ("/customers/nobody/bills/2026-03", {}, 404, "CUSTOMER_NOT_FOUND"),
        ("/customers/a%00b/bills/2026-03", {}, 400, "INVALID_ARGUMENT"),
        ("/customers/a%00b/fee-records", {}, 400, "INVALID_ARGUMENT"),
        ("/customers/{cid}/fee-records", {"service": "a\x00"}, 400, "INVALID_ARGUMENT"),
        ("/customers/{cid}/bills/2026-13/export.csv", {}, 400, "INVALID_ARGUMENT"),
        ("/customers/nobody/bills/2026-03/export.csv", {}, 404, "CUSTOMER_NOT_FOUND"),
        ("/customers/{cid}/fee-records", {"granularity": "week"}, 400, "INVALID_ARGUMENT"),
        ("/customers/{cid}/fee-records", {"limit": 0}, 400, "INVALID_ARGUMENT"),
        ("/customers/{cid}/fee-records", {"offset": -1}, 400, "INVALID_ARGUMENT"),
        ("/customers/{cid}/fee-records", {"granularity": "day"}, 400, "INVALID_ARGUMENT"),
        ("/customers/{cid}/package-usage", {"month": "x"}, 400, "INVALID_ARGUMENT"),
        ("/customers/{cid}/expenditure-trend", {"months": 0}, 400, "INVALID_ARGUMENT"),
        ("/customers/{cid}/expenditure-trend", {"months": 99}, 400, "INVALID_ARGUMENT"),
    ],
)
def test_api_bad_input(
    container: Container, client: TestClient, path: str, params: dict, status: int, code: str
) -> None:
    cid = new_customer(container).id
    before = snapshot(container)
    got = client.get(API + path.format(cid=cid), params=params, headers=AUTH)
    assert got.status_code == status, got.text
    assert got.json()["error"]["code"] == code
    assert snapshot(container) == before


def test_api_export_streams_in_chunks(
    container: Container, client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    import cloudbill.api.shared.bills as api_bills

    monkeypatch.setattr(api_bills, "EXPORT_CHUNK_ROWS", 3)
    cid = new_customer(container).id
    add_fees(container, [fee(cid, utc(2026, 3, 1, h % 5), resource_id=f"r{h}") for h in range(10)])
    got = client.get(f"{API}/customers/{cid}/bills/2026-03/export.csv", headers=AUTH)
    assert got.status_code == 200
    rows = parse_csv(got.text)
    assert len(rows) == len({r["id"] for r in rows}) == 10
    assert sum(d(r["amount"]) for r in rows) == 10


def test_api_needs_the_operator_token(container: Container, client: TestClient) -> None:
    cid = new_customer(container).id
    got = client.get(f"{API}/customers/{cid}/bills/2026-03")
    assert got.status_code == 401 and got.json()["error"]["code"] == "UNAUTHENTICATED"


# -- CLI -------------------------------------------------------------------------------------

runner = CliRunner()


@pytest.fixture
def cli(container: Container, monkeypatch: pytest.MonkeyPatch) -> Container:
    """The CLI commands on the test's database (SQLite and PostgreSQL)."""
    monkeypatch.setattr(cli_bills, "container", lambda: container)
    return container


def cli_ok(*args: str) -> str:
    result = runner.invoke(cli_app, ["bill", *args])
    assert result.exit_code == 0, (args, result.output, result.exception)
    assert result.stderr == ""
    return result.stdout


def cli_error(*args: str, code: str) -> None:
    result = runner.invoke(cli_app, ["bill", *args])
    assert result.exit_code == 2, (args, result.output)
    lines = ANSI.sub("", result.stderr).strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {code}: "), result.stderr
    assert result.stdout == ""


def test_cli_commands(cli: Container, tmp_path: Path) -> None:
    cid = new_customer(cli).id
    add_fees(
        cli,
        [
            fee(
                cid,
                utc(2026, 3, 1, h),
                official="0.33333333",
                service=code,
                resource_id=f"{code}-1",
            )
            for h, code in enumerate(("ecs", "evs", "eip"))
        ],
    )
    view = json.loads(cli_ok("summary", cid, "2026-03", "--json"))
    assert view["total"]["amount"] == "1.00"
    assert view["by_service"]["rounding_adjustment"]["amount"] == "0.01"
    table = cli_ok("summary", cid, "2026-03")
    assert "rounding adjustment" in table and "0.99999999" not in table
    day = json.loads(cli_ok("fees", cid, "--month", "2026-03", "--by", "day", "--json"))
    assert day["total"] == 3 and {i["day"] for i in day["items"]} == {"2026-03-01"}
    assert sum(d(i["amount"]) for i in day["items"]) == Decimal("0.99999999")
    page = json.loads(cli_ok("fees", cid, "--limit", "1", "--offset", "2", "--json"))
    assert page["total"] == 3 and len(page["items"]) == 1
    assert "evs-1" in cli_ok("fees", cid, "--by", "resource", "--resource", "evs-1")
    assert json.loads(cli_ok("packages", cid, "--json")) == {"total": 0, "items": []}
    months = json.loads(cli_ok("trend", cid, "--months", "3", "--json"))["months"]
    assert [m["month"] for m in months] == ["2026-01", "2026-02", "2026-03"]
    stdout_csv = parse_csv(cli_ok("export", cid, "2026-03"))
    assert len(stdout_csv) == 3
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    target = out_dir / "march.csv"
    assert "wrote 3 fee record(s)" in cli_ok("export", cid, "2026-03", "--out", str(target))
    assert parse_csv(target.read_text(encoding="utf-8")) == stdout_csv
    assert [p.name for p in out_dir.iterdir()] == ["march.csv"]  # no temporary left behind


def test_cli_errors_are_one_line_and_change_nothing(cli: Container, tmp_path: Path) -> None:
    cid = new_customer(cli).id
    before = snapshot(cli)
    cli_error("summary", cid, "2026/03", code="INVALID_ARGUMENT")
    cli_error("summary", "nobody", "2026-03", code="CUSTOMER_NOT_FOUND")
    cli_error("fees", cid, "--by", "week", code="INVALID_ARGUMENT")
    cli_error("fees", cid, "--limit", "0", code="INVALID_ARGUMENT")
    cli_error("packages", "nobody", code="CUSTOMER_NOT_FOUND")
    cli_error("trend", cid, "--months", "0", code="INVALID_ARGUMENT")
    cli_error("export", cid, "2026-13", code="INVALID_ARGUMENT")
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    target = out_dir / "x.csv"
    cli_error("export", "nobody", "2026-03", "--out", str(target), code="CUSTOMER_NOT_FOUND")
    cli_error("export", cid, "2026-03", "--out", str(out_dir / "no" / "x.csv"),
              code="INVALID_ARGUMENT")  # fmt: skip
    assert list(out_dir.iterdir()) == []
    assert snapshot(cli) == before
