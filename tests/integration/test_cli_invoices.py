"""`cloudbill invoice …`: information, invoiceable amounts, request, review, PDF, refusals."""

from __future__ import annotations

import io
from pathlib import Path

import pypdf

from tests.integration.test_cli import (  # noqa: F401 - fixtures
    REGION,
    VM,
    cli_db,
    customer,
    run,
    run_error,
    run_json,
)


def test_invoice_request_review_and_pdf(customer: str, tmp_path: Path) -> None:  # noqa: F811
    buy = ["order", "buy", customer, "--type", VM, "--spec", "s6.small.1", "--name", "db"]
    order = run_json(*buy, "--region", REGION, "--period", "month", "--count", "1")
    run_json("order", "pay", order["id"])
    figures = run_json("invoice", "invoiceable", customer)
    assert figures["invoiceable"] == "11.60"
    assert [(s["kind"], s["id"]) for s in figures["sources"]] == [("order", order["id"])]
    run_error(
        "invoice",
        "request",
        customer,
        "--order",
        order["id"],
        "--reference",
        "r1",
        code="INVOICE_PROFILE_MISSING",
    )
    run_error(
        "invoice",
        "info",
        customer,
        "--title-type",
        "enterprise",
        "--title",
        "Acme",
        code="INVALID_ARGUMENT",
    )
    run(
        "invoice",
        "info",
        customer,
        "--title-type",
        "enterprise",
        "--title",
        "Acme Ltd",
        "--tax-id",
        "9131",
    )
    request = ("invoice", "request", customer, "--order", order["id"], "--reference", "r1")
    [inv] = run_json(*request)["items"]
    assert inv["status"] == "pending_review"
    run_error("invoice", "confirm-return", inv["id"], code="INVALID_STATE")
    issued = run_json("invoice", "issue", inv["id"])
    assert issued["number"] == "INV-00000001"
    assert run_json("invoice", "list", "--status", "issued")["items"][0]["id"] == inv["id"]
    target = tmp_path / "inv.pdf"
    run("invoice", "pdf", inv["id"], "--output", str(target))
    text = pypdf.PdfReader(io.BytesIO(target.read_bytes())).pages[0].extract_text()
    assert "INV-00000001" in text and "Acme Ltd" in text and "Total: 11.60 USD" in text
    run_error("invoice", "show", "nope", code="INVOICE_NOT_FOUND")
