"""Stable error codes.

Every expected failure in cloudbill is a `CloudbillError` carrying one of these codes. The code is
part of the public contract (API bodies, CLI output): never rename one, only add.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class ErrorCode(StrEnum):
    # input
    INVALID_ARGUMENT = "INVALID_ARGUMENT"
    INVALID_AMOUNT = "INVALID_AMOUNT"
    TOO_MANY_DECIMALS = "TOO_MANY_DECIMALS"
    UNKNOWN_CURRENCY = "UNKNOWN_CURRENCY"
    CURRENCY_MISMATCH = "CURRENCY_MISMATCH"
    AMOUNT_OUT_OF_RANGE = "AMOUNT_OUT_OF_RANGE"
    LIMIT_EXCEEDED = "LIMIT_EXCEEDED"
    # lookup
    NOT_FOUND = "NOT_FOUND"
    CUSTOMER_NOT_FOUND = "CUSTOMER_NOT_FOUND"
    RESOURCE_NOT_FOUND = "RESOURCE_NOT_FOUND"
    CATALOG_ITEM_NOT_FOUND = "CATALOG_ITEM_NOT_FOUND"
    ALREADY_EXISTS = "ALREADY_EXISTS"
    # idempotency
    IDEMPOTENCY_CONFLICT = "IDEMPOTENCY_CONFLICT"
    # money and state
    INSUFFICIENT_BALANCE = "INSUFFICIENT_BALANCE"
    CUSTOMER_IN_ARREARS = "CUSTOMER_IN_ARREARS"
    CUSTOMER_FROZEN = "CUSTOMER_FROZEN"
    INVALID_STATE = "INVALID_STATE"
    UNBALANCED_TRANSACTION = "UNBALANCED_TRANSACTION"
    CATALOG_INVALID = "CATALOG_INVALID"
    NO_CATALOG = "NO_CATALOG"
    CATALOG_IN_USE = "CATALOG_IN_USE"  # a version would drop or unprice what is live
    CLOCK_NOT_SIMULATED = "CLOCK_NOT_SIMULATED"
    # access
    UNAUTHENTICATED = "UNAUTHENTICATED"
    FORBIDDEN = "FORBIDDEN"
    METHOD_NOT_ALLOWED = "METHOD_NOT_ALLOWED"
    RATE_LIMITED = "RATE_LIMITED"
    USAGE_REJECTED = "USAGE_REJECTED"
    # reasons a usage record is rejected (in USAGE_REJECTED's list, never an answer's own code)
    USAGE_BEFORE_RESOURCE = "USAGE_BEFORE_RESOURCE"  # dated before the resource was created
    USAGE_SPANS_CHANGE = "USAGE_SPANS_CHANGE"  # across a change of billing mode or spec
    USAGE_TIME_EXCEEDED = "USAGE_TIME_EXCEEDED"  # more than an hour of running time in an hour
    RESOURCE_RELEASED = "RESOURCE_RELEASED"
    RESOURCE_FROZEN = "RESOURCE_FROZEN"
    # notices
    TEMPLATE_INVALID = "TEMPLATE_INVALID"
    # orders and subscriptions
    ORDER_NOT_FOUND = "ORDER_NOT_FOUND"
    ORDER_ALREADY_PAID = "ORDER_ALREADY_PAID"
    ORDER_CLOSED = "ORDER_CLOSED"
    COUPON_NOT_APPLICABLE = "COUPON_NOT_APPLICABLE"
    # invoices
    INVOICE_NOT_FOUND = "INVOICE_NOT_FOUND"
    INVOICE_PROFILE_MISSING = "INVOICE_PROFILE_MISSING"  # no invoice title yet
    NOTHING_TO_INVOICE = "NOTHING_TO_INVOICE"  # a chosen order or cycle has nothing invoiceable
    INVOICED_MONEY_HELD = "INVOICED_MONEY_HELD"  # withdrawal of an outstanding invoice amount
    # access keys
    ACCESS_KEY_NOT_FOUND = "ACCESS_KEY_NOT_FOUND"
    ACCESS_KEY_LIMIT_REACHED = "ACCESS_KEY_LIMIT_REACHED"
    PAYLOAD_TOO_LARGE = "PAYLOAD_TOO_LARGE"
    # console users
    USER_NOT_FOUND = "USER_NOT_FOUND"
    CSRF_FAILED = "CSRF_FAILED"  # a console form without its session's token
    # bill storage
    BILL_STORAGE_NOT_SET_UP = "BILL_STORAGE_NOT_SET_UP"
    BILL_STORAGE_UNVERIFIED = "BILL_STORAGE_UNVERIFIED"  # the bucket check failed: see details
    # enterprise accounts (enterprise/): associations of member accounts with a master account
    ENTERPRISE_ASSOCIATION_NOT_FOUND = "ENTERPRISE_ASSOCIATION_NOT_FOUND"
    ENTERPRISE_SELF = "ENTERPRISE_SELF"  # a customer cannot be its own master
    ENTERPRISE_MASTER_IS_MEMBER = "ENTERPRISE_MASTER_IS_MEMBER"  # a member cannot be a master
    ENTERPRISE_MEMBER_IS_MASTER = "ENTERPRISE_MEMBER_IS_MASTER"  # a master cannot be a member
    ENTERPRISE_MEMBER_TAKEN = "ENTERPRISE_MEMBER_TAKEN"  # already invited or associated
    ENTERPRISE_MEMBER_OWES = "ENTERPRISE_MEMBER_OWES"  # unpaid bills, debt or arrears
    ENTERPRISE_MEMBER_HAS_FUNDS = "ENTERPRISE_MEMBER_HAS_FUNDS"  # cash left: disassociation
    ENTERPRISE_MEMBER_HAS_CREDIT = "ENTERPRISE_MEMBER_HAS_CREDIT"  # credit limit left
    ENTERPRISE_MEMBER_HAS_COUPONS = "ENTERPRISE_MEMBER_HAS_COUPONS"  # usable coupons left
    ENTERPRISE_MASTER_OWES = "ENTERPRISE_MASTER_OWES"  # unified: the master's fees unpaid
    ENTERPRISE_NOT_INDEPENDENT = "ENTERPRISE_NOT_INDEPENDENT"  # allocation: unified member
    ENTERPRISE_OVER_ALLOCATABLE = "ENTERPRISE_OVER_ALLOCATABLE"  # more than may be moved
    ENTERPRISE_NOT_SUPPORTED = "ENTERPRISE_NOT_SUPPORTED"  # no meaning here (project auth)
    ENTERPRISE_MEMBER_NOT_NORMAL = "ENTERPRISE_MEMBER_NOT_NORMAL"  # unified: member frozen
    ENTERPRISE_MEMBER_HAS_ORDERS = "ENTERPRISE_MEMBER_HAS_ORDERS"  # unified: orders unpaid
    ENTERPRISE_ALLOCATED_HELD = "ENTERPRISE_ALLOCATED_HELD"  # allocated cash: recall, no withdrawal
    # enterprise: a member in unified accounting pays through its master, never itself
    UNIFIED_MEMBER_PAYS_THROUGH_MASTER = "UNIFIED_MEMBER_PAYS_THROUGH_MASTER"
    # the database is busy or out of reach: nothing was changed, ask again (503, Retry-After)
    DATABASE_BUSY = "DATABASE_BUSY"
    DATABASE_UNAVAILABLE = "DATABASE_UNAVAILABLE"
    # the message stream (NATS JetStream) is out of reach or lacks the stream named
    STREAM_UNAVAILABLE = "STREAM_UNAVAILABLE"
    # a fault of cloudbill's, logged with the request id (never a refusal of the input)
    INTERNAL = "INTERNAL"


_HTTP_STATUS: dict[ErrorCode, int] = {
    ErrorCode.INTERNAL: 500,
    ErrorCode.DATABASE_BUSY: 503,
    ErrorCode.DATABASE_UNAVAILABLE: 503,
    ErrorCode.STREAM_UNAVAILABLE: 503,
    ErrorCode.PAYLOAD_TOO_LARGE: 413,
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.CUSTOMER_NOT_FOUND: 404,
    ErrorCode.RESOURCE_NOT_FOUND: 404,
    ErrorCode.CATALOG_ITEM_NOT_FOUND: 404,
    ErrorCode.ALREADY_EXISTS: 409,
    ErrorCode.IDEMPOTENCY_CONFLICT: 409,
    ErrorCode.INSUFFICIENT_BALANCE: 409,
    ErrorCode.CUSTOMER_IN_ARREARS: 409,
    ErrorCode.CUSTOMER_FROZEN: 409,
    ErrorCode.INVALID_STATE: 409,
    ErrorCode.NO_CATALOG: 409,
    ErrorCode.CATALOG_IN_USE: 409,
    ErrorCode.CLOCK_NOT_SIMULATED: 409,
    ErrorCode.UNAUTHENTICATED: 401,
    ErrorCode.FORBIDDEN: 403,
    ErrorCode.METHOD_NOT_ALLOWED: 405,
    ErrorCode.RATE_LIMITED: 429,
    ErrorCode.USAGE_REJECTED: 422,
    ErrorCode.RESOURCE_RELEASED: 409,
    ErrorCode.RESOURCE_FROZEN: 409,
    ErrorCode.TEMPLATE_INVALID: 422,
    ErrorCode.ORDER_NOT_FOUND: 404,
    ErrorCode.ORDER_ALREADY_PAID: 409,
    ErrorCode.ORDER_CLOSED: 409,
    ErrorCode.COUPON_NOT_APPLICABLE: 422,
    ErrorCode.INVOICE_NOT_FOUND: 404,
    ErrorCode.INVOICE_PROFILE_MISSING: 409,
    ErrorCode.NOTHING_TO_INVOICE: 409,
    ErrorCode.INVOICED_MONEY_HELD: 409,
    ErrorCode.ACCESS_KEY_NOT_FOUND: 404,
    ErrorCode.ACCESS_KEY_LIMIT_REACHED: 409,
    ErrorCode.USER_NOT_FOUND: 404,
    ErrorCode.CSRF_FAILED: 403,
    ErrorCode.BILL_STORAGE_NOT_SET_UP: 404,
    ErrorCode.BILL_STORAGE_UNVERIFIED: 422,
    ErrorCode.ENTERPRISE_ASSOCIATION_NOT_FOUND: 404,
    ErrorCode.ENTERPRISE_SELF: 400,
    ErrorCode.ENTERPRISE_MASTER_IS_MEMBER: 409,
    ErrorCode.ENTERPRISE_MEMBER_IS_MASTER: 409,
    ErrorCode.ENTERPRISE_MEMBER_TAKEN: 409,
    ErrorCode.ENTERPRISE_MEMBER_OWES: 409,
    ErrorCode.ENTERPRISE_MEMBER_HAS_FUNDS: 409,
    ErrorCode.ENTERPRISE_MEMBER_HAS_CREDIT: 409,
    ErrorCode.ENTERPRISE_MEMBER_HAS_COUPONS: 409,
    ErrorCode.ENTERPRISE_MASTER_OWES: 409,
    ErrorCode.ENTERPRISE_NOT_INDEPENDENT: 409,
    ErrorCode.ENTERPRISE_OVER_ALLOCATABLE: 409,
    ErrorCode.ENTERPRISE_NOT_SUPPORTED: 400,
    ErrorCode.ENTERPRISE_MEMBER_NOT_NORMAL: 409,
    ErrorCode.ENTERPRISE_MEMBER_HAS_ORDERS: 409,
    ErrorCode.ENTERPRISE_ALLOCATED_HELD: 409,
    ErrorCode.UNIFIED_MEMBER_PAYS_THROUGH_MASTER: 409,
}


class CloudbillError(Exception):
    """An expected failure with a stable code; nothing was changed when it is raised."""

    def __init__(self, code: ErrorCode, message: str, **details: Any) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details

    @property
    def http_status(self) -> int:
        return _HTTP_STATUS.get(self.code, 400)

    @property
    def retry_after_s(self) -> int | None:
        """Seconds after which the same request may succeed (HTTP `Retry-After`), if told."""
        value = self.details.get("retry_after_s")
        return value if isinstance(value, int) else None

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": str(self.code), "message": self.message}
        if self.details:
            body["details"] = self.details
        return body

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"
