"""ListInvoices through the real huaweicloudsdkbssintl client: the caller's invoices with the
engine's amounts, tax, states and codes; a page is a page number; other customers' invoices
and cancelled requests are not listed."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from huaweicloudsdkbssintl.v2 import ListInvoicesRequest

from cloudbill.bootstrap import Container
from cloudbill.invoices import service as invoices
from cloudbill.invoices.model import Terms

from ..helpers import new_customer
from ..scenarios.test_orders import buy, pay
from ..scenarios.test_settlement import topup
from .test_bss_orders import exact, raw, shop  # noqa: F401 - the fixture

WINDOW = {"start_time": "2026-01-01T00:00:00Z", "end_time": "2026-12-31T00:00:00Z"}


def _terms(container: Container) -> Terms:
    return Terms.from_settings(container.settings)


def _ask(container: Container, customer_id: str, order_id: str, ref: str):  # type: ignore[no-untyped-def]
    chosen = [{"kind": "order", "id": order_id}]
    return container.write(
        lambda conn, now: invoices.request(
            conn, customer_id, chosen, _terms(container), reference=ref, now=now
        )
    )


def _act(container: Container, invoice_id: str, action: str, **kw: Any):  # type: ignore[no-untyped-def]
    return container.write(
        lambda conn, now: invoices.act(conn, invoice_id, action, _terms(container), now=now, **kw)
    )


def test_list_invoices_answers_the_engines_invoices(
    container: Container,
    shop: dict[str, Any],  # noqa: F811
) -> None:
    client, acme, paid = shop["client"], shop["customer"], shop["paid"]
    info = {"title_type": "enterprise", "title": "Acme Ltd", "tax_id": "9131", "email": "a@x.io"}
    container.write(lambda conn, now: invoices.set_profile(conn, acme.id, info, now=now))
    [issued] = _ask(container, acme.id, paid.id, "r1")
    issued = _act(container, issued.id, "issue")
    second = pay(container, acme.id, buy(container, acme.id).id)
    [pending] = _ask(container, acme.id, second.id, "r2")
    third = pay(container, acme.id, buy(container, acme.id).id)
    [cancelled] = _ask(container, acme.id, third.id, "r3")
    _act(container, cancelled.id, "cancel", customer_id=acme.id)
    other = new_customer(container, "other")  # its invoices are not acme's
    topup(container, other.id, "50.00", "o")
    container.write(lambda conn, now: invoices.set_profile(conn, other.id, info, now=now))
    [theirs] = _ask(
        container, other.id, pay(container, other.id, buy(container, other.id).id).id, "x"
    )

    answer = client.list_invoices(ListInvoicesRequest(**WINDOW, offset=1, limit=10))
    assert answer.status_code == 200 and answer.count == 2
    rows = {r["requestId"]: r for r in raw(answer)["invoices"]}
    assert set(rows) == {issued.id, pending.id}
    done = rows[issued.id]
    assert done["invoiceAmount"] == exact(paid.cash_units) == Decimal("19.72")
    assert (done["invoiceState"], done["invoiceNo"], done["requestMode"]) == (
        8,
        "INV-00000001",
        "0",
    )
    assert (done["tradeType"], done["invoiceMethod"], done["titleType"]) == (8, 2, 1)
    assert done["invoiceTitle"] == "Acme Ltd" and done["email"] == "a@x.io"
    assert done["taxList"] == [
        {
            "taxClass": "VAT",
            "taxRate": "0",
            "taxAmount": Decimal("0.00"),
            "taxVisibleFlag": "Y",
            "taxAccountingFlag": "Y",
        }
    ]
    assert rows[pending.id]["invoiceState"] == 1 and rows[pending.id]["invoiceNo"] is None
    assert rows[pending.id]["invoiceAmount"] == exact(second.cash_units)
    # the SDK's own model reads the same
    model = {i.request_id: i for i in answer.invoices}[issued.id]
    assert (model.invoice_state, model.trade_type, model.invoice_no) == (8, 8, "INV-00000001")
    # offset is a page number
    first = client.list_invoices(ListInvoicesRequest(**WINDOW, offset=1, limit=1))
    page_two = client.list_invoices(ListInvoicesRequest(**WINDOW, offset=2, limit=1))
    page_three = client.list_invoices(ListInvoicesRequest(**WINDOW, offset=3, limit=1))
    assert first.count == page_two.count == 2
    ids = [first.invoices[0].request_id, page_two.invoices[0].request_id]
    assert set(ids) == {issued.id, pending.id} and page_three.invoices == []
    assert theirs.id not in ids
    # the window is on the application time
    before = {"start_time": "2026-01-01T00:00:00Z", "end_time": "2026-02-01T00:00:00Z"}
    assert client.list_invoices(ListInvoicesRequest(**before, offset=1, limit=10)).count == 0
    rejected = _act(container, pending.id, "reject", reason="title mismatch")
    answer = client.list_invoices(ListInvoicesRequest(**WINDOW, offset=1, limit=10))
    row = {r["requestId"]: r for r in raw(answer)["invoices"]}[rejected.id]
    assert (row["invoiceState"], row["cancelReason"]) == (0, "title mismatch")
