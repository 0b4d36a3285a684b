"""Invoices through the customer and operator APIs (in-process, both databases): invoice
information, the invoiceable amounts the engine computes, New Invoice, review and issue, the
PDF (its text read back with a PDF extractor), return, and refusals that change nothing."""

from __future__ import annotations

import io

import pypdf
from fastapi.testclient import TestClient

from cloudbill.api.app import create_app
from cloudbill.invoices import service as invoices
from cloudbill.invoices.model import Terms
from cloudbill.invoices.views import figures_view
from tests.helpers import new_customer, snapshot
from tests.integration.customer_world import issue_key
from tests.integration.test_api_operator import AUTH
from tests.scenarios.test_orders import buy, pay
from tests.scenarios.test_settlement import topup

CUSTOMER, OPERATOR = "/customer/v1", "/operator/v1"


def test_request_review_issue_download_and_return(container) -> None:  # type: ignore[no-untyped-def]
    acme = new_customer(container, email="ap@acme.example")
    topup(container, acme.id, "50.00", "seed")
    order = pay(container, acme.id, buy(container, acme.id).id)
    key = issue_key(container, acme.id)
    me = (key.key.id, key.secret)
    client = TestClient(create_app(container))

    def cust(method, path, expect=200, **kw):  # type: ignore[no-untyped-def]
        r = client.request(method, CUSTOMER + path, auth=me, **kw)
        assert r.status_code == expect, r.text
        return r

    def op(method, path, expect=200, **kw):  # type: ignore[no-untyped-def]
        r = client.request(method, OPERATOR + path, headers=AUTH, **kw)
        assert r.status_code == expect, r.text
        return r

    engine = container.read(
        lambda conn, now: invoices.customer_figures(
            conn, acme.id, Terms.from_settings(container.settings), now=now
        )
    )
    answer = cust("GET", "/invoices/invoiceable").json()
    assert answer == {"mode": "request", **figures_view(engine)}
    assert answer["invoiceable"] == "11.60"
    body = {"items": [{"kind": "order", "id": order.id}], "reference": "r1"}
    before = snapshot(container)
    refused = cust("POST", "/invoices", 409, json=body).json()
    assert refused["error"]["code"] == "INVOICE_PROFILE_MISSING" and snapshot(container) == before
    bad = {"title_type": "enterprise", "title": "Acme Ltd"}
    assert cust("PUT", "/invoice-info", 400, json=bad).json()["error"]["code"] == "INVALID_ARGUMENT"
    cust("PUT", "/invoice-info", json={**bad, "tax_id": "91310000X", "address": "1 Main St"})
    [inv] = cust("POST", "/invoices", 201, json=body).json()["invoices"]
    assert (inv["status"], inv["amount"], inv["number"]) == ("pending_review", "11.60", None)
    assert cust("GET", "/invoices/invoiceable").json()["invoiceable"] == "0.00"

    listed = op("GET", "/invoices", params={"status": "pending_review"}).json()
    assert [i["id"] for i in listed["invoices"]] == [inv["id"]]
    op("POST", f"/invoices/{inv['id']}/start")
    issued = op("POST", f"/invoices/{inv['id']}/issue").json()
    assert issued["status"] == "issued" and issued["number"] == "INV-00000001"
    shown = cust("GET", f"/invoices/{inv['id']}").json()
    assert shown["document"]["buyer"]["title"] == "Acme Ltd"

    pdf = cust("GET", f"/invoices/{inv['id']}/pdf")
    assert pdf.headers["content-type"] == "application/pdf"
    text = pypdf.PdfReader(io.BytesIO(pdf.content)).pages[0].extract_text()
    for expected in ("INV-00000001", "Acme Ltd", "91310000X", "Total: 11.60 USD", "Tax (0%)"):
        assert expected in text, (expected, text)

    other = new_customer(container, name="other")
    other_key = issue_key(container, other.id)
    r = client.get(
        CUSTOMER + f"/invoices/{inv['id']}/pdf", auth=(other_key.key.id, other_key.secret)
    )
    assert r.status_code == 404 and r.json()["error"]["code"] == "INVOICE_NOT_FOUND"

    op("POST", f"/invoices/{inv['id']}/reject", 409, json={"reason": "late"})
    cust("POST", f"/invoices/{inv['id']}/return", json={"reason": "wrong address"})
    returned = op("POST", f"/invoices/{inv['id']}/confirm-return").json()
    assert returned["status"] == "returned"
    assert cust("GET", "/invoices/invoiceable").json()["invoiceable"] == "11.60"
    assert op("GET", f"/customers/{acme.id}/invoiceable").json()["invoiceable"] == "11.60"
