"""Invoices on the billing calendar: a prepaid customer pays two orders (one partly with a
coupon) and uses pay-per-use, invoices by order and by billing cycle, unsubscribes an invoiced
resource (an outstanding invoice amount appears, withdrawing it is refused, later consumption
offsets it); a post-paid customer's month is invoiceable only once its bill is made; the
automatic mode's invoices and credit memos; numbering gapless under concurrent issuing."""

from __future__ import annotations

import io
import threading
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pypdf
import pytest
from sqlalchemy import select, text

from cloudbill.bootstrap import build
from cloudbill.catalog import service as catalog_service
from cloudbill.catalog.model import TaxRate
from cloudbill.config import Settings
from cloudbill.customers import service as customers
from cloudbill.invoices import repo as invoice_repo
from cloudbill.invoices import service as invoices
from cloudbill.invoices.model import Status, Terms
from cloudbill.invoices.pdf import render_pdf
from cloudbill.kernel.clock import ManualClock, SystemClock
from cloudbill.kernel.errors import CloudbillError, ErrorCode
from cloudbill.kernel.periods import utc
from cloudbill.store import clock_repo
from cloudbill.store.schema import invoice_document
from cloudbill.worker.jobs import run_due

from ..conftest import T0
from ..helpers import assert_books_balance, new_customer, snapshot
from ..notice_servers import configure, smtp
from .test_orders import buy, pay, set_clock
from .test_orders_changes import unsubscribe
from .test_settlement import meter, register, topup, units
from .test_settlement_benefits import coupon

__all__ = ["smtp"]  # the fixture, used by name
RATES = "USD=0.1"


def container_with(database_url: str, **settings):  # type: ignore[no-untyped-def]
    container = build(
        Settings(
            database_url=database_url,
            clock="system",
            operator_token="test-token",
            invoice_tax_rates=RATES,
            **settings,
        )
    )
    with container.db.write() as conn:
        clock_repo.set_simulated(conn, T0)
    container.wall = ManualClock(SystemClock().now())
    return container


@pytest.fixture
def request_mode(database_url):  # type: ignore[no-untyped-def]
    container = container_with(database_url)
    yield container
    container.db.dispose()


@pytest.fixture
def automatic_mode(database_url):  # type: ignore[no-untyped-def]
    container = container_with(database_url, invoice_mode="automatic")
    yield container
    container.db.dispose()


def terms(container) -> Terms:  # type: ignore[no-untyped-def]
    return Terms.from_settings(container.settings)


def figures(container, customer_id):  # type: ignore[no-untyped-def]
    return container.read(
        lambda conn, now: invoices.customer_figures(conn, customer_id, terms(container), now=now)
    )


def by_source(figs) -> dict[str, int]:  # type: ignore[no-untyped-def]
    return {s.source_id: s.invoiceable_units for s in figs.sources}


def profile(container, customer_id):  # type: ignore[no-untyped-def]
    data = {
        "title_type": "enterprise",
        "title": "Acme Ltd",
        "tax_id": "91310000X",
        "email": "billing@acme.example",
        "address": "1 Main St",
    }
    container.write(lambda conn, now: invoices.set_profile(conn, customer_id, data, now=now))


def ask(container, customer_id, *selections, ref="r1"):  # type: ignore[no-untyped-def]
    chosen = [{"kind": k, "id": i} for k, i in selections]
    return container.write(
        lambda conn, now: invoices.request(
            conn, customer_id, chosen, terms(container), reference=ref, now=now
        )
    )


def act(container, invoice_id, action, **kw):  # type: ignore[no-untyped-def]
    return container.write(
        lambda conn, now: invoices.act(conn, invoice_id, action, terms(container), now=now, **kw)
    )


def withdraw(container, customer_id, amount, ref):  # type: ignore[no-untyped-def]
    return container.write(
        lambda conn, now: customers.withdraw(conn, customer_id, amount, reference=ref, now=now)
    )


def cents(units: int) -> str:
    """`units` rounded down to the cent, as text."""
    return str(Decimal(units // 10**6) / 100)


def c_now(container):  # type: ignore[no-untyped-def]
    return container.read(lambda _conn, now: now)


def use_vm(container, rid, start, hours):  # type: ignore[no-untyped-def]
    """`hours` of a running s6.large.2 (0.0781 USD/h) from `start`, a record a day, metered
    once they are over (the clock moves there when it is earlier)."""
    end_all = start + timedelta(hours=hours)
    if c_now(container) < end_all:
        set_clock(container, end_all)
    for day in range(0, hours, 24):
        begin = start + timedelta(hours=day)
        end = begin + timedelta(hours=min(24, hours - day))
        meter(
            container,
            (
                f"{rid}-{begin:%m%d%H}",
                rid,
                "duration",
                str(int((end - begin).total_seconds())),
                begin.isoformat(),
                end.isoformat(),
                "s",
            ),
        )


def test_prepaid_customer_invoices_by_order_and_cycle_and_refunds_become_outstanding(
    request_mode,
) -> None:  # type: ignore[no-untyped-def]
    c = request_mode
    acme = new_customer(c)
    topup(c, acme.id, "100.00", "seed")
    welcome = coupon(c, acme.id, "welcome", "5.00", billing_modes=["yearly_monthly"])
    first = pay(c, acme.id, buy(c, acme.id).id, coupons=[welcome.id])
    second = pay(c, acme.id, buy(c, acme.id).id)
    assert (first.coupon_units, first.cash_units) == (units("5.00"), units("6.60"))
    register(c, acme.id, "vm-1")
    use_vm(c, "vm-1", T0, 48)
    run_due(c)
    # The coupon-paid part is never invoiceable; March is not billed yet.
    assert by_source(figures(c, acme.id)) == {first.id: units("6.60"), second.id: units("11.60")}

    with pytest.raises(CloudbillError) as err:
        ask(c, acme.id, ("order", first.id))
    assert err.value.code is ErrorCode.INVOICE_PROFILE_MISSING
    profile(c, acme.id)
    before = snapshot(c)
    with pytest.raises(CloudbillError) as err:
        ask(c, acme.id, ("order", first.id), ("cycle", "2026-03"))
    assert err.value.code is ErrorCode.NOTHING_TO_INVOICE and snapshot(c) == before

    [by_order] = ask(c, acme.id, ("order", first.id), ("order", second.id))
    assert by_order.status is Status.PENDING_REVIEW and by_order.amount_units == units("18.20")
    assert ask(c, acme.id, ("order", first.id), ("order", second.id)) == [by_order]  # replayed
    assert figures(c, acme.id).invoiceable_units == 0  # held by the pending request
    act(c, by_order.id, "start")
    issued = act(c, by_order.id, "issue")
    assert issued.status is Status.ISSUED and issued.number_text == "INV-00000001"
    doc = c.read(lambda conn, _now: invoices.document(conn, by_order.id))
    assert (doc["total"], doc["tax"], doc["net"]) == ("18.20", "1.65", "16.55")
    assert doc["buyer"]["tax_id"] == "91310000X"

    # April: March is billed, 48 hours of the VM.
    set_clock(c, utc(2026, 4, 1, 2, 0, 0))
    run_due(c)
    march = units("0.0781") * 48
    assert by_source(figures(c, acme.id))["2026-03"] == march
    [by_cycle] = ask(c, acme.id, ("cycle", "2026-03"), ref="r2")
    act(c, by_cycle.id, "issue")
    assert c.read(lambda conn, _n: invoices.get(conn, by_cycle.id)).number == 2

    # Unsubscribing the second (invoiced) order: its refund is an outstanding invoice amount.
    refund = unsubscribe(c, acme.id, [second.lines[0].resource_id])
    given_back = -refund.cash_units
    assert given_back > 0
    figs = figures(c, acme.id)
    assert (figs.invoiceable_units, figs.outstanding_units) == (0, given_back)
    balance = c.read(lambda conn, _n: customers.overview(conn, customers.get(conn, acme.id)))
    before = snapshot(c)
    with pytest.raises(CloudbillError) as err:
        withdraw(c, acme.id, cents(balance.cash_balance_units), "w1")
    assert err.value.code is ErrorCode.INVOICED_MONEY_HELD and snapshot(c) == before
    assert balance.cash_balance_units - given_back > units("30.00")
    # the Overview's withdrawable balance leaves the held money out
    held = c.read(
        lambda conn, now: customers.overview(
            conn, customers.get(conn, acme.id), now, with_hold=True
        )
    )
    assert held.withdrawable_units == balance.cash_balance_units - given_back
    withdraw(c, acme.id, "10.00", "w2")  # what is not held can go

    # Later consumption (paid from cash) offsets it: 200 hours in April (15.62) cover it, the
    # rest is invoiceable.
    use_vm(c, "vm-1", utc(2026, 4, 2, 0, 0, 0), 200)
    set_clock(c, utc(2026, 5, 1, 2, 0, 0))
    run_due(c)
    april = units("0.0781") * 200
    figs = figures(c, acme.id)
    assert figs.outstanding_units == 0
    assert by_source(figs)["2026-04"] == april - given_back
    [last] = ask(c, acme.id, ("cycle", "2026-04"), ref="r3")
    assert last.amount_units == april - given_back
    # Returning the order invoice: its money is no longer invoiced, nothing is outstanding.
    act(c, by_order.id, "request_return", customer_id=acme.id, reason="wrong title")
    act(c, by_order.id, "confirm_return")
    figs = figures(c, acme.id)
    assert figs.outstanding_units == 0
    assert by_source(figs)[first.id] == units("6.60")
    assert_books_balance(c)


def test_the_catalogs_tax_rates_apply_most_specific_first(request_mode) -> None:  # type: ignore[no-untyped-def]
    """Tax rates per service, currency and region in the catalog; the catalog's take precedence
    over CLOUDBILL_INVOICE_TAX_RATES (USD=0.1 here) for the same key, and a service's rate over
    the currency's: one invoice per rate."""
    c = request_mode
    doc = c.read(lambda conn, _now: catalog_service.active(conn).document)
    taxed = doc.model_copy(
        update={
            "version": f"{doc.version}-taxed",
            "tax_rates": (
                TaxRate(currency="USD", rate=Decimal("0.06")),
                TaxRate(currency="USD", rate=Decimal("0.13"), service="ecs"),
            ),
        }
    )
    c.write(lambda conn, now: catalog_service.load(conn, taxed, source="test", now=now))
    with pytest.raises(ValueError, match="tax rate"):
        TaxRate(currency="USD", rate=Decimal("1.5"))
    acme = new_customer(c)
    topup(c, acme.id, "100.00", "seed")
    paid = pay(c, acme.id, buy(c, acme.id).id)  # an ECS order
    profile(c, acme.id)
    (made,) = ask(c, acme.id, ("order", paid.id))
    assert made.tax_rate == Decimal("0.13")


def test_fees_that_went_to_debt_are_invoiceable_once_paid_off(request_mode) -> None:  # type: ignore[no-untyped-def]
    """Money actually paid for consumption: a prepaid customer runs out, its fees become debt
    (not invoiceable: nothing was paid), a top-up pays the debt off, and that money counts for
    its billing cycle, oldest first; an operator's write-off never does."""
    c = request_mode
    acme = new_customer(c)
    topup(c, acme.id, "1.00", "seed")
    register(c, acme.id, "vm-1")
    use_vm(c, "vm-1", T0, 48)  # 48 h x 0.0781 = 3.7488: 1.00 from cash, 2.7488 to debt
    set_clock(c, utc(2026, 4, 1, 2, 0, 0))
    run_due(c)
    assert by_source(figures(c, acme.id)) == {"2026-03": units("1.00")}
    topup(c, acme.id, "2.00", "repay")  # pays 2.00 of the 2.7488 debt
    assert by_source(figures(c, acme.id)) == {"2026-03": units("3.00")}
    topup(c, acme.id, "10.00", "repay-rest")  # the rest of the debt, then cash
    assert by_source(figures(c, acme.id)) == {"2026-03": units("3.7488")}
    assert_books_balance(c)


def test_request_states_cancel_and_reject(request_mode) -> None:  # type: ignore[no-untyped-def]
    c = request_mode
    acme = new_customer(c)
    topup(c, acme.id, "50.00", "seed")
    order = pay(c, acme.id, buy(c, acme.id).id)
    profile(c, acme.id)
    [inv] = ask(c, acme.id, ("order", order.id), ref="k" * 160)  # the longest key
    with pytest.raises(CloudbillError) as err:
        ask(c, acme.id, ("cycle", "2026-03"), ref="k" * 160)  # the same key, another request
    assert err.value.code is ErrorCode.IDEMPOTENCY_CONFLICT
    with pytest.raises(CloudbillError) as err:
        act(c, inv.id, "cancel", customer_id="someone-else")
    assert err.value.code is ErrorCode.INVOICE_NOT_FOUND
    assert act(c, inv.id, "cancel", customer_id=acme.id).status is Status.CANCELLED
    assert figures(c, acme.id).invoiceable_units == units("11.60")  # free again
    [again] = ask(c, acme.id, ("order", order.id), ref="r2")
    with pytest.raises(CloudbillError) as err:
        act(c, again.id, "reject")  # a reason is required
    assert err.value.code is ErrorCode.INVALID_ARGUMENT
    rejected = act(c, again.id, "reject", reason="tax id does not match the title")
    assert (rejected.status, rejected.reason) == (
        Status.REJECTED,
        "tax id does not match the title",
    )
    with pytest.raises(CloudbillError) as err:
        act(c, again.id, "issue")
    assert err.value.code is ErrorCode.INVALID_STATE


def test_postpaid_month_is_invoiceable_only_after_its_bill(request_mode) -> None:  # type: ignore[no-untyped-def]
    c = request_mode
    acme = new_customer(c, payment_mode="postpaid", credit_limit="500")
    register(c, acme.id, "vm-1")
    use_vm(c, "vm-1", T0, 24)
    set_clock(c, utc(2026, 4, 2, 2, 0, 0))  # March is over; the bill day is the 3rd
    run_due(c)
    assert "2026-03" not in by_source(figures(c, acme.id))
    set_clock(c, utc(2026, 4, 3, 2, 0, 0))
    run_due(c)
    assert by_source(figures(c, acme.id))["2026-03"] == units("0.0781") * 24


def test_automatic_mode_invoices_orders_and_months_and_credits_refunds(automatic_mode) -> None:  # type: ignore[no-untyped-def]
    c = automatic_mode
    acme = new_customer(c, email="ap@acme.example")
    topup(c, acme.id, "100.00", "seed")
    order = pay(c, acme.id, buy(c, acme.id).id)
    register(c, acme.id, "vm-1")
    use_vm(c, "vm-1", T0, 24)
    run_due(c)
    listed, total = c.read(lambda conn, _n: invoices.list_invoices(conn, customer_id=acme.id))
    assert total == 1 and listed[0].amount_units == units("11.60")
    assert listed[0].status is Status.ISSUED and listed[0].method == "automatic"
    set_clock(c, utc(2026, 4, 1, 2, 0, 0))
    run_due(c)
    run_due(c)  # nothing twice
    listed, total = c.read(lambda conn, _n: invoices.list_invoices(conn, customer_id=acme.id))
    assert total == 2 and listed[0].items[0].source_id == "2026-03"
    refund = unsubscribe(c, acme.id, [order.lines[0].resource_id])
    run_due(c)
    listed, total = c.read(lambda conn, _n: invoices.list_invoices(conn, customer_id=acme.id))
    [memo] = [i for i in listed if i.kind == "credit_memo"]
    [order_invoice] = [
        i for i in listed if i.kind == "invoice" and i.items[0].source_id == order.id
    ]
    assert total == 3 and memo.amount_units == refund.cash_units < 0
    assert memo.number_text == "CM-00000001" and memo.corrects_id == order_invoice.id
    assert order_invoice.number_text == "INV-00000001"
    assert figures(c, acme.id).outstanding_units == 0
    with pytest.raises(CloudbillError) as err:
        ask(c, acme.id, ("order", order.id))
    assert err.value.code is ErrorCode.INVALID_STATE
    # documents are append-only
    with pytest.raises(Exception, match="append-only"), c.db.write() as conn:
        conn.execute(text("UPDATE invoice_document SET content = '{}'"))


def test_numbering_is_gapless_under_concurrent_issuing(request_mode) -> None:  # type: ignore[no-untyped-def]
    """On PostgreSQL the series row lock orders the issues; SQLite's writers are serial."""
    c = request_mode
    ids = []
    for n in range(12):
        cust = new_customer(c, name=f"c{n}")
        topup(c, cust.id, "20.00", f"seed{n}")
        order = pay(c, cust.id, buy(c, cust.id).id)
        profile(c, cust.id)
        ids += [i.id for i in ask(c, cust.id, ("order", order.id), ref=f"r{n}")]
    errors: list[BaseException] = []

    def issue(invoice_id: str) -> None:
        try:
            act(c, invoice_id, "issue")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=issue, args=(i,)) for i in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    with c.db.read() as conn:
        numbers = sorted(conn.execute(select(invoice_document.c.number)).scalars())
    assert numbers == list(range(1, len(ids) + 1))


def test_invoice_on_top_up_mode(database_url) -> None:  # type: ignore[no-untyped-def]
    """Top-ups are invoiced instead of consumption; withdrawing invoiced money is refused in
    request mode, and makes a credit memo in automatic mode."""
    for mode in ("request", "automatic"):
        c = container_with(database_url, invoice_mode=mode, invoice_on_topup=True)
        acme = new_customer(c, name=f"acme-{mode}")
        topup(c, acme.id, "100.00", f"seed-{mode}")
        pay(c, acme.id, buy(c, acme.id).id)  # consumption: not invoiced in this mode
        figs = figures(c, acme.id)
        [source] = figs.sources
        assert (source.kind, source.invoiceable_units) == ("topup", units("100.00"))
        if mode == "request":
            profile(c, acme.id)
            [inv] = ask(c, acme.id, ("topup", source.source_id), ref=f"t-{mode}")
            act(c, inv.id, "issue")
            before = snapshot(c)
            with pytest.raises(CloudbillError) as err:
                withdraw(c, acme.id, "10.00", "w")
            assert err.value.code is ErrorCode.INVOICED_MONEY_HELD and snapshot(c) == before
        else:
            run_due(c)
            withdraw(c, acme.id, "30.00", "w")
            run_due(c)
            listed, _total = c.read(
                lambda conn, _n, a=acme.id: invoices.list_invoices(conn, customer_id=a)
            )
            amounts = sorted((str(i.kind), i.amount_units) for i in listed)
            assert amounts == [("credit_memo", -units("30.00")), ("invoice", units("100.00"))]
        c.db.dispose()


def test_an_issued_invoice_is_emailed_with_its_pdf(request_mode, smtp) -> None:  # type: ignore[no-untyped-def]
    """Through the customer notice channel (a real SMTP server on loopback), to the invoice
    information's address; once, however often delivery runs."""
    c = configure(request_mode, smtp, None)
    acme = new_customer(c, email="owner@acme.example")
    topup(c, acme.id, "50.00", "seed")
    order = pay(c, acme.id, buy(c, acme.id).id)
    profile(c, acme.id)
    [inv] = ask(c, acme.id, ("order", order.id))
    act(c, inv.id, "issue")
    run_due(c)
    run_due(c)
    mails = [m for m in smtp.messages if "INV-00000001" in str(m["Subject"])]
    assert len(mails) == 1
    mail = mails[0]
    assert str(mail["To"]) == "billing@acme.example"  # the invoice information's email
    assert str(mail["Subject"]) == "Invoice INV-00000001: 11.60 USD"
    assert "INV-00000001 of 11.60 USD (tax 1.05 USD)" in mail.get_body(("plain",)).get_content()
    [attached] = list(mail.iter_attachments())
    assert attached.get_filename() == "INV-00000001.pdf"
    text = pypdf.PdfReader(io.BytesIO(attached.get_content())).pages[0].extract_text()
    assert "INV-00000001" in text and "Acme Ltd" in text and "Total: 11.60 USD" in text


UNICODE_FONTS = [
    Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
    Path("/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf"),
]


def test_a_unicode_font_prints_titles_beyond_latin1(request_mode) -> None:  # type: ignore[no-untyped-def]
    """With CLOUDBILL_INVOICE_FONT (any Unicode TrueType font: Noto Sans CJK for Chinese
    titles) the buyer prints as given; the built-in font prints "?" for what Latin-1 lacks."""
    font = next((f for f in UNICODE_FONTS if f.exists()), None)
    if font is None:
        pytest.skip("*** no Unicode TrueType font here (apt-get install fonts-dejavu-core) ***")
    c = request_mode
    acme = new_customer(c)
    topup(c, acme.id, "50.00", "seed")
    order = pay(c, acme.id, buy(c, acme.id).id)
    title = "ООО Ромашка Ωμέγα"
    c.write(lambda conn, now: invoices.set_profile(
        conn, acme.id, {"title_type": "personal", "title": title}, now=now))  # fmt: skip
    [inv] = ask(c, acme.id, ("order", order.id))
    act(c, inv.id, "issue")
    doc = c.read(lambda conn, _now: invoice_repo.document(conn, inv.id))

    def text_of(pdf: bytes) -> str:
        return pypdf.PdfReader(io.BytesIO(pdf)).pages[0].extract_text()

    assert title in text_of(render_pdf(doc, None, str(font)))
    assert title not in text_of(render_pdf(doc))
    with pytest.raises(CloudbillError) as err:
        render_pdf(doc, None, "/no/such/font.ttf")
    assert err.value.code is ErrorCode.TEMPLATE_INVALID
