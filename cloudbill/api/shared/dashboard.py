"""The Account Overview's figures, card by card (Huawei Billing Center's Overview page), in one
read: funds and the alert, unpaid bills (post-paid), orders pending payment, cash coupons, bill
storage, renewals, the six months' expenditure trend and, in arrears, which resources the
lifecycle will freeze or release and when. The console's Overview renders exactly this; the customer
API answers it at /account/dashboard and the operator API per customer."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from ...benefits import service as benefits
from ...benefits.model import CouponStatus
from ...bills import service as bills
from ...bills.views import trend_view
from ...bootstrap import Container
from ...customers import service as customers
from ...lifecycle import service as lifecycle
from ...notify import alerts
from ...orders import service as orders
from ...orders.model import OrderStatus
from ...storage import service as storage
from ...storage.views import card_view
from ...subscriptions import service as subscriptions
from ...views import alert_view, instant, overview_view

TREND_MONTHS = 6  # the seed: "the expenditure trend of the last six months"
RENEWAL_DAYS = 30  # the seed: "pending renewal in the next 30 days"


def funds(c: Container, customer_id: str) -> dict[str, Any]:
    """The funds card alone (with the balance alert): what the alert switch, Top up and
    Withdraw show, without the rest of the Overview's reads."""

    def read(conn: Connection, now):  # type: ignore[no-untyped-def]
        customer = customers.get(conn, customer_id)
        return {
            "customer_id": customer.id,
            "name": customer.name,
            "currency": customer.currency,
            "payment_mode": str(customer.payment_mode),
            "funds": overview_view(customers.overview(conn, customer, now, with_hold=True)),
            "balance_alert": alert_view(alerts.get(conn, customer.id), customer.currency),
        }

    return c.read(read)


def dashboard(c: Container, customer_id: str) -> dict[str, Any]:
    rounding = c.settings.bill_rounding

    def read(conn: Connection, now):  # type: ignore[no-untyped-def]
        customer = customers.get(conn, customer_id)
        funds = overview_view(customers.overview(conn, customer, now, with_hold=True))
        _orders, pending = orders.list_orders(
            conn,
            customer.id,
            status=str(OrderStatus.PENDING_PAYMENT),
            order_type=None,
            limit=1,
            offset=0,
        )
        _coupons, coupon_count = benefits.list_coupons(
            conn, customer.id, status=str(CouponStatus.ACTIVE), limit=1, offset=0
        )
        renewals = subscriptions.renewals(
            conn,
            customer.id,
            view="expiring",
            within_days=RENEWAL_DAYS,
            limit=1,
            offset=0,
            now=now,
        )["counts"]
        trend = bills.expenditure_trend(
            conn, customer.id, months=TREND_MONTHS, now=now, rounding=rounding
        )
        at_risk = lifecycle.outlook(conn, customer.id)
        return {
            "customer_id": customer.id,
            "name": customer.name,
            "currency": customer.currency,
            "payment_mode": str(customer.payment_mode),
            "timezone": customer.timezone,
            "as_of": instant(now),
            "funds": funds,
            "balance_alert": alert_view(alerts.get(conn, customer.id), customer.currency),
            "orders_pending_payment": pending,
            "coupons": {"amount": funds["coupons"], "count": coupon_count},
            "renewals": {
                "within_days": RENEWAL_DAYS,
                "expiring": renewals["expiring"],
                "expired": renewals["expired"],
                "frozen": renewals["frozen"],
            },
            "bill_storage": card_view(*storage.card(conn, customer.id)),
            "trend": trend_view(customer.id, trend),
            "arrears": {
                "in_arrears": funds["in_arrears"],
                "debt": funds["debt"],
                "since": funds["arrears_since"],
                "resources": [
                    {
                        **r,
                        "status_since": instant(r["status_since"]),
                        "freeze_at": instant(r["freeze_at"]),
                        "release_at": instant(r["release_at"]),
                    }
                    for r in at_risk
                ],
            },
        }

    return c.read(read)
