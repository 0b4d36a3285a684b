"""A small demo data set for `make run` on a new database.

Four customers in the states an operator meets every day: healthy, low balance, in arrears,
post-paid; plus one with a yearly/monthly subscription, a cash coupon and an order pending
payment. Every amount goes through the same use cases as real traffic (top-ups, adjustments,
orders), so the books verify. Each customer has a console user, and the provider an operator
user, all with the password DEMO_PASSWORD.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Connection

from .benefits import service as benefits
from .config import Settings
from .customers import service as customers
from .customers.model import Customer, CustomerInput
from .orders import service as orders
from .orders.service import NewItem, Terms
from .resources import service as resources
from .resources.model import ResourceInput
from .users import service as users
from .users.model import UserKind

DEMO_PASSWORD = "cloudbill-demo"  # a demo's: never a real account's
OPERATOR_EMAIL = "operator@cloudbill.example"

VM = "hws.resource.type.vm"
DISK = "hws.resource.type.volume"
BANDWIDTH = "hws.resource.type.bandwidth"
CSS = "hws.resource.type.css"
GES = "hws.resource.type.ges"
REGION = "ap-southeast-1"


def _resource(conn: Connection, now: datetime, customer_id: str, rid: str, rtype: str, spec: str,
              name: str, *, parent: str | None = None, mode: str = "pay_per_use",
              expire_at: datetime | None = None) -> None:  # fmt: skip
    resources.register(
        conn,
        ResourceInput(
            customer_id=customer_id,
            resource_type=rtype,
            spec=spec,
            billing_mode=mode,
            region=REGION,
            name=name,
            id=rid,
            parent_id=parent,
            expire_at=expire_at,
        ),
        now=now,
    )


def seed(conn: Connection, *, now: datetime, settings: Settings | None = None) -> list[str]:
    """Create the demo customers and their console users; returns the customers' names. Call
    only on an empty database."""
    made = _prepaid(conn, now) + _in_debt(conn, now) + [_yearly(conn, now, settings)]
    _people(conn, now, {c.name: c.id for c in made})
    return [c.name for c in made]


def _prepaid(conn: Connection, now: datetime) -> list[Customer]:
    acme = customers.create(
        conn, CustomerInput(name="acme-healthy", currency="USD", email="billing@acme.example",
                            mobile="+6580000001", level=2), now=now,
    )  # fmt: skip
    customers.topup(conn, acme.id, "500.00", reference="demo-acme-1", now=now)
    _resource(conn, now, acme.id, "demo-acme-vm-1", VM, "s6.large.2", "web-1")
    _resource(conn, now, acme.id, "demo-acme-disk-1", DISK, "SSD", "web-1-data",
              parent="demo-acme-vm-1")  # fmt: skip
    _resource(conn, now, acme.id, "demo-acme-eip-1", BANDWIDTH, "bandwidth_5m", "web-1-eip",
              parent="demo-acme-vm-1")  # fmt: skip

    low = customers.create(
        conn, CustomerInput(name="bluebird-low-balance", currency="USD",
                            email="ops@bluebird.example"), now=now,
    )  # fmt: skip
    customers.topup(conn, low.id, "2.00", reference="demo-bluebird-1", now=now)
    _resource(conn, now, low.id, "demo-bluebird-vm-1", VM, "s6.small.1", "worker-1")
    return [acme, low]


def _in_debt(conn: Connection, now: datetime) -> list[Customer]:
    """One prepaid customer in arrears, one post-paid customer with usage carried over."""
    arrears = customers.create(
        conn, CustomerInput(name="corvid-in-arrears", currency="USD",
                            email="finance@corvid.example", mobile="+6580000003"), now=now,
    )  # fmt: skip
    customers.topup(conn, arrears.id, "10.00", reference="demo-corvid-1", now=now)
    _resource(conn, now, arrears.id, "demo-corvid-css-1", CSS, "ess.spec-4u8g", "search")
    _resource(conn, now, arrears.id, "demo-corvid-eip-1", BANDWIDTH, "bandwidth_1m",
              "search-eip", parent="demo-corvid-css-1")  # fmt: skip
    customers.adjust(
        conn,
        arrears.id,
        "25.00",
        direction="charge",
        reference="demo-corvid-usage",
        reason="pay-per-use charges migrated from the previous billing system",
        attribution=resources.attribution(conn, arrears.id, resource_id="demo-corvid-css-1"),
        now=now,
    )

    post = customers.create(
        conn, CustomerInput(name="delta-postpaid", currency="CNY", payment_mode="postpaid",
                            credit_limit="5000.00", level=3, timezone="Asia/Shanghai",
                            email="ap@delta.example"), now=now,
    )  # fmt: skip
    _resource(conn, now, post.id, "demo-delta-ges-1", GES, "ges.s1.small", "graph")
    customers.adjust(
        conn,
        post.id,
        "1200.00",
        direction="charge",
        reference="demo-delta-usage",
        reason="post-paid usage carried over",
        attribution=resources.attribution(conn, post.id, resource_id="demo-delta-ges-1"),
        now=now,
    )
    return [arrears, post]


def _yearly(conn: Connection, now: datetime, settings: Settings | None) -> Customer:
    """A yearly/monthly customer with a cash coupon and an order waiting for payment."""
    yearly = customers.create(
        conn, CustomerInput(name="epsilon-yearly", currency="USD", level=3,
                            email="it@epsilon.example"), now=now,
    )  # fmt: skip
    customers.topup(conn, yearly.id, "100.00", reference="demo-epsilon-1", now=now)
    _resource(conn, now, yearly.id, "demo-epsilon-vm-1", VM, "c7.large.2", "db-1",
              mode="yearly_monthly", expire_at=now + timedelta(days=365))  # fmt: skip
    benefits.issue_coupon(conn, customer_id=yearly.id, name="welcome", value="10.00",
                          valid_from=None, valid_to=now + timedelta(days=90),
                          reference="demo-epsilon-coupon", now=now)  # fmt: skip
    orders.create_new(
        conn, yearly.id, [NewItem(VM, "s6.small.1", REGION, "cache-1", "month", 1)],
        reference="demo-epsilon-order", terms=Terms.from_settings(settings or Settings()),
        now=now,
    )  # fmt: skip
    return yearly


# (customer name, or None for an operator user; email; role)
PEOPLE = (
    ("acme-healthy", "billing@acme.example", "admin"),
    ("acme-healthy", "viewer@acme.example", "viewer"),
    ("bluebird-low-balance", "ops@bluebird.example", "admin"),
    ("corvid-in-arrears", "finance@corvid.example", "admin"),
    ("delta-postpaid", "ap@delta.example", "admin"),
    ("epsilon-yearly", "it@epsilon.example", "admin"),
    (None, OPERATOR_EMAIL, "admin"),
)


def _people(conn: Connection, now: datetime, ids: dict[str, str]) -> None:
    for name, email, role in PEOPLE:
        kind = UserKind.OPERATOR if name is None else UserKind.CUSTOMER
        users.create(conn, kind=kind, customer_id=ids.get(name or ""), email=email, role=role,
                     password=DEMO_PASSWORD, actor="demo", now=now)  # fmt: skip


DEMO_USERS = (
    "billing@acme.example (prepaid), viewer@acme.example (viewer), ops@bluebird.example, "
    "finance@corvid.example (in arrears), ap@delta.example (post-paid), it@epsilon.example "
    "(yearly/monthly)"
)
