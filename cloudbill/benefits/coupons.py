"""Cash coupon use cases: issue, revoke, expire, read. Re-exported by service.py."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection

from ..catalog import service as catalog_service
from ..customers import repo as customer_repo
from ..customers import rules as customer_rules
from ..customers import service as customers
from ..kernel.clock import ensure_utc
from ..kernel.errors import CloudbillError, ErrorCode
from ..kernel.ids import new_id
from ..kernel.limits import (
    DESCRIPTION_MAX_CHARS,
    IDEMPOTENCY_KEY_MAX_CHARS,
    PAGE_SIZE_DEFAULT,
    PAGE_SIZE_MAX,
)
from ..kernel.money import Money
from ..ledger import service as ledger
from ..ledger.model import AccountKind, PostedTransaction, Posting, TransactionKind, Transfer
from ..ledger.rules import payload_hash
from . import repo, rules
from .model import CashCoupon, CouponStatus, CouponUsage, CouponUsageKind

OPERATOR = "operator"
ISSUE_KEY_PREFIX = "coupon-issue:"
# How a coupon can end early, with its usage kind and the ledger key prefix of its transfer.
CLOSINGS = {
    CouponStatus.REVOKED: (CouponUsageKind.REVOKED, "coupon-revoke"),
    CouponStatus.EXPIRED: (CouponUsageKind.EXPIRED, "coupon-expire"),
}


def _issue_reference(reference: object) -> str:
    reference = rules.check_reference(reference)
    # The ledger key is prefix + reference and must fit the ledger's key limit.
    room = IDEMPOTENCY_KEY_MAX_CHARS - len(ISSUE_KEY_PREFIX)
    if len(reference) > room:
        raise CloudbillError(
            ErrorCode.INVALID_ARGUMENT, f"a coupon reference has at most {room} characters"
        )
    return reference


def _min_spend(value: object, currency: str) -> Money:
    minimum = Money.parse("0" if value is None else value, currency)
    if minimum.units < 0:
        raise CloudbillError(ErrorCode.INVALID_AMOUNT, "minimum spend cannot be negative")
    return minimum


def _transfer(
    conn: Connection,
    transfer: Transfer,
    *,
    key: str,
    digest: str,
    coupon_id: str,
    customer_id: str,
    reference: str,
    description: str,
    now: datetime,
) -> PostedTransaction:
    """One balanced ledger transaction between PROMOTION and a customer's COUPON account."""
    return ledger.post(
        conn,
        Posting(
            idempotency_key=key,
            payload_hash=digest,
            kind=TransactionKind.COUPON,
            legs=transfer.legs(),
            customer_id=customer_id,
            reference=reference,
            description=description[:DESCRIPTION_MAX_CHARS],
            result={
                "coupon_id": coupon_id,
                "customer_id": customer_id,
                "currency": transfer.currency,
                "amount_units": transfer.amount_units,
            },
        ),
        now=now,
    )


def issue_coupon(
    conn: Connection,
    *,
    customer_id: str,
    name: str | None,
    value: object,
    valid_from: datetime | None,
    valid_to: datetime,
    services: list[str] | None = None,
    billing_modes: list[str] | None = None,
    min_spend: object = "0",
    reference: str,
    now: datetime,
) -> tuple[CashCoupon, bool]:
    """Give a customer a cash coupon worth `value` of their currency; (coupon, created).

    `valid_from` None means from now. Idempotent by `reference` (ledger key
    `coupon-issue:{reference}`): a replay answers the coupon issued first.
    """
    reference = _issue_reference(reference)
    customer = customers.get(conn, customer_id, lock=True)
    catalog = catalog_service.active(conn)
    amount = customer_rules.positive_amount(value, customer.currency, "coupon value")
    minimum = _min_spend(min_spend, customer.currency)
    scope = rules.normalize_services(services, len(catalog.services))
    modes = rules.normalize_billing_modes(billing_modes)
    given_from = ensure_utc(valid_from) if isinstance(valid_from, datetime) else valid_from
    start, end = rules.check_validity(now if given_from is None else given_from, valid_to)
    name = rules.check_name(name, f"cash coupon {amount}")
    key = ISSUE_KEY_PREFIX + reference
    # Hash the request as given (valid_from None stays None) so a replay later still matches.
    digest = payload_hash(
        {
            "customer": customer.id, "name": name, "amount": amount.units,
            "currency": amount.currency, "valid_from": given_from, "valid_to": end,
            "services": scope, "billing_modes": modes, "min_spend": minimum.units,
        }
    )  # fmt: skip
    if ledger.replay(conn, key, digest) is not None:
        existing = repo.coupon_by_reference(conn, reference)
        assert existing is not None, "a coupon is written with its issuing transaction"
        return existing, False
    customer_rules.check_not_frozen(customer)
    rules.check_coupon_services(scope, catalog)
    rules.check_not_over(end, now)
    coupon_id = new_id()
    accounts = ledger.customer_accounts(conn, customer.id)
    promotion = ledger.provider_account(conn, amount.currency, AccountKind.PROMOTION, now=now)
    posted = _transfer(
        conn,
        Transfer(promotion.id, accounts[AccountKind.COUPON].id, amount.units, amount.currency),
        key=key, digest=digest, coupon_id=coupon_id, customer_id=customer.id,
        reference=reference, description=f"cash coupon issued: {name}", now=now,
    )  # fmt: skip
    repo.insert_coupon(
        conn,
        {
            "id": coupon_id, "customer_id": customer.id, "name": name,
            "currency": amount.currency, "face_value_units": amount.units,
            "balance_units": amount.units, "min_spend_units": minimum.units,
            "services": repo.codes_text(scope), "billing_modes": repo.codes_text(modes),
            "valid_from": start, "valid_to": end, "status": str(CouponStatus.ACTIVE),
            "reference": reference, "issued_at": now,
        },
    )  # fmt: skip
    return _issued(conn, coupon_id, transaction_id=posted.id, now=now), True


def _issued(conn: Connection, coupon_id: str, *, transaction_id: int, now: datetime) -> CashCoupon:
    """The new coupon, with the first line of its history."""
    coupon = get_coupon(conn, coupon_id)
    repo.add_coupon_usage(
        conn,
        coupon,
        CouponUsageKind.ISSUED,
        coupon.face_value_units,
        ledger_transaction_id=transaction_id,
        at=now,
    )
    return coupon


def _close(
    conn: Connection, coupon: CashCoupon, status: CouponStatus, description: str, now: datetime
) -> None:
    """End an active coupon: its unused balance goes back to the provider's PROMOTION account."""
    kind, key = CLOSINGS[status]
    transaction_id = None
    if coupon.balance_units > 0:
        accounts = ledger.customer_accounts(conn, coupon.customer_id)
        promotion = ledger.provider_account(conn, coupon.currency, AccountKind.PROMOTION, now=now)
        units = coupon.balance_units
        posted = _transfer(
            conn,
            Transfer(accounts[AccountKind.COUPON].id, promotion.id, units, coupon.currency),
            key=f"{key}:{coupon.id}", digest=payload_hash({"coupon": coupon.id, "amount": units}),
            coupon_id=coupon.id, customer_id=coupon.customer_id, reference=coupon.reference,
            description=description, now=now,
        )  # fmt: skip
        transaction_id = posted.id
    repo.close_coupon(conn, coupon.id, status)
    repo.add_coupon_usage(
        conn, coupon, kind, coupon.balance_units, ledger_transaction_id=transaction_id, at=now
    )


def revoke_coupon(conn: Connection, coupon_id: str, *, reason: str, now: datetime) -> CashCoupon:
    """The operator withdraws what is left of a coupon. Revoking a revoked coupon is a no-op."""
    if not isinstance(reason, str) or not reason.strip():
        raise CloudbillError(ErrorCode.INVALID_ARGUMENT, "revoking a coupon needs a reason")
    # Customer row first, then the coupon: the order top-ups and adjustments lock in, so two
    # operators revoking at once queue instead of both reading the old balance.
    customers.get(conn, get_coupon(conn, coupon_id).customer_id, lock=True)
    coupon = get_coupon(conn, coupon_id, lock=True)
    if coupon.status is CouponStatus.REVOKED:
        return coupon
    if coupon.status is not CouponStatus.ACTIVE:
        raise CloudbillError(
            ErrorCode.INVALID_STATE,
            f"coupon {coupon.id} is {coupon.status}: nothing is left to revoke",
            status=str(coupon.status),
        )
    _close(conn, coupon, CouponStatus.REVOKED, f"cash coupon revoked: {reason.strip()}", now)
    customer_repo.add_audit(
        conn,
        at=now,
        actor=OPERATOR,
        customer_id=coupon.customer_id,
        action="coupon.revoked",
        details={"coupon_id": coupon.id, "amount_units": coupon.balance_units, "reason": reason},
    )
    return get_coupon(conn, coupon.id)


def expire_coupons(conn: Connection, *, now: datetime, limit: int = PAGE_SIZE_MAX) -> int:
    """The expiry job: end up to `limit` active coupons whose validity is over; how many.

    Each expiry is keyed by its coupon, and an expired coupon is no longer active, so running
    the job again changes nothing. Call it again while it returns `limit`.
    """
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= PAGE_SIZE_MAX:
        raise CloudbillError(
            ErrorCode.INVALID_ARGUMENT, f"limit must be a whole number 1-{PAGE_SIZE_MAX}"
        )
    due = repo.due_for_expiry(conn, now, limit=limit)
    for coupon in due:
        assert rules.is_due_to_expire(coupon, now)
        _close(conn, coupon, CouponStatus.EXPIRED, f"cash coupon expired: {coupon.name}", now)
    return len(due)


def get_coupon(
    conn: Connection, coupon_id: str, *, lock: bool = False, customer_id: str | None = None
) -> CashCoupon:
    """A coupon; with `customer_id`, only that customer's (others' look absent)."""
    found = None
    if rules.is_record_id(coupon_id):
        found = repo.get_coupon(conn, coupon_id, lock=lock, customer_id=customer_id)
    if found is None:
        raise CloudbillError(ErrorCode.NOT_FOUND, f"no cash coupon {coupon_id!r}")
    return found


def list_coupons(
    conn: Connection,
    customer_id: str,
    *,
    status: str | None = None,
    limit: int = PAGE_SIZE_DEFAULT,
    offset: int = 0,
) -> tuple[list[CashCoupon], int]:
    """A customer's coupons, soonest-expiring first."""
    customer = customers.get(conn, customer_id)
    if status is not None:
        try:
            status = str(CouponStatus(status))
        except ValueError:
            allowed = ", ".join(s.value for s in CouponStatus)
            raise CloudbillError(
                ErrorCode.INVALID_ARGUMENT, f"coupon status must be one of {allowed}"
            ) from None
    customers.check_page(limit, offset)
    return repo.list_coupons(conn, customer.id, status=status, limit=limit, offset=offset)


def coupon_usage(
    conn: Connection,
    coupon_id: str,
    limit: int = PAGE_SIZE_DEFAULT,
    offset: int = 0,
    *,
    customer_id: str | None = None,
) -> tuple[list[CouponUsage], int]:
    """A coupon's history (issued, used, expired, revoked, refunded), newest first."""
    coupon = get_coupon(conn, coupon_id, customer_id=customer_id)
    customers.check_page(limit, offset)
    return repo.list_coupon_usage(conn, coupon.id, limit=limit, offset=offset)
