"""Cost analysis of an enterprise master (issue 18 with the cost center of issue 19): a master's
costs hold what it paid for its active unified members, grouped by the consuming account
(`account`, Huawei's ASSOCIATED_ACCOUNT); a member's costs are its own; once the member is
disassociated the old master's costs no longer show it, as its bills do not."""

from __future__ import annotations

from datetime import timedelta

from cloudbill.worker.jobs import settle_due

from ..conftest import T0
from ..enterprise_fixtures import associate, disassociate
from ..helpers import new_customer
from .test_costs import by_key, report
from .test_settlement import advance, hour, meter, register, topup, units

DAY = T0.date().isoformat()


def test_a_masters_costs_by_account_hold_its_unified_members(container) -> None:  # type: ignore[no-untyped-def]
    master = new_customer(container, "master")
    member = new_customer(container, "member")
    outsider = new_customer(container, "outsider")
    topup(container, master.id, "10.00", "master-seed")
    topup(container, outsider.id, "10.00", "outsider-seed")
    register(container, master.id, "vm-m")
    register(container, member.id, "vm-u")
    register(container, outsider.id, "vm-o")
    link = associate(container, master.id, member.id, "unified", at=T0 - timedelta(days=1))
    meter(container, ("m1", "vm-m", "duration", "1", hour(6), hour(7), "h"),
          ("u1", "vm-u", "duration", "1", hour(6), hour(7), "h"),
          ("u2", "vm-u", "duration", "1", hour(7), hour(8), "h"),
          ("o1", "vm-o", "duration", "1", hour(6), hour(7), "h"))  # fmt: skip
    advance(container, hours=1)
    settle_due(container)
    fee = units("0.0781")  # an hour of the default catalog's VM

    def costs_of(customer_id):  # type: ignore[no-untyped-def]
        got = report(container, customer_id, first=DAY, last=DAY, granularity="day",
                     group_by=["account"])  # fmt: skip
        return by_key(got)

    assert costs_of(master.id) == {(master.id,): {DAY: fee}, (member.id,): {DAY: 2 * fee}}
    assert costs_of(member.id) == {(member.id,): {DAY: 2 * fee}}
    assert costs_of(outsider.id) == {(outsider.id,): {DAY: fee}}
    only_member = report(container, master.id, first=DAY, last=DAY, granularity="day",
                         filters=[("account", [member.id], True)])  # fmt: skip
    assert only_member.total.amount_units == fee  # the member left out: the master's own
    disassociate(container, link, at=T0 + timedelta(hours=12))
    assert costs_of(master.id) == {(master.id,): {DAY: fee}}
