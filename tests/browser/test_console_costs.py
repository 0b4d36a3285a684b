"""The bill overview in a real browser, on the demo data with a month of a VM bought by the
yearly/monthly customer (a cash coupon paying part, so amount and net amount differ): View Bill on
the Overview opens it, its totals of the last 18 months are the engine's, and changing the grouping
(by service, then by day with amortized costs) shows the engine's breakdown; the export link
downloads the same table."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from pathlib import Path
from typing import Any

from cloudbill.benefits import service as benefits
from cloudbill.costs import service as costs
from cloudbill.costs.views import cost_view
from cloudbill.customers import service as customers
from cloudbill.kernel.periods import add_months, zone
from cloudbill.orders import service as orders
from cloudbill.orders.service import NewItem, Terms

from .test_console import WIDE, Demo, _sign_in, demo

__all__ = ["demo"]  # the fixture, used by name


def _engine(demo: Demo, customer_id: str, **asked: Any) -> dict[str, Any]:
    query = costs.query_of(**asked)
    report = demo.c.read(lambda conn, _now: costs.costs(conn, customer_id, query))
    return cost_view(customer_id, report)


def _exact(cell: Any) -> str:
    return cell.locator(".money").get_attribute("data-exact")


def _table(page: Any) -> dict[str, tuple[str, list[str]]]:
    """The breakdown table: group -> (its total, each period's cost), the footer as ""."""
    shown = {}
    for row in page.locator("[data-testid=cost-table] tr[data-group]").all():
        cells = row.locator("td[data-label]").all()
        total = _exact(row.locator("td[data-figure=total]"))
        shown[row.get_attribute("data-group")] = (total, [_exact(c) for c in cells])
    return shown


def _expected(view: dict[str, Any]) -> dict[str, tuple[str, list[str]]]:
    want = {
        " / ".join(r["group"].values()): (r["total"]["amount"], [c["amount"] for c in r["costs"]])
        for r in view["rows"]
        if view["group_by"]
    }
    want[""] = (view["total"]["amount"], [t["amount"] for t in view["totals"]])
    return want


def _show(page: Any) -> None:
    with page.expect_navigation():
        page.click("[data-testid=cost-form] button[type=submit]")


def _buy_a_month(demo: Demo, customer_id: str) -> None:
    """The yearly/monthly customer buys a month of a VM and pays it with its welcome coupon
    (the demo's own pending order has expired by the time the demo fixture is ready)."""

    def buy(conn: Any, now: Any) -> None:
        item = NewItem("hws.resource.type.vm", "s6.small.1", "ap-southeast-1", "cache-2",
                       "month", 1)  # fmt: skip
        order = orders.create_new(conn, customer_id, [item], reference="browser-costs",
                                  terms=Terms.from_settings(demo.c.settings), now=now)  # fmt: skip
        coupon_list, _n = benefits.list_coupons(conn, customer_id, status="active")
        orders.pay(conn, customer_id, order.id, coupon_ids=[coupon_list[0].id],
                   reference="browser-costs", now=now)  # fmt: skip

    demo.c.write(buy)


def test_view_bill_opens_the_bill_overview_and_the_grouping_changes(
    browser: Any, demo: Demo
) -> None:
    epsilon = demo.customer("epsilon-yearly")
    _buy_a_month(demo, epsilon)
    tz = demo.c.read(lambda conn, _now: customers.get(conn, epsilon)).timezone
    today = demo.c.now().astimezone(zone(tz)).date()
    this_month = today.replace(day=1)
    first_month = add_months(this_month, -17).strftime("%Y-%m")
    months = {"first": first_month, "last": this_month.strftime("%Y-%m"), "granularity": "month"}

    page = browser.new_context(viewport=WIDE, accept_downloads=True).new_page()
    _sign_in(page, demo, "it@epsilon.example")
    with page.expect_navigation():
        page.click("[data-testid=view-bill]")
    assert page.url.endswith("/console/bills/overview")

    # The totals of the last 18 months, amount and net amount, are the engine's.
    amount = _engine(demo, epsilon, **months)
    net = _engine(demo, epsilon, **months, amount_type="net")
    assert amount["total"]["amount"] != net["total"]["amount"]  # the coupon paid part of it
    recent = page.locator("[data-testid=recent-totals]")
    assert _exact(recent.locator("[data-figure=recent_amount]")) == amount["total"]["amount"]
    assert _exact(recent.locator("[data-figure=recent_net_amount]")) == net["total"]["amount"]
    for key, view in (("amount", amount), ("net_amount", net)):
        cells = recent.locator(f"td[data-figure={key}]").all()
        assert [(c.get_attribute("data-month"), _exact(c)) for c in cells] == [
            (t["label"], t["amount"]) for t in view["totals"]
        ]
    # The default view: the same 18 months, ungrouped.
    assert _table(page) == _expected(amount)
    page.wait_for_function("document.getElementById('cost-chart').width > 0")

    # Grouped by service.
    page.select_option("#group_by_1", "service")
    _show(page)
    by_service = _engine(demo, epsilon, **months, group_by=["service"])
    assert len(by_service["rows"]) >= 1
    assert _table(page) == _expected(by_service)
    assert page.locator("th[data-dimension=service]").count() == 1
    page.screenshot(path=str(demo.shots / "bill-overview-by-service.png"), full_page=True)

    # By day, amortized, then by bill type: the range becomes the last 30 days.
    page.select_option("#granularity", "day")
    page.select_option("#cost_type", "amortized")
    page.select_option("#group_by_2", "bill_type")
    _show(page)
    days = {"first": (today - timedelta(days=29)).isoformat(), "last": today.isoformat()}
    assert (page.input_value("#first"), page.input_value("#last")) == (days["first"], days["last"])
    by_day = _engine(demo, epsilon, **days, granularity="day", cost_type="amortized",
                     group_by=["service", "bill_type"])  # fmt: skip
    assert by_day["rows"], "the order paid today is amortized from today"
    assert _table(page) == _expected(by_day)
    assert page.locator("[data-testid=cost-table] thead th[data-label]").count() == 30
    page.wait_for_function("document.getElementById('cost-chart').width > 0")
    page.screenshot(path=str(demo.shots / "bill-overview-by-day.png"), full_page=True)

    # The export is the table shown.
    with page.expect_download() as info:
        page.click("[data-testid=cost-export]")
    rows = list(csv.reader(io.StringIO(Path(info.value.path()).read_text(encoding="utf-8"))))
    assert rows[0] == ["service", "bill_type", "currency", "total", *by_day["labels"]]
    assert [r[3] for r in rows[1:]] == [
        *(r["total"]["amount"] for r in by_day["rows"]),
        by_day["total"]["amount"],
    ]

    # A bad range is refused beside its field; the Bills page links here too.
    page.fill("#first", "2020-01-01")
    _show(page)
    assert "LIMIT_EXCEEDED" in page.locator("#err-first").inner_text()
    page.click("nav.side >> text=Bills")
    with page.expect_navigation():
        page.click("[data-testid=tab-bill-overview]")
    assert page.url.endswith("/console/bills/overview")
