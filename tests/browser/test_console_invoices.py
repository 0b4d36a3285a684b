"""Invoices in a real browser: the Overview card shows the engine's invoiceable amount; the
customer saves its invoice information, picks an order on the Invoices page and submits a New
Invoice; the operator issues it in the operator console; the customer downloads the PDF,
whose text (read with pypdf) carries the number, the buyer, the amounts and the tax."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pypdf

from cloudbill.console.formatting import shown_money
from cloudbill.invoices import service as invoices
from cloudbill.invoices.model import Terms
from cloudbill.kernel.money import units_to_text

from ..scenarios.test_orders import buy, pay
from .test_console import OPERATOR_EMAIL, WIDE, Demo, _figure, _sign_in, demo  # noqa: F401 - the fixture


def _figures(demo: Demo, customer_id: str):  # type: ignore[no-untyped-def]  # noqa: F811
    terms = Terms.from_settings(demo.c.settings)
    return demo.c.read(
        lambda conn, now: invoices.customer_figures(conn, customer_id, terms, now=now)
    )


def test_request_an_invoice_and_download_its_pdf(browser: Any, demo: Demo) -> None:  # noqa: F811
    customer_id = demo.customer("acme-healthy")
    pay(demo.c, customer_id, buy(demo.c, customer_id).id)  # a paid order to invoice
    before = _figures(demo, customer_id)
    assert before.invoiceable_units > 0
    page = browser.new_context(viewport=WIDE, accept_downloads=True).new_page()
    _sign_in(page, demo, "billing@acme.example")
    shown, text = _figure(page, "invoiceable")
    exact = units_to_text(before.invoiceable_units, before.currency)
    assert (shown, text) == (exact, shown_money(exact, before.currency))
    page.click("[data-testid=card-invoices] a.button")
    page.wait_for_url("**/invoices")
    page.select_option("#title_type", "enterprise")
    page.fill("#invoice_title", "Acme Healthy Ltd")
    page.click("[data-testid=invoice-info] button[type=submit]")  # no tax id: refused
    page.wait_for_load_state("networkidle")
    assert "tax id" in page.locator("#err-info").inner_text()
    page.fill("#tax_id", "91310000ACME")
    page.click("[data-testid=invoice-info] button[type=submit]")
    page.wait_for_load_state("networkidle")
    [source] = [s for s in before.sources if s.invoiceable_units > 0][:1]
    page.check(f"[data-source='{source.kind}:{source.source_id}'] input[type=checkbox]")
    page.screenshot(path=str(demo.shots / "invoices.png"), full_page=True)
    page.click("[data-testid=submit-invoice]")
    page.wait_for_load_state("networkidle")
    [requested] = demo.c.read(
        lambda conn, _n: invoices.list_invoices(conn, customer_id=customer_id)
    )[0]
    assert requested.status == "pending_review"
    assert requested.amount_units == source.invoiceable_units
    row = page.locator(f"[data-invoice='{requested.id}']")
    assert "pending review" in row.inner_text().lower()

    operator = browser.new_context(viewport=WIDE).new_page()
    _sign_in(operator, demo, OPERATOR_EMAIL, operator=True)
    operator.goto(demo.base + "/operator/console/invoices?status=pending_review")
    operator.click(f"[data-invoice='{requested.id}'] button[data-action=issue]")
    operator.wait_for_load_state("networkidle")
    operator.screenshot(path=str(demo.shots / "operator-invoices.png"), full_page=True)
    issued = demo.c.read(lambda conn, _n: invoices.get(conn, requested.id))
    assert issued.number_text == "INV-00000001"

    page.reload()
    with page.expect_download() as info:
        page.click(f"[data-invoice='{requested.id}'] [data-testid=download]")
    pdf_text = pypdf.PdfReader(Path(info.value.path())).pages[0].extract_text()
    total = units_to_text(issued.amount_units, issued.currency)
    for expected in (
        "INV-00000001",
        "Acme Healthy Ltd",
        "91310000ACME",
        f"Total: {total}",
        "Tax (0%)",
    ):
        assert expected in pdf_text, (expected, pdf_text)
    after = _figures(demo, customer_id)
    assert after.invoiceable_units == before.invoiceable_units - source.invoiceable_units
