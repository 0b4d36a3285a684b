"""The web console in a real browser (Debian's Chromium, driven by Playwright), on the demo
data set that `make run` seeds: a prepaid, a post-paid and an in-arrears customer sign in and
see their Overview figures exactly as the engine computes them; a customer switches its alert,
pays a pending order with a cash coupon, renews a resource, exports a bill; the operator signs
in, tops up the customer in arrears and sees its frozen resources restored. Each page is saved
as a screenshot in the test's artefacts (CLOUDBILL_TEST_ARTIFACTS, default: the test's own
temporary folder); CLOUDBILL_UPDATE_SCREENSHOTS=1 also refreshes the README's screenshot."""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from cloudbill.api.app import create_app
from cloudbill.api.bss.listener import ThreadedServer
from cloudbill.api.shared.dashboard import dashboard
from cloudbill.benefits import service as benefits
from cloudbill.bootstrap import Container
from cloudbill.console.formatting import shown_money
from cloudbill.customers import service as customers
from cloudbill.demo import DEMO_PASSWORD, OPERATOR_EMAIL, seed
from cloudbill.notify import alerts
from cloudbill.orders import service as orders
from cloudbill.orders.service import NewItem, Terms
from cloudbill.resources import service as resources
from cloudbill.store import clock_repo
from cloudbill.worker.jobs import run_due

from ..compat.conftest import free_port
from ..conftest import T0

README_SCREENSHOT = Path(__file__).parents[2] / "docs" / "console-overview.png"
WIDE = {"width": 1280, "height": 900}


@dataclass
class Demo:
    base: str
    c: Container
    ids: dict[str, str]  # demo customer name -> id
    shots: Path

    def customer(self, name: str) -> str:
        return self.ids[name]


@pytest.fixture
def demo(sqlite_container: Container, tmp_path: Path) -> Iterator[Demo]:
    c = sqlite_container
    c.write(lambda conn, now: seed(conn, now=now))
    run_due(c)  # the customer in arrears: its pay-per-use resources enter their grace period
    with c.db.write() as conn:  # sixteen days on: the grace period is over, they are frozen
        clock_repo.advance(conn, timedelta(days=16))
    run_due(c)
    listed, _total = c.read(lambda conn, _now: customers.list_customers(conn, limit=50))
    ids = {row.name: row.id for row in listed}
    shots = Path(os.environ.get("CLOUDBILL_TEST_ARTIFACTS", tmp_path)) / "console"
    shots.mkdir(parents=True, exist_ok=True)
    server = ThreadedServer(
        create_app(c), host="127.0.0.1", port=free_port(), log_level="warning"
    ).start()
    yield Demo(f"http://127.0.0.1:{server.port}", c, ids, shots)
    server.stop()


def _sign_in(page: Any, demo: Demo, email: str, *, operator: bool = False) -> None:
    root = "/operator/console" if operator else "/console"
    page.goto(demo.base + root + "/")
    page.wait_for_url("**/sign-in**")
    page.fill("#email", email)
    page.fill("#password", DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert "/sign-in" not in page.url, page.content()[:2000]


def _figure(page: Any, name: str) -> tuple[str, str]:
    """(the exact value on hover, the shown text) of a figure on the page."""
    money = page.locator(f"[data-figure={name}] .money").first
    return money.get_attribute("data-exact"), money.inner_text()


def _check_overview(page: Any, demo: Demo, name: str, figures: list[str]) -> dict[str, Any]:
    """Every figure on the Overview against the engine's own (its dashboard service)."""
    d = dashboard(demo.c, demo.customer(name))
    cur = d["currency"]
    for figure in figures:
        exact = d["funds"][figure]
        assert _figure(page, figure) == (exact, shown_money(exact, cur)), figure
    assert _figure(page, "coupon_amount") == (
        d["coupons"]["amount"],
        shown_money(d["coupons"]["amount"], cur),
    )
    assert page.locator("[data-figure=coupon_count]").inner_text() == str(d["coupons"]["count"])
    assert page.locator("[data-figure=orders_pending_payment]").inner_text() == str(
        d["orders_pending_payment"]
    )
    assert page.locator("[data-figure=renewals_expiring]").inner_text() == str(
        d["renewals"]["expiring"]
    )
    rows = page.locator(".trend-table tbody tr")
    assert rows.count() == 6
    for i, month in enumerate(d["trend"]["months"]):
        row = rows.nth(i)
        assert row.get_attribute("data-month") == month["month"]
        amount = row.locator("[data-figure=amount] .money").get_attribute("data-exact")
        net = row.locator("[data-figure=net_amount] .money").get_attribute("data-exact")
        assert (amount, net) == (month["amount_exact"], month["net_amount_exact"])
    page.wait_for_function("document.getElementById('trend-chart').width > 0")
    return d


def test_overview_figures_for_prepaid_postpaid_and_in_arrears(browser: Any, demo: Demo) -> None:
    context = browser.new_context(viewport=WIDE)
    page = context.new_page()
    _sign_in(page, demo, "billing@acme.example")
    _check_overview(
        page, demo, "acme-healthy", ["cash_balance", "debt", "withdrawable", "expenditure_quota"]
    )
    assert page.locator("[data-testid=arrears-banner]").count() == 0
    assert page.locator("[data-testid=card-unpaid]").count() == 0  # prepaid: no unpaid bills
    page.screenshot(path=str(demo.shots / "overview-prepaid.png"), full_page=True)
    context.close()

    context = browser.new_context(viewport=WIDE)
    page = context.new_page()
    _sign_in(page, demo, "ap@delta.example")
    d = _check_overview(
        page,
        demo,
        "delta-postpaid",
        [
            "cash_balance",
            "debt",
            "credit_limit",
            "unpaid",
            "available_credit",
            "billed_outstanding",
            "overdue",
        ],
    )
    assert d["payment_mode"] == "postpaid"
    assert page.locator("[data-testid=card-unpaid]").count() == 1
    page.screenshot(path=str(demo.shots / "overview-postpaid.png"), full_page=True)
    context.close()

    context = browser.new_context(viewport=WIDE)
    page = context.new_page()
    _sign_in(page, demo, "finance@corvid.example")
    d = _check_overview(page, demo, "corvid-in-arrears", ["cash_balance", "debt"])
    banner = page.locator("[data-testid=arrears-banner]")
    assert banner.count() == 1 and d["arrears"]["in_arrears"]
    frozen = [r["resource_id"] for r in d["arrears"]["resources"]]
    assert frozen and all(banner.locator(f"[data-resource='{rid}']").count() == 1 for rid in frozen)
    page.screenshot(path=str(demo.shots / "overview-in-arrears.png"), full_page=True)
    if os.environ.get("CLOUDBILL_UPDATE_SCREENSHOTS") == "1":  # the README's picture
        page.screenshot(path=str(README_SCREENSHOT), full_page=True)
    context.close()


def test_a_phone_width_screen_shows_the_overview(browser: Any, demo: Demo) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    _sign_in(page, demo, "billing@acme.example")
    scroll = page.evaluate("document.documentElement.scrollWidth")
    assert scroll <= 390 + 1, "the page scrolls sideways on a phone"
    page.screenshot(path=str(demo.shots / "overview-phone.png"), full_page=True)
    context.close()


def test_the_alert_switch_saves_from_the_card(browser: Any, demo: Demo) -> None:
    page = browser.new_context(viewport=WIDE).new_page()
    _sign_in(page, demo, "billing@acme.example")
    acme = demo.customer("acme-healthy")
    page.fill("#threshold", "150")
    with page.expect_response("**/console/alert"):
        page.check("[data-testid=alert-enabled]")  # htmx posts the card on the change
    page.wait_for_selector(".saved")
    state = demo.c.read(lambda conn, _now: alerts.get(conn, acme))
    assert state.enabled and state.threshold_units == 150 * 10**8
    with page.expect_response("**/console/alert"):
        page.uncheck("[data-testid=alert-enabled]")
    page.wait_for_selector(".saved")
    assert not demo.c.read(lambda conn, _now: alerts.get(conn, acme)).enabled
    page.fill("#threshold", "-5")
    with page.expect_response("**/console/alert"):
        page.click("#alert-card button[type=submit]")
    error = page.wait_for_selector("#err-threshold")
    assert "INVALID_AMOUNT" in error.inner_text()
    assert demo.c.read(lambda conn, _now: alerts.get(conn, acme)).threshold_units == 150 * 10**8
    page.screenshot(path=str(demo.shots / "alert-refused.png"), full_page=True)


def test_pay_a_pending_order_with_a_coupon_then_renew_a_resource(browser: Any, demo: Demo) -> None:
    c = demo.c
    epsilon = demo.customer("epsilon-yearly")
    terms = Terms.from_settings(c.settings)
    coupon, _made = c.write(
        lambda conn, now: benefits.issue_coupon(
            conn,
            customer_id=epsilon,
            name="welcome",
            value="5.00",
            valid_from=None,
            valid_to=now + timedelta(days=30),
            reference="browser-coupon",
            now=now,
        )
    )
    order = c.write(
        lambda conn, now: orders.create_new(
            conn,
            epsilon,
            [
                NewItem(
                    "hws.resource.type.vm", "s6.small.1", "ap-southeast-1", "cache-1", "month", 1
                )
            ],
            reference="browser-order",
            terms=terms,
            now=now,
        )
    )
    page = browser.new_context(viewport=WIDE).new_page()
    _sign_in(page, demo, "it@epsilon.example")
    page.click("text=Pay Now")
    page.wait_for_selector(f"[data-order='{order.id}']")
    page.screenshot(path=str(demo.shots / "unpaid-orders.png"), full_page=True)
    page.click(f"[data-order='{order.id}'] a.button")
    page.check(f"input[name=coupon_id][value='{coupon.id}']")
    page.screenshot(path=str(demo.shots / "order.png"), full_page=True)
    page.click("[data-testid=pay-form] button.primary")
    page.wait_for_selector(".notice.done")
    paid = c.read(lambda conn, _now: orders.get(conn, order.id))
    assert str(paid.status) == "paid" and paid.coupon_units == 5 * 10**8

    vm = "demo-epsilon-vm-1"
    before = c.read(lambda conn, _now: resources.get(conn, vm)).expire_at
    page.goto(demo.base + "/console/renewals?view=all")
    page.check(f"[data-resource='{vm}'] input[name=resource_id]")
    page.select_option("#period", "1-month")
    page.screenshot(path=str(demo.shots / "renewals.png"), full_page=True)
    page.click("button[form=renew-form].primary")
    page.wait_for_url("**/orders/**")
    amount = page.locator("[data-figure=amount] .money").inner_text()
    assert amount != "0.00"  # the price is shown before paying
    page.click("[data-testid=pay-form] button.primary")
    page.wait_for_selector(".notice.done")
    after = c.read(lambda conn, _now: resources.get(conn, vm)).expire_at
    assert after > before


def test_pay_two_unpaid_orders_together_sharing_one_coupon(browser: Any, demo: Demo) -> None:
    """Unpaid Orders: two orders selected and paid at once, one coupon shared over them pro
    rata by amount (Huawei's FAQ on paying several orders together, unpaidorder_faq_0000008);
    a refusal (no order selected) is shown beside the form and changes nothing."""
    c = demo.c
    epsilon = demo.customer("epsilon-yearly")
    terms = Terms.from_settings(c.settings)
    coupon, _made = c.write(
        lambda conn, now: benefits.issue_coupon(
            conn, customer_id=epsilon, name="shared", value="6.00", valid_from=None,
            valid_to=now + timedelta(days=30), reference="browser-shared-coupon", now=now,
        )
    )  # fmt: skip

    def order(spec: str, ref: str):  # type: ignore[no-untyped-def]
        item = NewItem("hws.resource.type.vm", spec, "ap-southeast-1", ref, "month", 1)
        return c.write(
            lambda conn, now: orders.create_new(
                conn, epsilon, [item], reference=ref, terms=terms, now=now
            )
        )

    made = [order("s6.small.1", "together-1"), order("s6.large.2", "together-2")]
    page = browser.new_context(viewport=WIDE).new_page()
    _sign_in(page, demo, "it@epsilon.example")
    page.goto(demo.base + "/console/orders")
    page.click("[data-testid=pay-selected] button.primary")  # nothing selected: refused
    page.wait_for_selector("[data-testid=pay-selected] .field-error")
    for order in made:
        page.check(f"[data-order='{order.id}'] input[name=order_id]")
    rows = page.locator("[data-testid=orders] tbody tr[data-order]")
    listed = [rows.nth(i).get_attribute("data-order") for i in range(rows.count())]
    page_order = [oid for oid in listed if oid in {o.id for o in made}]
    page.check(f"[data-testid=pay-selected] input[name=coupon_id][value='{coupon.id}']")
    page.screenshot(path=str(demo.shots / "pay-together.png"), full_page=True)
    page.click("[data-testid=pay-selected] button.primary")
    page.wait_for_selector(".notice.done")
    paid = [c.read(lambda conn, _now, o=o: orders.get(conn, o.id)) for o in made]
    assert [str(o.status) for o in paid] == ["paid", "paid"]
    # 6.00 over 11.60 and 39.10, in the order the table lists them: the first's share rounded
    # down to the cent (1.37 for 11.60, 4.62 for 39.10), the rest on the last
    first = page_order[0]
    share = {made[0].id: 137 * 10**6, made[1].id: 462 * 10**6}[first]
    coupons = {o.id: o.coupon_units for o in paid}
    assert coupons[first] == share and sum(coupons.values()) == 600 * 10**6


def test_export_a_bill(browser: Any, demo: Demo) -> None:
    page = browser.new_context(viewport=WIDE, accept_downloads=True).new_page()
    _sign_in(page, demo, "finance@corvid.example")
    page.click("nav.side >> text=Bills")
    page.select_option("#month", T0.strftime("%Y-%m"))  # the demo's charges: the seed's month
    page.click("form.filters button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert page.locator("[data-testid=by-service] tbody tr").count() >= 1
    page.screenshot(path=str(demo.shots / "bills.png"), full_page=True)
    with page.expect_download() as info:
        page.click("[data-testid=export]")
    text = Path(info.value.path()).read_text(encoding="utf-8")
    rows = list(csv.reader(io.StringIO(text)))
    assert len(rows) >= 2 and any("demo-corvid-css-1" in ",".join(r) for r in rows[1:])
    for path in (
        "/bills/fees",
        "/resources",
        "/coupons",
        "/packages",
        "/history",
        "/notifications",
        "/access-keys",
        "/users",
        "/renewals",
        "/orders",
        "/top-up",
        "/withdraw",
        "/bill-storage",
    ):
        page.goto(demo.base + "/console" + path)
        assert page.locator("h1").count() == 1, path
        page.screenshot(path=str(demo.shots / f"page{path.replace('/', '-')}.png"), full_page=True)


def test_operator_tops_up_the_customer_in_arrears_and_its_resources_come_back(
    browser: Any, demo: Demo
) -> None:
    corvid = demo.customer("corvid-in-arrears")
    page = browser.new_context(viewport=WIDE).new_page()
    _sign_in(page, demo, OPERATOR_EMAIL, operator=True)
    page.select_option("#filter", "in_arrears")
    page.click("button[type=submit]:has-text('Search')")
    page.click(f"[data-customer='{corvid}'] a")
    frozen = page.locator("[data-status=frozen]")
    assert frozen.count() >= 1
    page.screenshot(path=str(demo.shots / "operator-customer.png"), full_page=True)
    debt = dashboard(demo.c, corvid)["funds"]["debt"]
    page.fill("#amount", debt)
    page.click("[data-testid=card-top-up] button.primary")
    page.wait_for_selector(".notice.done")
    assert page.locator("[data-status=frozen]").count() == 0
    assert page.locator("[data-testid=arrears-banner]").count() == 0
    restored = demo.c.read(lambda conn, _now: resources.get(conn, "demo-corvid-css-1"))
    assert str(restored.status) == "normal"
    page.screenshot(path=str(demo.shots / "operator-topped-up.png"), full_page=True)
    for path in (
        "/status",
        "/settlements",
        "/holds",
        "/deliveries",
        "/catalog",
        "/clock",
        "/audit",
    ):
        page.goto(demo.base + "/operator/console" + path)
        assert page.locator("h1").count() == 1, path
        page.screenshot(
            path=str(demo.shots / f"operator{path.replace('/', '-')}.png"), full_page=True
        )
    assert page.locator(f"text=operator:{OPERATOR_EMAIL}").count() >= 1  # the top-up, audited
