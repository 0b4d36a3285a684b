"""Customer use cases. Each runs inside one transaction handed in by the caller."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from ..enterprise import accounting
from ..expenditure import repo as expenditure_repo
from ..expenditure.model import Attribution, BillType, Expenditure
from ..kernel.errors import CloudbillError, ErrorCode
from ..kernel.ids import is_valid_id, new_id
from ..kernel.limits import (
    FILTER_TEXT_MAX_CHARS,
    NAME_MAX_CHARS,
    OFFSET_MAX,
    PAGE_SIZE_DEFAULT,
    PAGE_SIZE_MAX,
    REFERENCE_MAX_CHARS,
)
from ..kernel.money import Money
from ..ledger import repo as ledger_repo
from ..ledger import service as ledger
from ..ledger.model import (
    CUSTOMER_KINDS,
    PROVIDER_KINDS,
    AccountKind,
    Leg,
    PostedTransaction,
    Posting,
    TransactionKind,
)
from ..ledger.rules import payload_hash
from ..notify.outbox import Event, emit_many
from ..postpaid import service as postpaid
from ..store import clock_repo
from . import repo, rules
from .model import Customer, CustomerInput, CustomerStatus, Overview, PaymentMode

OPERATOR = "operator"


def get(conn: Connection, customer_id: str, *, lock: bool = False) -> Customer:
    found = repo.get(conn, customer_id, lock=lock) if is_valid_id(customer_id) else None
    if found is None:
        raise CloudbillError(
            ErrorCode.CUSTOMER_NOT_FOUND, f"no customer {customer_id!r}", customer_id=customer_id
        )
    return found


def resolve(conn: Connection, ref: str) -> str:
    """A customer named by id or by name (people type names): its id; `ref` itself when it
    names nobody, so the use case answers CUSTOMER_NOT_FOUND as for any unknown id."""
    if is_valid_id(ref) and repo.get(conn, ref) is not None:
        return ref
    if isinstance(ref, str) and 0 < len(ref) <= NAME_MAX_CHARS and "\x00" not in ref:
        return repo.id_of_name(conn, ref.strip()) or ref
    return ref


def create(conn: Connection, data: CustomerInput, *, now: datetime) -> Customer:
    name = rules.check_name(data.name)
    currency = rules.check_currency(data.currency)
    mode = rules.check_payment_mode(data.payment_mode)
    values = {
        "id": new_id(),
        "name": name,
        "email": rules.check_email(data.email),
        "mobile": rules.check_mobile(data.mobile),
        "currency": currency,
        "payment_mode": str(mode),
        "credit_limit_units": rules.check_credit_limit(data.credit_limit, currency, mode),
        "level": rules.check_level(data.level),
        "timezone": rules.check_timezone(data.timezone),
        "status": str(CustomerStatus.ACTIVE),
        "arrears_since": None,
        "created_at": now,
        "updated_at": now,
    }
    if repo.name_taken(conn, name):
        raise CloudbillError(ErrorCode.ALREADY_EXISTS, f"a customer named {name!r} exists")
    repo.insert_customer(conn, values)
    ledger.open_customer_accounts(conn, values["id"], currency, now=now)
    for kind in PROVIDER_KINDS:
        ledger.provider_account(conn, currency, kind, now=now)
    repo.add_audit(
        conn,
        at=now,
        actor=OPERATOR,
        customer_id=values["id"],
        action="customer.created",
        details={k: v for k, v in values.items() if k not in ("created_at", "updated_at")},
    )
    return get(conn, values["id"])


UPDATABLE = ("name", "email", "mobile", "payment_mode", "credit_limit", "level", "timezone")


def update(
    conn: Connection,
    customer_id: str,
    changes: dict[str, Any],
    *,
    now: datetime,
    actor: str = OPERATOR,
) -> Customer:
    """`actor`: who, for the audit trail (the operator API and CLI: "operator")."""
    current = get(conn, customer_id, lock=True)
    unknown = set(changes) - set(UPDATABLE)
    if unknown:
        raise CloudbillError(
            ErrorCode.INVALID_ARGUMENT,
            f"cannot update {', '.join(sorted(unknown))}; updatable: {', '.join(UPDATABLE)}",
        )
    values: dict[str, Any] = {}
    if "name" in changes:
        values["name"] = rules.check_name(changes["name"])
        if repo.name_taken(conn, values["name"], except_id=customer_id):
            raise CloudbillError(
                ErrorCode.ALREADY_EXISTS, f"a customer named {values['name']!r} exists"
            )
    if "email" in changes:
        values["email"] = rules.check_email(changes["email"])
    if "mobile" in changes:
        values["mobile"] = rules.check_mobile(changes["mobile"])
    if "level" in changes:
        values["level"] = rules.check_level(changes["level"])
    if "timezone" in changes:
        values["timezone"] = rules.check_timezone(changes["timezone"])
    mode = current.payment_mode
    if "payment_mode" in changes:
        mode = rules.check_payment_mode(changes["payment_mode"])
        figures = overview(conn, current)
        if mode != current.payment_mode and (figures.unpaid_units or figures.debt_units):
            raise CloudbillError(
                ErrorCode.INVALID_STATE,
                "the payment mode can change only when nothing is unpaid or owed",
            )
        values["payment_mode"] = str(mode)
        if mode is PaymentMode.PREPAID:
            values["credit_limit_units"] = 0
    if "credit_limit" in changes:
        values["credit_limit_units"] = rules.check_credit_limit(
            changes["credit_limit"], current.currency, mode
        )
    if not values:
        return current
    values["updated_at"] = now
    repo.update_fields(conn, customer_id, values)
    repo.add_audit(
        conn,
        at=now,
        actor=actor,
        customer_id=customer_id,
        action="customer.updated",
        details={k: v for k, v in values.items() if k != "updated_at"},
    )
    return get(conn, customer_id)


def list_customers(
    conn: Connection,
    *,
    status: str | None = None,
    payment_mode: str | None = None,
    in_arrears: bool | None = None,
    limit: int = PAGE_SIZE_DEFAULT,
    offset: int = 0,
    search: str | None = None,
) -> tuple[list[Customer], int]:
    """A page of customers, oldest first; `search`: a part of the name or email, or the id's
    start (case-insensitive)."""
    if search is not None:
        search = search.strip()
        if len(search) > FILTER_TEXT_MAX_CHARS:
            raise CloudbillError(ErrorCode.INVALID_ARGUMENT,
                                 f"search: at most {FILTER_TEXT_MAX_CHARS} characters")  # fmt: skip
    if status is not None:
        try:
            status = str(CustomerStatus(status))
        except ValueError:
            raise CloudbillError(
                ErrorCode.INVALID_ARGUMENT, "status must be active or frozen"
            ) from None
    if payment_mode is not None:
        payment_mode = str(rules.check_payment_mode(payment_mode))
    check_page(limit, offset)
    return repo.list_customers(
        conn,
        status=status,
        payment_mode=payment_mode,
        in_arrears=in_arrears,
        limit=limit,
        offset=offset,
        search=search or None,
    )


def list_with_overviews(
    conn: Connection, **filters: Any
) -> tuple[list[tuple[Customer, Overview]], int]:
    """A page of customers, each with the overview figures, in two queries."""
    rows, total = list_customers(conn, **filters)
    figures = overviews(conn, rows)
    return [(row, figures[row.id]) for row in rows], total


def check_page(limit: int, offset: int) -> None:
    if not 1 <= limit <= PAGE_SIZE_MAX or offset < 0:
        raise CloudbillError(
            ErrorCode.INVALID_ARGUMENT, f"limit must be 1-{PAGE_SIZE_MAX} and offset >= 0"
        )
    # Deeper pages are slow scans; the bound also keeps the offset inside 64-bit SQL integers.
    if offset > OFFSET_MAX:
        raise CloudbillError(
            ErrorCode.LIMIT_EXCEEDED, f"offset may be at most {OFFSET_MAX}: narrow the filters"
        )


def overview(
    conn: Connection,
    customer: Customer,
    now: datetime | None = None,
    *,
    with_hold: bool = False,
    balances: dict[str, int] | None = None,
) -> Overview:
    """The customer's figures; `with_hold`: the withdrawable balance less the invoiced money
    given back (the invoices stage's hook: computed only where it is shown or checked).
    `balances`: account kind -> balance, when the caller has just read the accounts."""
    if balances is None:
        balances = ledger_repo.customer_balances(conn, [customer.id])[customer.id]
    figures = rules.overview(customer, balances, **_postpaid_figures(conn, customer, now))
    if with_hold and _withdrawal_hold:
        moment = now if now is not None else clock_repo.read_clock(conn)[1]
        figures = replace(figures, held_units=_withdrawal_hold[0](conn, customer, moment))
    if with_hold and _allocation_hold:
        figures = replace(
            figures,
            allocated_held_units=_allocation_hold[0](conn, customer, figures.cash_balance_units),
        )
    return figures


def overviews(conn: Connection, customers: list[Customer]) -> dict[str, Overview]:
    balances = ledger_repo.customer_balances(conn, [c.id for c in customers])
    return {
        c.id: rules.overview(c, balances[c.id], **_postpaid_figures(conn, c, None))
        for c in customers
    }


def _postpaid_figures(conn: Connection, customer: Customer, now: datetime | None) -> dict:  # type: ignore[type-arg]
    """Issued post-paid bills still owed, and how much of that is overdue (now: the clock's)."""
    if customer.payment_mode is not PaymentMode.POSTPAID:
        return {}
    moment = now if now is not None else clock_repo.read_clock(conn)[1]
    figures = postpaid.figures(conn, customer.id, now=moment)
    return {
        "billed_outstanding_units": figures.billed_outstanding_units,
        "overdue_units": figures.overdue_units,
    }


def require_fee_allowed(conn: Connection, customer_id: str) -> Customer:
    customer = get(conn, customer_id)
    check_fee_allowed(conn, customer)
    return customer


def check_fee_allowed(conn: Connection, customer: Customer, now: datetime | None = None) -> None:
    """Refused if frozen or in arrears; a unified member also while its master is: the master
    pays its fees, so the master's arrears are its own (enterprise/accounting.py)."""
    rules.check_fee_incurring_allowed(customer, overview(conn, customer, now))
    moment = now if now is not None else clock_repo.read_clock(conn)[1]
    payer = accounting.payer_of(conn, customer.id, moment)
    if payer != customer.id:
        master = get(conn, payer)
        rules.check_fee_incurring_allowed(master, overview(conn, master, now))


def _reference(reference: object) -> str:
    if not isinstance(reference, str) or not reference.strip():
        raise CloudbillError(ErrorCode.INVALID_ARGUMENT, "an external reference is required")
    if len(reference) > REFERENCE_MAX_CHARS:
        raise CloudbillError(
            ErrorCode.INVALID_ARGUMENT, f"reference longer than {REFERENCE_MAX_CHARS} characters"
        )
    return reference.strip()


def topup(
    conn: Connection,
    customer_id: str,
    amount: object,
    *,
    reference: str,
    now: datetime,
    description: str | None = None,
) -> PostedTransaction:
    """Money received from the customer: write off debt, repay unpaid post-paid fees, then cash.

    Idempotent by `reference` (the payment's id at the provider's payment gateway). A top-up is
    accepted for a frozen customer too: paying what is owed must always be possible.
    """
    reference = _reference(reference)
    customer = get(conn, customer_id, lock=True)
    money = rules.positive_amount(amount, customer.currency, "top-up amount")
    key = f"topup:{reference}"
    digest = payload_hash(
        {"customer": customer.id, "amount": money.units, "currency": money.currency}
    )
    previous = ledger.replay(conn, key, digest)
    if previous is not None:
        return previous
    # A unified member's master pays for it: its own money would serve nothing new.
    accounting.refuse_own_payment(conn, customer.id, now, what="a top-up")
    accounts = ledger.customer_accounts(conn, customer.id)
    split = rules.split_topup(
        money.units,
        accounts[AccountKind.DEBT].balance_units,
        accounts[AccountKind.UNPAID].balance_units,
    )
    funds = ledger.provider_account_id(conn, customer.currency, AccountKind.FUNDS, now=now)
    legs = [Leg(funds, money.units, customer.currency)]
    for kind, part in (
        (AccountKind.DEBT, split.debt_written_off_units),
        (AccountKind.UNPAID, split.unpaid_repaid_units),
        (AccountKind.CASH, split.cash_credited_units),
    ):
        if part:
            legs.append(Leg(accounts[kind].id, -part, customer.currency))
    result = {
        "customer_id": customer.id,
        "currency": customer.currency,
        "amount_units": money.units,
        **asdict(split),
    }
    posted = ledger.post(
        conn,
        Posting(
            idempotency_key=key,
            payload_hash=digest,
            kind=TransactionKind.TOPUP,
            legs=tuple(legs),
            customer_id=customer.id,
            reference=reference,
            description=description or "top-up",
            result=result,
        ),
        now=now,
        key_checked=True,
    )
    emit_many(
        conn,
        [
            Event(
                "customer.topup_received",
                customer.id,
                {
                    "customer_id": customer.id,
                    "currency": customer.currency,
                    "amount": money.to_text(),
                    "reference": reference,
                    "debt_written_off": Money(
                        split.debt_written_off_units, money.currency
                    ).to_text(),
                    "unpaid_repaid": Money(split.unpaid_repaid_units, money.currency).to_text(),
                    "at": now.isoformat(),
                },
                dedupe_key=f"customer.topup_received:{posted.id}",
            )
        ],
        now=now,
    )
    debt_left = accounts[AccountKind.DEBT].balance_units - split.debt_written_off_units
    if customer.arrears_since is not None and debt_left == 0:
        _clear_arrears_unless_overdue(conn, customer, now)
    return posted


def _text(units: int, currency: str) -> str:
    return Money(units, currency).to_text()


# How much of a customer's cash may not be withdrawn (invoices: an outstanding invoice amount).
# One slot, set by bootstrap.build with that container's settings: a later stage's rule, passed
# down so that this stage imports nothing above it.
WithdrawalHold = Callable[[Connection, Customer, datetime], int]
_withdrawal_hold: list[WithdrawalHold] = []


def set_withdrawal_hold(hold: WithdrawalHold | None) -> None:
    _withdrawal_hold[:] = [hold] if hold is not None else []


# How much of an enterprise member's cash is its master's allocation (enterprise stage): the
# master recalls it, the member does not withdraw it. Same one-slot pattern, set by bootstrap.
AllocationHold = Callable[[Connection, Customer, int], int]
_allocation_hold: list[AllocationHold] = []


def set_allocation_hold(hold: AllocationHold | None) -> None:
    _allocation_hold[:] = [hold] if hold is not None else []


def withdraw(
    conn: Connection, customer_id: str, amount: object, *, reference: str, now: datetime
) -> PostedTransaction:
    """Pay cash balance back to the customer. Refused while in arrears or frozen."""
    reference = _reference(reference)
    customer = get(conn, customer_id, lock=True)
    money = rules.positive_amount(amount, customer.currency, "withdrawal amount")
    key = f"withdraw:{reference}"
    digest = payload_hash(
        {"customer": customer.id, "amount": money.units, "currency": money.currency}
    )
    previous = ledger.replay(conn, key, digest)
    if previous is not None:
        return previous
    accounts = ledger.customer_accounts(conn, customer.id)  # its balances: read once
    balances = {str(kind): account.balance_units for kind, account in accounts.items()}
    figures = overview(conn, customer, now, with_hold=True, balances=balances)
    held = figures.held_units
    if (
        figures.allocated_held_units
        and not figures.in_arrears
        and figures.withdrawable_units < money.units <= figures.cash_balance_units - held
    ):  # the balance is there, but it is the master's allocation: say so
        allocated = Money(figures.allocated_held_units, customer.currency)
        raise CloudbillError(
            ErrorCode.ENTERPRISE_ALLOCATED_HELD,
            f"{allocated} of the balance was allocated by your enterprise master account: it "
            "cannot be withdrawn; the master recalls it",
            customer_id=customer.id,
            held=allocated.to_text(),
        )
    if (
        held
        and not figures.in_arrears
        and (figures.withdrawable_units < money.units <= figures.cash_balance_units)
    ):  # the balance is there, the hold is why it cannot go: say so
        raise CloudbillError(
            ErrorCode.INVOICED_MONEY_HELD,
            f"{Money(held, customer.currency)} of the balance is invoiced money given back (an "
            "outstanding invoice amount): it cannot be withdrawn until later consumption offsets "
            "it or the invoice is returned",
            customer_id=customer.id,
            held=Money(held, customer.currency).to_text(),
        )
    rules.check_withdrawal(customer, figures, money)
    funds = ledger.provider_account_id(conn, customer.currency, AccountKind.FUNDS, now=now)
    return ledger.post(
        conn,
        Posting(
            idempotency_key=key,
            payload_hash=digest,
            kind=TransactionKind.WITHDRAWAL,
            legs=(
                Leg(accounts[AccountKind.CASH].id, money.units, customer.currency),
                Leg(funds, -money.units, customer.currency),
            ),
            customer_id=customer.id,
            reference=reference,
            description="balance withdrawal",
            result={
                "customer_id": customer.id,
                "currency": customer.currency,
                "amount_units": money.units,
            },
        ),
        now=now,
        key_checked=True,
    )


ADJUSTMENT_DIRECTIONS = ("charge", "credit")

# Later stages (the arrears lifecycle) act in the same transaction when a payment clears the
# debt: unfreeze resources, tell the provider. Registered once by bootstrap.
ArrearsClearedHandler = Callable[[Connection, str, datetime], None]
_arrears_cleared_handlers: list[ArrearsClearedHandler] = []


def on_arrears_cleared(handler: ArrearsClearedHandler) -> None:
    if handler not in _arrears_cleared_handlers:
        _arrears_cleared_handlers.append(handler)


def clear_arrears_if_paid(conn: Connection, customer_id: str, now: datetime) -> None:
    """After money reached a customer by a route other than a top-up (an enterprise master's
    allocation): out of arrears once no debt is left, as a top-up would do."""
    customer = get(conn, customer_id)
    debt = ledger.customer_accounts(conn, customer.id)[AccountKind.DEBT].balance_units
    if customer.arrears_since is not None and debt == 0:
        _clear_arrears_unless_overdue(conn, customer, now)


def _clear_arrears_unless_overdue(conn: Connection, customer: Customer, now: datetime) -> None:
    """The debt is paid: out of arrears, unless a post-paid bill is still overdue."""
    if _postpaid_figures(conn, customer, now).get("overdue_units", 0) == 0:
        _clear_arrears(conn, customer.id, now)


def _clear_arrears(conn: Connection, customer_id: str, now: datetime) -> None:
    repo.update_fields(conn, customer_id, {"arrears_since": None, "updated_at": now})
    for handler in _arrears_cleared_handlers:
        handler(conn, customer_id, now)


def adjust(
    conn: Connection,
    customer_id: str,
    amount: object,
    *,
    direction: str,
    reason: str,
    reference: str,
    attribution: Attribution | None = None,
    now: datetime,
) -> PostedTransaction:
    """An operator correction for services, billed as an adjustment (Huawei's deduction or
    compensation) attributed to `attribution` (a resource, a service, or nothing named). A
    charge is paid like a fee (cash, credit, then debt, which puts the customer in arrears); a
    credit is paid in like a top-up (debt first, then unpaid, cash)."""
    reference = _reference(reference)
    if direction not in ADJUSTMENT_DIRECTIONS:
        raise CloudbillError(ErrorCode.INVALID_ARGUMENT, "direction must be charge or credit")
    if not isinstance(reason, str) or not reason.strip():
        raise CloudbillError(ErrorCode.INVALID_ARGUMENT, "an adjustment needs a reason")
    customer = get(conn, customer_id, lock=True)
    money = rules.positive_amount(amount, customer.currency, "adjustment amount")
    attribution = attribution or Attribution()
    key = f"adjust:{reference}"
    request: dict[str, Any] = {
        "customer": customer.id, "amount": money.units, "direction": direction, "reason": reason
    }  # fmt: skip
    if attribution != Attribution():  # keeps the digest of adjustments made before attribution
        request["for"] = attribution.as_requested()
    digest = payload_hash(request)
    previous = ledger.replay(conn, key, digest)
    if previous is not None:
        return previous
    accounts = ledger.customer_accounts(conn, customer.id)
    cur = customer.currency
    result: dict[str, Any] = {"customer_id": customer.id, "currency": cur, "direction": direction}
    starts_arrears = False
    if direction == "charge":
        split = rules.split_charge(money.units, overview(conn, customer))
        counter = ledger.provider_account(conn, cur, AccountKind.REVENUE, now=now)
        parts = (
            (AccountKind.CASH, split.from_cash_units),
            (AccountKind.UNPAID, split.to_unpaid_units),
            (AccountKind.DEBT, split.to_debt_units),
        )
        legs = [Leg(counter.id, -money.units, cur)]
        legs += [Leg(accounts[k].id, part, cur) for k, part in parts if part]
        starts_arrears = bool(split.to_debt_units) and customer.arrears_since is None
        if starts_arrears:
            repo.update_fields(conn, customer.id, {"arrears_since": now, "updated_at": now})
    else:
        split = rules.split_topup(
            money.units,
            accounts[AccountKind.DEBT].balance_units,
            accounts[AccountKind.UNPAID].balance_units,
        )
        counter = ledger.provider_account(conn, cur, AccountKind.ADJUSTMENT, now=now)
        parts = (
            (AccountKind.DEBT, split.debt_written_off_units),
            (AccountKind.UNPAID, split.unpaid_repaid_units),
            (AccountKind.CASH, split.cash_credited_units),
        )
        legs = [Leg(counter.id, money.units, cur)]
        legs += [Leg(accounts[k].id, -part, cur) for k, part in parts if part]
        debt_left = accounts[AccountKind.DEBT].balance_units - split.debt_written_off_units
        clears = customer.arrears_since is not None and debt_left == 0
    result.update(amount_units=money.units, **asdict(split))
    posted = ledger.post(
        conn,
        Posting(
            idempotency_key=key,
            payload_hash=digest,
            kind=TransactionKind.ADJUSTMENT,
            legs=tuple(legs),
            customer_id=customer.id,
            reference=reference,
            description=reason.strip()[:512],
            result=result,
        ),
        now=now,
    )
    if not posted.replayed:
        expenditure_repo.insert_expenditures(
            conn, [_adjustment_record(customer, posted, attribution, reason=reason, now=now)]
        )
    if direction == "credit" and clears:
        _clear_arrears_unless_overdue(conn, customer, now)
    if direction == "charge" and starts_arrears:
        # Every path into arrears tells the provider (its lifecycle starts here too).
        emit_many(
            conn,
            [
                Event(
                    "customer.arrears_started",
                    customer.id,
                    {
                        "customer_id": customer.id,
                        "currency": cur,
                        "reason": "adjustment",
                        "reference": reference,
                        "debt_units": accounts[AccountKind.DEBT].balance_units
                        + split.to_debt_units,
                        "since": now.isoformat(),
                    },
                    dedupe_key=f"customer.arrears_started:{customer.id}:adjust:{reference}",
                )
            ],
            now=now,
        )
    return posted


def _adjustment_record(
    customer: Customer,
    posted: PostedTransaction,
    attribution: Attribution,
    *,
    reason: str,
    now: datetime,
) -> Expenditure:
    """The bill line of an adjustment: a charge paid like a fee, or a credit (negative) that
    wrote off debt, repaid unpaid fees and credited cash."""
    r = posted.result
    if r["direction"] == "charge":
        bill_type, sign = BillType.DEDUCTION, 1
        parts = (r["from_cash_units"], r["to_unpaid_units"], r["to_debt_units"])
    else:
        bill_type, sign = BillType.COMPENSATION, -1
        parts = (r["cash_credited_units"], r["unpaid_repaid_units"], r["debt_written_off_units"])
    cash, credit, debt = (sign * part for part in parts)
    return Expenditure(
        customer_id=customer.id,
        currency=customer.currency,
        bill_type=bill_type,
        trade_id=str(posted.reference),
        line_no=1,
        charged_at=now,
        ledger_transaction_id=posted.id,
        official_units=sign * r["amount_units"],
        discount_units=0,
        amount_units=sign * r["amount_units"],
        cash_units=cash,
        credit_units=credit,
        debt_units=debt,
        description=reason.strip()[:256],
        **asdict(attribution),
    )


def set_status(
    conn: Connection,
    customer_id: str,
    status: CustomerStatus,
    *,
    reason: str,
    now: datetime,
    actor: str = OPERATOR,
) -> Customer:
    customer = get(conn, customer_id, lock=True)
    if customer.status is status:
        return customer
    repo.update_fields(conn, customer_id, {"status": str(status), "updated_at": now})
    repo.add_audit(
        conn,
        at=now,
        actor=actor,
        customer_id=customer_id,
        action="customer.frozen" if status is CustomerStatus.FROZEN else "customer.unfrozen",
        details={"reason": reason},
    )
    return get(conn, customer_id)


def audit_trail(
    conn: Connection,
    *,
    customer_id: str | None = None,
    actor: str | None = None,
    limit: int = PAGE_SIZE_DEFAULT,
    offset: int = 0,
) -> tuple[list[dict[str, Any]], int]:
    """Every recorded action (who, when, what, on which customer), newest first: the
    operator's (API, CLI, console user), the customers' console users', the demo's."""
    check_page(limit, offset)
    for name, text in (("customer_id", customer_id), ("actor", actor)):
        if text is not None and (len(text) > FILTER_TEXT_MAX_CHARS or "\x00" in text):
            raise CloudbillError(ErrorCode.INVALID_ARGUMENT, f"{name}: at most "
                                 f"{FILTER_TEXT_MAX_CHARS} characters")  # fmt: skip
    rows, total = repo.audit_trail(conn, customer_id=customer_id, actor=actor, limit=limit,
                                   offset=offset)  # fmt: skip
    return [
        {"id": r.id, "at": r.at, "actor": r.actor, "customer_id": r.customer_id,
         "action": r.action, "details": json.loads(r.details)}
        for r in rows
    ], total  # fmt: skip


def history(
    conn: Connection, customer_id: str, *, limit: int = PAGE_SIZE_DEFAULT, offset: int = 0
) -> tuple[list[dict[str, Any]], int]:
    """Every movement of the customer's money, newest first: one row per entry on their books."""
    customer = get(conn, customer_id)
    check_page(limit, offset)
    accounts = ledger.customer_accounts(conn, customer.id)
    ids = [accounts[k].id for k in CUSTOMER_KINDS if k in accounts]
    rows = ledger_repo.account_history(conn, ids, limit=limit, offset=offset)
    total = ledger_repo.count_history(conn, ids)
    return [
        {
            "transaction_id": r.transaction_id,
            "kind": r.kind,
            "account": r.account_kind,
            # in the account's own sign: + means the balance of that book went up
            "change_units": r.normal_sign * r.amount_units,
            "currency": r.currency,
            "reference": r.reference,
            "description": r.description,
            "created_at": r.created_at,
        }
        for r in rows
    ], total
