"""What the isolation walks share: a victim who owns one of everything, an intruder with money of
its own (so a refusal can only come from ownership, never from an empty purse), made-up ids of the
same shape as the victim's, and the masking that lets two answers be compared."""

from __future__ import annotations

import dataclasses
import re
import string
from typing import Any

from cloudbill.bootstrap import Container
from cloudbill.orders import service as orders
from cloudbill.worker.jobs import settle_due

from ..helpers import new_customer
from ..scenarios.test_orders import buy, pay, terms
from ..scenarios.test_settlement import advance, hour, meter, register, topup
from ..scenarios.test_settlement_benefits import coupon, grant
from .conftest import issue_key

PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


@dataclasses.dataclass(frozen=True)
class Call:
    """Query and body of one walked request; strings may hold `{name}` placeholders. `path`
    replaces the route's own template when its parameter must name another kind of id (the
    route's `{resource_id}` filled with the yearly/monthly resource). A `write` changes
    something when its owner sends it, so only the intruder's answers are compared."""

    query: dict[str, Any] | None = None
    body: Any = None
    path: str | None = None
    write: bool = False

    def filled(self, ids: dict[str, str]) -> Call:
        return dataclasses.replace(self, query=_fill(self.query, ids), body=_fill(self.body, ids))

    def names(self, path: str) -> set[str]:
        """The ids this call sends (in its path, query or body)."""
        return set(PLACEHOLDER.findall(path + repr(self.query) + repr(self.body)))


def _fill(value: Any, ids: dict[str, str]) -> Any:
    if isinstance(value, str):
        return value.format(**ids)
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, ids) for v in value]
    return value


@dataclasses.dataclass(frozen=True)
class Owner:
    id: str
    ids: dict[str, str]


def _swap(ch: str) -> str:
    for alphabet in (string.digits, string.ascii_uppercase, string.ascii_lowercase):
        if ch in alphabet:
            return alphabet[(alphabet.index(ch) + 7) % len(alphabet)]
    return ch


def fake_ids(ids: dict[str, str]) -> dict[str, str]:
    """Ids of the same length and alphabet as the victim's that name nothing."""
    return {name: "".join(_swap(ch) for ch in value) for name, value in ids.items()}


def masked(text: str, ids: dict[str, str]) -> str:
    """The answer with the ids the request itself sent replaced, so that two answers differing
    only by the echoed id compare equal."""
    for name, value in sorted(ids.items(), key=lambda item: -len(item[1])):
        text = text.replace(value, f"<{name}>")
    return text


def victim_and_intruder(container: Container) -> tuple[Owner, Owner]:
    """The victim owns a settled pay-per-use VM, a package, a coupon, a paid yearly/monthly
    resource, a pending order, an unsubscribed resource (a refund order) and an access key."""
    victim = new_customer(container, "victim")
    topup(container, victim.id, "200.00", "seed")
    register(container, victim.id, "vm-victim")
    package = grant(container, victim.id, "pkg-victim", "2", service="ecs")
    victim_coupon = coupon(container, victim.id, "cpn-victim", "0.05")
    meter(container, ("rv1", "vm-victim", "duration", "3", hour(4), hour(7), "h"))
    advance(container, hours=1)
    assert settle_due(container)
    paid = pay(container, victim.id, buy(container, victim.id).id)
    pending = buy(container, victim.id)
    gone = pay(container, victim.id, buy(container, victim.id).id)
    refund = container.write(
        lambda conn, now: orders.unsubscribe(
            conn, victim.id, [gone.lines[0].resource_id], terms=terms(container), now=now
        )
    )
    key = issue_key(container, victim.id)
    ids = {
        "domain_id": victim.id,
        "resource_id": "vm-victim",
        "yearly_resource_id": paid.lines[0].resource_id,
        "order_id": paid.id,
        "pending_order_id": pending.id,
        "refund_order_id": refund.id,
        "package_id": str(package.id),
        "coupon_id": str(victim_coupon.id),
        "access_key_id": key.key.id,
    }
    intruder = new_customer(container, "intruder")
    topup(container, intruder.id, "500.00", "intruder-seed")
    return Owner(victim.id, ids), Owner(intruder.id, {})
