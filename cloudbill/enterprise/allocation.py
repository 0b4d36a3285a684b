"""Independent accounting: the master allocates cash balance, credit limit and cash coupons to
a member and recalls them. Cash and coupon moves are each ONE balanced ledger transaction
between the two customers' books; a credit-limit move changes both limits (the sum never
grows) and is not money. Every move is idempotent by the master's request id and recorded in
the allocation history both sides see."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection

from ..benefits import repo as benefits_repo
from ..benefits.model import CashCoupon, CouponStatus, CouponUsageKind
from ..customers import repo as customer_repo
from ..customers import rules as customer_rules
from ..customers import service as customers
from ..customers.model import Customer
from ..kernel.errors import CloudbillError, ErrorCode
from ..kernel.ids import is_valid_id, new_id
from ..kernel.money import Money
from ..ledger import service as ledger
from ..ledger.model import AccountKind, Leg, Posting, TransactionKind
from ..ledger.rules import payload_hash
from ..notify import alerts
from . import repo, rules
from .access import get as get_association
from .access import lock_pair
from .model import Allocation, AllocationKind, Association, Direction

ALL = "all"  # a cash recall's amount: the member's whole recallable rest
REQUEST_ID_MAX_CHARS = 64  # the key `enterprise:<master>:<id>` fits a coupon reference (128)


def _request_key(master_id: str, request_id: object) -> str:
    if (
        not isinstance(request_id, str)
        or not request_id.strip()
        or len(request_id) > REQUEST_ID_MAX_CHARS
        or "\x00" in request_id
    ):
        raise CloudbillError(
            ErrorCode.INVALID_ARGUMENT,
            f"request_id: 1-{REQUEST_ID_MAX_CHARS} characters, one per movement (a replay "
            "with the same id answers the first movement)",
            field="request_id",
        )
    return f"enterprise:{master_id}:{request_id.strip()}"


def move(
    conn: Connection,
    *,
    association_id: str,
    kind: object,
    direction: Direction,
    amount: object,
    request_id: object,
    now: datetime,
    coupon_id: str | None = None,
    master_id: str | None = None,
    actor: str = "master",
) -> Allocation:
    """Allocate (master -> member) or recall (member -> master) `amount` of `kind`.
    `master_id`: the calling master (a customer request); None: the operator."""
    association = get_association(conn, association_id, party=master_id)
    if master_id is not None and association.master_id != master_id:
        raise CloudbillError(ErrorCode.FORBIDDEN, "only the master allocates and recalls")
    what = rules.check_kind(kind)
    key = _request_key(association.master_id, request_id)
    master, member = lock_pair(conn, association.master_id, association.member_id)
    # Read again under the pair's locks: a disassociation that held them before us has ended
    # the association meanwhile, and the copy read above would still say active.
    association = get_association(conn, association.id)
    # "all": the whole recallable cash rest in one movement, sub-cent part included (a named
    # amount takes the currency's 2 digits, pay-per-use fees leave 8).
    whole = what is AllocationKind.CASH and direction is Direction.RECALL and amount == ALL
    units = None
    if not whole:
        units = customer_rules.positive_amount(amount, master.currency, "amount").units
    digest = payload_hash(
        {"association": association.id, "kind": str(what), "direction": str(direction),
         "amount": ALL if whole else units, "coupon": coupon_id}
    )  # fmt: skip
    previous = repo.allocation_by_key(conn, key)
    if previous is not None:
        if previous[1] != digest:
            raise CloudbillError(
                ErrorCode.IDEMPOTENCY_CONFLICT,
                f"request id {request_id!r} was already used for a different movement",
            )
        return previous[0]
    rules.check_allocatable(association)
    customer_rules.check_not_frozen(master)
    customer_rules.check_not_frozen(member)
    if direction is Direction.ALLOCATE:
        # A master in arrears or with overdue bills gives nothing away (cash, credit, coupons).
        rules.check_master_may_allocate(customers.overview(conn, master, now))
    if units is None:
        units = _limit_cash(conn, association, member, direction, now)
        if not units:
            raise CloudbillError(
                ErrorCode.ENTERPRISE_OVER_ALLOCATABLE,
                "the member has no recallable cash left",
                field="amount",
                limit=Money(0, master.currency).to_text(),
            )
    giver, taker = (master, member) if direction is Direction.ALLOCATE else (member, master)
    values = {
        "association_id": association.id, "master_id": master.id, "member_id": member.id,
        "kind": str(what), "direction": str(direction), "currency": master.currency,
        "amount_units": units, "from_coupon_id": None, "to_coupon_id": None,
        "ledger_transaction_id": None, "request_key": key, "payload_hash": digest,
        "actor": actor, "created_at": now,
    }  # fmt: skip
    if what is AllocationKind.CASH:
        values["ledger_transaction_id"] = _move_cash(
            conn, association, giver, taker, direction, units, key, digest, now
        )
    elif what is AllocationKind.CREDIT:
        _move_credit(conn, association, giver, taker, direction, units, now)
    else:
        values |= _move_coupon(
            conn, association, giver, taker, direction, units, coupon_id, key, digest, now
        )
    allocation = _record(conn, values, now)
    # The posting names the master; the member's balance moved too: watch its alert as well.
    alerts.check(conn, {master.id, member.id}, now)
    return allocation


def _record(conn: Connection, values: dict[str, object], now: datetime) -> Allocation:
    """The history row and an audit line on both customers."""
    allocation = repo.insert_allocation(conn, values)
    for customer_id in (allocation.master_id, allocation.member_id):
        customer_repo.add_audit(
            conn, at=now, actor=allocation.actor, customer_id=customer_id,
            action=f"enterprise.{allocation.direction}", details={
                "allocation_id": allocation.id, "kind": str(allocation.kind),
                "amount_units": allocation.amount_units,
                "association_id": allocation.association_id},
        )  # fmt: skip
    return allocation


def return_sub_cent_rest(
    conn: Connection, association: Association, master: Customer, member: Customer, now: datetime
) -> Allocation | None:
    """At disassociation (both customers locked by the caller): the member's cash left below
    one cent (rules.check_disassociation lets it leave with it), as far as it is the master's
    allocated cash not recalled, goes back to the master in one recall movement; the rest is
    the member's own. None when nothing goes back."""
    cash = customers.overview(conn, member, now).cash_balance_units
    net = repo.net_allocated_units(conn, association.id, AllocationKind.CASH)
    units = max(0, min(cash, net))
    if not units:
        return None
    # Outside the `enterprise:<master>:<request id>` space: no request id can take this key.
    key = f"enterprise-rest:{association.id}"
    digest = payload_hash({"association": association.id, "sub_cent_rest": units})
    values = {
        "association_id": association.id, "master_id": master.id, "member_id": member.id,
        "kind": str(AllocationKind.CASH), "direction": str(Direction.RECALL),
        "currency": master.currency, "amount_units": units, "from_coupon_id": None,
        "to_coupon_id": None, "request_key": key, "payload_hash": digest,
        "actor": "disassociation", "created_at": now,
        "ledger_transaction_id": _post_cash(
            conn, association, member, master, Direction.RECALL, units, key, digest, now
        ),
    }  # fmt: skip
    return _record(conn, values, now)


def allocated_cash_held(conn: Connection, customer: Customer, cash_units: int) -> int:
    """What of a member's cash is its master's allocation not recalled: not withdrawable
    (Huawei: the master recalls it first). Cash is not told apart by origin, so the hold is
    the smaller of its cash and the net allocated over its association in force."""
    live = repo.live_of_member(conn, customer.id)
    if live is None or cash_units <= 0:
        return 0
    return max(0, min(cash_units, repo.net_allocated_units(conn, live.id, AllocationKind.CASH)))


def _limit_cash(
    conn: Connection, association: Association, giver: Customer, direction: Direction, now: datetime
) -> int:
    figures = customers.overview(conn, giver, now, with_hold=True)
    if direction is Direction.ALLOCATE:
        return rules.allocatable_cash_units(figures)
    net = repo.net_allocated_units(conn, association.id, AllocationKind.CASH)
    return rules.recallable_cash_units(figures, net)


def _move_cash(
    conn: Connection,
    association: Association,
    giver: Customer,
    taker: Customer,
    direction: Direction,
    units: int,
    key: str,
    digest: str,
    now: datetime,
) -> int:
    """Out of the giver's cash; into the taker's books as a top-up goes: its debt first, then
    unpaid post-paid fees, then cash. One transaction; returns its id."""
    limit = _limit_cash(conn, association, giver, direction, now)
    rules.check_within(units, limit, AllocationKind.CASH, direction, giver.currency)
    return _post_cash(conn, association, giver, taker, direction, units, key, digest, now)


def _post_cash(
    conn: Connection,
    association: Association,
    giver: Customer,
    taker: Customer,
    direction: Direction,
    units: int,
    key: str,
    digest: str,
    now: datetime,
) -> int:
    """The one ledger transaction of a cash movement; returns its id."""
    given = ledger.customer_accounts(conn, giver.id)
    taken = ledger.customer_accounts(conn, taker.id)
    split = customer_rules.split_topup(
        units, taken[AccountKind.DEBT].balance_units, taken[AccountKind.UNPAID].balance_units
    )
    cur = giver.currency
    legs = [Leg(given[AccountKind.CASH].id, units, cur)]
    for account_kind, part in (
        (AccountKind.DEBT, split.debt_written_off_units),
        (AccountKind.UNPAID, split.unpaid_repaid_units),
        (AccountKind.CASH, split.cash_credited_units),
    ):
        if part:
            legs.append(Leg(taken[account_kind].id, -part, cur))
    posted = ledger.post(
        conn,
        Posting(
            idempotency_key=key,
            payload_hash=digest,
            kind=TransactionKind.TRANSFER,
            legs=tuple(legs),
            customer_id=association.master_id,
            reference=association.id,
            description=f"enterprise {direction}: cash {giver.id} -> {taker.id}",
            result={"from": giver.id, "to": taker.id, "currency": cur, "amount_units": units},
        ),
        now=now,
    )
    if split.debt_written_off_units:
        customers.clear_arrears_if_paid(conn, taker.id, now)
    return posted.id


def _move_credit(
    conn: Connection,
    association: Association,
    giver: Customer,
    taker: Customer,
    direction: Direction,
    units: int,
    now: datetime,
) -> None:
    """Limit moves from one to the other; only unused limit can go (rules)."""
    member = taker if direction is Direction.ALLOCATE else giver
    master = giver if direction is Direction.ALLOCATE else taker
    rules.check_credit_member(member)
    rules.check_credit_member(master)
    figures = customers.overview(conn, giver, now)
    if direction is Direction.ALLOCATE:
        limit = rules.allocatable_credit_units(giver, figures)
    else:
        net = repo.net_allocated_units(conn, association.id, AllocationKind.CREDIT)
        limit = max(0, min(figures.available_credit_units, net))
    rules.check_within(units, limit, AllocationKind.CREDIT, direction, giver.currency)
    for who, delta in ((giver, -units), (taker, units)):
        customer_repo.update_fields(
            conn, who.id, {"credit_limit_units": who.credit_limit_units + delta, "updated_at": now}
        )


def _coupon_to_move(
    conn: Connection,
    association: Association,
    giver: Customer,
    direction: Direction,
    coupon_id: str | None,
    now: datetime,
) -> CashCoupon:
    if not isinstance(coupon_id, str) or not is_valid_id(coupon_id):
        raise CloudbillError(
            ErrorCode.INVALID_ARGUMENT, "coupon_id: the cash coupon to move", field="coupon_id"
        )
    coupon = benefits_repo.get_coupon(conn, coupon_id, lock=True, customer_id=giver.id)
    if coupon is None:
        raise CloudbillError(
            ErrorCode.NOT_FOUND, f"no cash coupon {coupon_id!r} of {giver.id}", field="coupon_id"
        )
    if coupon.status is not CouponStatus.ACTIVE or coupon.valid_to <= now:
        raise CloudbillError(
            ErrorCode.INVALID_STATE,
            f"cash coupon {coupon.id} is {coupon.status}: only an unused, valid coupon moves",
            field="coupon_id",
        )
    # A recall takes back only what this master allocated (a coupon the member got so).
    if direction is Direction.RECALL and not repo.coupon_allocated_by(
        conn, association.id, coupon.id
    ):
        raise CloudbillError(
            ErrorCode.INVALID_STATE,
            f"cash coupon {coupon.id} was not allocated by this master",
            field="coupon_id",
        )
    return coupon


def _move_coupon(
    conn: Connection,
    association: Association,
    giver: Customer,
    taker: Customer,
    direction: Direction,
    units: int,
    coupon_id: str | None,
    key: str,
    digest: str,
    now: datetime,
) -> dict[str, object]:
    """Part (or all) of a coupon's balance becomes a coupon of the taker with the same terms
    (scope, minimum spend, validity). One ledger transaction moves the value between the two
    coupon books, so each book still equals the sum of its coupons."""
    coupon = _coupon_to_move(conn, association, giver, direction, coupon_id, now)
    rules.check_within(units, coupon.balance_units, AllocationKind.COUPON, direction,
                       giver.currency)  # fmt: skip
    if not benefits_repo.take_coupon_balance(conn, coupon.id, units):
        raise CloudbillError(ErrorCode.INVALID_STATE, "the coupon changed meanwhile; try again")
    new_coupon = new_id()
    benefits_repo.insert_coupon(
        conn,
        {
            "id": new_coupon, "customer_id": taker.id, "name": coupon.name,
            "currency": coupon.currency, "face_value_units": units, "balance_units": units,
            "min_spend_units": coupon.min_spend_units,
            "services": benefits_repo.codes_text(coupon.services),
            "billing_modes": benefits_repo.codes_text(coupon.billing_modes),
            "valid_from": coupon.valid_from, "valid_to": coupon.valid_to,
            "status": str(CouponStatus.ACTIVE), "reference": key, "issued_at": now,
        },
    )  # fmt: skip
    given = ledger.customer_accounts(conn, giver.id)[AccountKind.COUPON]
    taken = ledger.customer_accounts(conn, taker.id)[AccountKind.COUPON]
    posted = ledger.post(
        conn,
        Posting(
            idempotency_key=key,
            payload_hash=digest,
            kind=TransactionKind.COUPON,
            legs=(Leg(given.id, units, coupon.currency), Leg(taken.id, -units, coupon.currency)),
            customer_id=association.master_id,
            reference=association.id,
            description=f"enterprise {direction}: cash coupon {coupon.id} -> {new_coupon}",
            result={"from_coupon_id": coupon.id, "to_coupon_id": new_coupon,
                    "currency": coupon.currency, "amount_units": units},
        ),
        now=now,
    )  # fmt: skip
    benefits_repo.add_coupon_usage(
        conn, coupon, CouponUsageKind.ALLOCATED, units, ledger_transaction_id=posted.id, at=now
    )
    made = benefits_repo.get_coupon(conn, new_coupon)
    assert made is not None, "the coupon was inserted above"
    benefits_repo.add_coupon_usage(
        conn, made, CouponUsageKind.ISSUED, units, ledger_transaction_id=posted.id, at=now
    )
    return {
        "from_coupon_id": coupon.id,
        "to_coupon_id": new_coupon,
        "ledger_transaction_id": posted.id,
    }


def history(
    conn: Connection, customer_id: str, *, limit: int, offset: int, operator: bool = False
) -> tuple[list[Allocation], int]:
    """The movements a customer sees, both sides at once (a customer can be a master and,
    later, a member, or the reverse): every movement made to or from it as a member, and as a
    master those of its members still active (after disassociation the old master no longer
    sees that member's data)."""
    customers.check_page(limit, offset)
    customers.get(conn, customer_id)
    if operator:  # the operator sees every movement the customer took part in, on either side
        return repo.list_allocations(conn, party_id=customer_id, limit=limit, offset=offset)
    return repo.visible_allocations(conn, customer_id, limit=limit, offset=offset)
