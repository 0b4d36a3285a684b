"""JSON-ready views of enterprise objects (API, CLI --json, console): amounts as exact
decimal text, instants as ISO 8601 UTC."""

from __future__ import annotations

from typing import Any

from ..customers.model import Customer, Overview
from ..views import alert_view, instant, money
from .budgets import MemberControls
from .model import Allocation, Association


def association_view(a: Association) -> dict[str, Any]:
    return {
        "id": a.id,
        "master_id": a.master_id,
        "member_id": a.member_id,
        "mode": str(a.mode),
        "status": str(a.status),
        "invited_by": str(a.invited_by),
        "created_at": instant(a.created_at),
        "accepted_at": instant(a.accepted_at),
        "ended_at": instant(a.ended_at),
    }


def member_view(a: Association, member: Customer, figures: Overview | None) -> dict[str, Any]:
    """A row of the master's members list; nothing of an invitee but its id (figures None) is
    the master's to see until it accepts: not its name, currency or figures."""
    cur = member.currency
    view = association_view(a)
    if figures is None:
        return view | dict.fromkeys(
            ("member_name", "currency", "payment_mode", "cash_balance", "credit_limit",
             "available_credit", "coupons", "debt", "in_arrears")
        )  # fmt: skip
    return view | {
        "member_name": member.name,
        "currency": cur,
        "payment_mode": str(member.payment_mode),
        "cash_balance": money(figures.cash_balance_units, cur),
        "credit_limit": money(figures.credit_limit_units, cur),
        "available_credit": money(figures.available_credit_units, cur),
        "coupons": money(figures.coupon_units, cur),
        "debt": money(figures.debt_units, cur),
        "in_arrears": figures.in_arrears,
    }


def allocation_view(a: Allocation) -> dict[str, Any]:
    return {
        "id": a.id,
        "association_id": a.association_id,
        "master_id": a.master_id,
        "member_id": a.member_id,
        "kind": str(a.kind),
        "direction": str(a.direction),
        "amount": money(a.amount_units, a.currency),
        "currency": a.currency,
        "from_coupon_id": a.from_coupon_id,
        "to_coupon_id": a.to_coupon_id,
        "ledger_transaction_id": a.ledger_transaction_id,
        "actor": a.actor,
        "created_at": instant(a.created_at),
        "replayed": a.replayed,
    }


def controls_view(c: MemberControls) -> dict[str, Any]:
    cur = c.currency
    return {
        "member_id": c.member_id,
        "currency": cur,
        "budget": money(c.budget_units, cur) if c.budget_units is not None else None,
        "month": c.month,
        "spent_this_month": money(c.spent_this_month_units, cur),
        "balance_alert": alert_view(c.alert, cur),
    }
