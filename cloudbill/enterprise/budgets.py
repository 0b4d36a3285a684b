"""What a master sets for a member: a monthly budget and the balance-alert threshold. When a
member's month-to-date spend (amount after discounts, in the member's time zone) passes its
budget, one alert goes to the member and one to the master, once per month: the notify
stage's customer notices deliver them by email and SMS, and the outbox's provider webhooks
carry the events, as for the balance alert."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection

from ..bills import repo as bills_repo
from ..customers import service as customers
from ..kernel.errors import CloudbillError, ErrorCode
from ..kernel.limits import PAGE_SIZE_MAX
from ..kernel.money import Money
from ..kernel.periods import month_of, month_period
from ..notify import alerts
from ..notify.outbox import Event, emit_many
from . import repo
from .model import AssociationStatus, MemberSetting
from .service import get as get_association

TOPIC = "customer.member_budget_exceeded"


@dataclass(frozen=True, slots=True)
class MemberControls:
    """A member's budget and its balance alert, as its master sees and sets them."""

    member_id: str
    currency: str
    budget_units: int | None
    spent_this_month_units: int
    month: str
    alert: alerts.AlertState


def _active_member(conn: Connection, association_id: str, master_id: str | None):  # type: ignore[no-untyped-def]
    association = get_association(conn, association_id, party=master_id)
    if master_id is not None and association.master_id != master_id:
        raise CloudbillError(ErrorCode.FORBIDDEN, "only the master sets a member's budget")
    if association.status is not AssociationStatus.ACTIVE:
        raise CloudbillError(
            ErrorCode.INVALID_STATE, f"the association is {association.status}, not active"
        )
    return association


def _month(member, now: datetime) -> tuple[str, object]:  # type: ignore[no-untyped-def]
    year, number = month_of(now, member.timezone)
    return f"{year:04d}-{number:02d}", month_period(year, number, member.timezone)


def spent_units(conn: Connection, member, now: datetime) -> tuple[str, int]:  # type: ignore[no-untyped-def]
    """(month label, the member's month-to-date spend): the bills' monthly amount."""
    label, period = _month(member, now)
    sums = bills_repo.month_sums(conn, member.id, [(label, period)])
    return label, sums.get(label, (0, 0))[0]


def controls(
    conn: Connection, association_id: str, *, now: datetime, master_id: str | None = None
) -> MemberControls:
    association = _active_member(conn, association_id, master_id)
    member = customers.get(conn, association.member_id)
    setting = repo.get_setting(conn, member.id)
    label, spent = spent_units(conn, member, now)
    return MemberControls(
        member_id=member.id,
        currency=member.currency,
        budget_units=setting.budget_units if setting else None,
        spent_this_month_units=spent,
        month=label,
        alert=alerts.get(conn, member.id),
    )


_KEEP = object()  # "leave as it is" for set_controls' optional fields


def set_controls(
    conn: Connection,
    association_id: str,
    *,
    now: datetime,
    master_id: str | None = None,
    budget: object = _KEEP,
    alert_enabled: object = _KEEP,
    alert_threshold: object = None,
) -> MemberControls:
    """Set the member's monthly budget (None: no budget) and/or its balance alert."""
    association = _active_member(conn, association_id, master_id)
    member = customers.get(conn, association.member_id, lock=True)
    if budget is not _KEEP:
        units = None
        if budget is not None:
            units = Money.parse(budget, member.currency).units
            if units <= 0:
                raise CloudbillError(
                    ErrorCode.INVALID_AMOUNT, "the budget must be greater than zero",
                    field="budget",
                )  # fmt: skip
        current = repo.get_setting(conn, member.id)
        alerted = current.budget_alerted_month if current else None
        if current is not None and current.budget_units != units:
            alerted = None  # a new budget is watched afresh this month
        repo.put_setting(
            conn,
            {"member_id": member.id, "master_id": association.master_id,
             "budget_units": units, "budget_alerted_month": alerted, "updated_at": now},
        )  # fmt: skip
    if alert_enabled is not _KEEP:
        alerts.configure(conn, member.id, enabled=alert_enabled, threshold=alert_threshold, now=now)
    check_member(conn, member.id, now=now)
    return controls(conn, association_id, now=now, master_id=master_id)


def check_member(conn: Connection, member_id: str, *, now: datetime) -> int:
    setting = repo.get_setting(conn, member_id)
    return _check(conn, setting, now) if setting is not None else 0


def _check(conn: Connection, setting: MemberSetting, now: datetime) -> int:
    """Alert once this month if the spend passed the budget; how many events were written."""
    if setting.budget_units is None:
        return 0
    association = repo.live_of_member(conn, setting.member_id)
    if (
        association is None
        or association.status is not AssociationStatus.ACTIVE
        or association.master_id != setting.master_id
    ):
        return 0  # the budget belonged to an association that has ended
    member = customers.get(conn, setting.member_id)
    label, spent = spent_units(conn, member, now)
    if setting.budget_alerted_month == label or spent <= setting.budget_units:
        return 0
    if not repo.mark_budget_alerted(conn, member.id, label):
        return 0
    payload = {
        "member_id": member.id,
        "member_name": member.name,
        "master_id": setting.master_id,
        "currency": member.currency,
        "month": label,
        "budget": Money(setting.budget_units, member.currency).to_text(),
        "spent": Money(spent, member.currency).to_text(),
        "at": now.isoformat(),
    }
    events = [
        Event(TOPIC, who, {**payload, "role": role},
              dedupe_key=f"{TOPIC}:{member.id}:{label}:{role}")
        for who, role in ((member.id, "member"), (setting.master_id, "master"))
    ]  # fmt: skip
    return emit_many(conn, events, now=now)


def check_due(conn: Connection, *, now: datetime) -> int:
    """The worker's pass over every member's budget (keyset pages, bounded each)."""
    told, after = 0, ""
    while True:
        page = repo.budgets_after(conn, after, limit=PAGE_SIZE_MAX)
        for setting in page:
            told += _check(conn, setting, now)
        if len(page) < PAGE_SIZE_MAX:
            return told
        after = page[-1].member_id
