"""BSS bill operations of an enterprise master, through the real SDK (issue 18, item 4): its
resource records hold its unified members' with each member as the record's customer;
`method` oneself / sub_customer / all and `sub_customer_id` narrow them; a member sees only
its own, and naming another customer as sub-customer matches nothing."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from huaweicloudsdkbssintl.v2 import (
    ListCustomerselfResourceRecordDetailsRequest,
    ListCustomerselfResourceRecordsRequest,
    QueryResRecordsDetailReq,
    ShowCustomerMonthlySumRequest,
)

from cloudbill.bootstrap import Container
from cloudbill.worker.jobs import run_due

from ..conftest import T0
from ..enterprise_fixtures import associate
from ..helpers import new_customer
from ..scenarios.test_settlement import hour, meter, register, topup
from .conftest import issue_key, sdk_client

MONTH = T0.strftime("%Y-%m")


def _client(container: Container, bss: str, customer_id: str):  # type: ignore[no-untyped-def]
    key = issue_key(container, customer_id)
    return sdk_client(bss, key.key.id, key.secret, customer_id)


def _owners(client, **kw) -> list[str]:  # type: ignore[no-untyped-def]
    answer = client.list_customerself_resource_records(
        ListCustomerselfResourceRecordsRequest(cycle=MONTH, limit=100, **kw)
    )
    assert answer.total_count == len(answer.fee_records)
    return sorted(r.customer_id for r in answer.fee_records)


def test_a_masters_bss_records_hold_its_members(container: Container, bss: str) -> None:
    master = new_customer(container, "master")
    member = new_customer(container, "member")
    other = new_customer(container, "other")
    topup(container, master.id, "10.00", "seed")
    topup(container, other.id, "10.00", "seed-other")
    for customer, rid in ((master, "vm-m"), (member, "vm-u"), (other, "vm-o")):
        register(container, customer.id, rid)
    associate(container, master.id, member.id, "unified", at=T0 - timedelta(days=1))
    meter(container, *[(f"r-{rid}", rid, "duration", "1", hour(7), hour(8), "h")
                       for rid in ("vm-m", "vm-u", "vm-o")])  # fmt: skip
    run_due(container)

    boss = _client(container, bss, master.id)
    assert _owners(boss) == sorted([master.id, member.id])
    assert _owners(boss, method="all") == sorted([master.id, member.id])
    assert _owners(boss, method="oneself") == [master.id]
    assert _owners(boss, method="sub_customer") == [member.id]
    assert _owners(boss, sub_customer_id=member.id) == [member.id]
    assert _owners(boss, sub_customer_id=other.id) == []
    details = boss.list_customerself_resource_record_details(
        ListCustomerselfResourceRecordDetailsRequest(
            body=QueryResRecordsDetailReq(cycle=MONTH, statistic_type=3, limit=100)
        )
    )
    assert sorted(r.customer_id for r in details.monthly_records) == sorted([master.id, member.id])

    own = _client(container, bss, member.id)
    assert _owners(own) == [member.id]
    assert _owners(own, sub_customer_id=master.id) == []
    assert _owners(own, method="sub_customer") == []


def test_a_masters_monthly_sum_holds_its_members(container: Container, bss: str) -> None:
    master = new_customer(container, "master")
    member = new_customer(container, "member")
    topup(container, master.id, "10.00", "seed")
    register(container, master.id, "vm-m")
    register(container, member.id, "vm-u")
    associate(container, master.id, member.id, "unified", at=T0 - timedelta(days=1))
    meter(container, *[(f"r-{rid}", rid, "duration", "1", hour(7), hour(8), "h")
                       for rid in ("vm-m", "vm-u")])  # fmt: skip
    run_due(container)
    boss = _client(container, bss, master.id)

    def total(**kw) -> Decimal:  # type: ignore[no-untyped-def]
        return boss.show_customer_monthly_sum(
            ShowCustomerMonthlySumRequest(bill_cycle=MONTH, **kw)
        ).consume_amount

    assert total() == Decimal("0.16")  # two hours of s6.large.2 (0.1562), to the cent
    assert total(method="oneself") == total(method="sub_customer") == Decimal("0.08")
    assert total(sub_customer_id=member.id) == Decimal("0.08")
