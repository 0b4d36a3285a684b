"""Unified accounting: who pays for a member's fees and orders, and what a member may not do.

The rules follow Huawei's Enterprise Center ("Enabling Unified Accounting Management" and its
FAQ on what changes for master and members):
- the master pays every fee and order of a unified member incurred while it is associated, from
  the master's books in the master's deduction order (its cash coupons, cash, credit, then its
  debt), under the master's commercial discounts;
- the member's own resource packages still cover its own usage first (Huawei: members "can only
  enjoy [the master's] benefits after their own benefits have been used up"; the master sharing
  its packages is an opt-in of Huawei's that cloudbill does not offer);
- a member cannot top up nor use its own old balance for new spend: that balance only repays
  what it owed from before it joined (or is withdrawn, or used after disassociation);
- arrears are the master's: the member's pay-per-use resources follow the lifecycle with the
  master's arrears (lifecycle/), and the master's repayment covers its members' records.
Fee records keep the member as the consumer (customer_id) and name the payer (payer_id).
Compare Kill Bill's hierarchical accounts, where a child's invoices are paid by the parent
(`isPaymentDelegatedToParent`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Connection, and_, or_, select

from ..kernel.errors import CloudbillError, ErrorCode
from ..store.schema import enterprise_association as association
from . import repo
from .model import AccountingMode, AssociationStatus


def payer_of(conn: Connection, customer_id: str, at: datetime) -> str:
    """Who pays `customer_id`'s fees and orders of instant `at`: its unified master, or itself."""
    return repo.unified_payers(conn, [customer_id], at).get(customer_id, customer_id)


def payers_of_lines(conn: Connection, lines: Iterable) -> dict[tuple[str, datetime], str]:  # type: ignore[type-arg]
    """{(consumer, hour): master} for the settlement lines a unified master pays: each hour by
    the association in force then (a late line of an hour before the member joined, or after it
    left, is its own). One lookup per distinct hour: a run holds one hour and a few late ones."""
    by_hour: dict[datetime, set[str]] = defaultdict(set)
    for line in lines:
        by_hour[line.hour].add(line.customer_id)
    found: dict[tuple[str, datetime], str] = {}
    for hour, ids in by_hour.items():
        for member, master in repo.unified_payers(conn, ids, hour).items():
            found[(member, hour)] = master
    return found


def check_payable(consumer, payer) -> None:  # type: ignore[no-untyped-def]
    """A master pays a member's fees in the member's currency from its own books: they must
    hold the same currency (association should see to it; a mismatch holds the member back)."""
    if consumer.id != payer.id and consumer.currency != payer.currency:
        raise CloudbillError(
            ErrorCode.CURRENCY_MISMATCH,
            f"customer {consumer.id} bills in {consumer.currency} but its unified master "
            f"{payer.id} keeps {payer.currency} books",
            customer_id=consumer.id,
            payer_id=payer.id,
        )


def refuse_own_payment(conn: Connection, customer_id: str, at: datetime, *, what: str) -> None:
    """A unified member puts no money of its own in (a top-up): its master pays for it."""
    master = repo.unified_payers(conn, [customer_id], at).get(customer_id)
    if master is not None:
        raise CloudbillError(
            ErrorCode.UNIFIED_MEMBER_PAYS_THROUGH_MASTER,
            f"customer {customer_id} is in unified accounting with master {master}: {what} is "
            "made by the master",
            customer_id=customer_id,
            master_id=master,
        )


def unified_members(conn: Connection, master_ids: Iterable[str]) -> dict[str, str]:
    """{member: master} of the active unified associations of `master_ids` now."""
    ids = list(master_ids)
    if not ids:
        return {}
    a = association.c
    rows = conn.execute(
        select(a.member_id, a.master_id).where(
            a.master_id.in_(ids),
            a.mode == AccountingMode.UNIFIED,
            a.status == AssociationStatus.ACTIVE,
        )
    )
    return {row.member_id: row.master_id for row in rows}


def paid_by(fee_columns, customer_id: str):  # type: ignore[no-untyped-def]
    """The fee records `customer_id` paid: its own (no payer named) and those it paid for its
    unified members. Two indexable branches rather than a COALESCE the planner cannot use."""
    f = fee_columns
    return or_(and_(f.customer_id == customer_id, f.payer_id.is_(None)), f.payer_id == customer_id)


def visible_customers(conn: Connection, viewer_id: str) -> list[str]:
    """Whose bills `viewer_id` sees: itself, then its active members (any accounting mode) by
    id. After disassociation a member is no longer listed (enterprise.repo.sees)."""
    members = sorted(a.member_id for a in repo.active_of_master(conn, viewer_id))
    return [viewer_id, *members]
