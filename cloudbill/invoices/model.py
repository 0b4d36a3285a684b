"""Invoice data: sources of invoiceable money, invoices and credit memos, their states."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any


class TitleType(StrEnum):
    PERSONAL = "personal"
    ENTERPRISE = "enterprise"


class Method(StrEnum):
    """How invoices are made (CLOUDBILL_INVOICE_MODE)."""

    REQUEST = "request"  # the customer asks, an operator reviews and issues (Huawei China)
    AUTOMATIC = "automatic"  # one when an order is paid or a month billed (Huawei international)


class Kind(StrEnum):
    INVOICE = "invoice"
    CREDIT_MEMO = "credit_memo"


class SourceKind(StrEnum):
    """What an invoice covers: an order's payment, a billed month's pay-per-use and post-paid
    fees (a billing cycle), or, in the "invoice on top-up" mode, a top-up."""

    ORDER = "order"
    CYCLE = "cycle"
    TOPUP = "topup"


class Status(StrEnum):
    PENDING_REVIEW = "pending_review"
    ISSUING = "issuing"
    ISSUED = "issued"
    REJECTED = "rejected"
    CANCELLED = "cancelled"
    RETURN_PENDING = "return_pending"
    RETURNED = "returned"


# Invoices in these states hold their sources' money: it cannot be asked for again.
HOLDING = frozenset({Status.PENDING_REVIEW, Status.ISSUING, Status.ISSUED, Status.RETURN_PENDING})

# The state machine as data: action -> (states it may start from, state it leads to).
TRANSITIONS: dict[str, tuple[frozenset[Status], Status]] = {
    "cancel": (frozenset({Status.PENDING_REVIEW}), Status.CANCELLED),
    "start": (frozenset({Status.PENDING_REVIEW}), Status.ISSUING),
    "issue": (frozenset({Status.PENDING_REVIEW, Status.ISSUING}), Status.ISSUED),
    "reject": (frozenset({Status.PENDING_REVIEW, Status.ISSUING}), Status.REJECTED),
    "request_return": (frozenset({Status.ISSUED}), Status.RETURN_PENDING),
    "confirm_return": (frozenset({Status.RETURN_PENDING}), Status.RETURNED),
}

SourceKey = tuple[SourceKind, str, Decimal]  # (kind, id, tax rate)


@dataclass(frozen=True, slots=True)
class Piece:
    """Paid money of one source at one tax rate, for one resource (`key`; "" when the source
    has no resources to refund, as a billing cycle or a top-up). `units` < 0: money given back
    (an unsubscription, a downgrade, a withdrawal), taken from earlier pieces of the same key."""

    kind: SourceKind
    source_id: str
    tax_rate: Decimal
    key: str
    at: datetime
    units: int

    @property
    def source(self) -> SourceKey:
        return (self.kind, self.source_id, self.tax_rate)


@dataclass(frozen=True, slots=True)
class SourceFigures:
    kind: SourceKind
    source_id: str
    tax_rate: Decimal
    at: datetime
    paid_units: int  # money paid (cash and credit, never coupons)
    refunded_units: int  # of that, given back
    invoiced_units: int  # held by invoices (credit memos subtract)
    offset_units: int  # of what is left, what offsets an outstanding amount
    invoiceable_units: int

    @property
    def key(self) -> SourceKey:
        return (self.kind, self.source_id, self.tax_rate)


@dataclass(frozen=True, slots=True)
class Outstanding:
    """Invoiced money given back, on the source that was invoiced."""

    kind: SourceKind
    source_id: str
    tax_rate: Decimal
    units: int


@dataclass(frozen=True, slots=True)
class Figures:
    currency: str
    sources: tuple[SourceFigures, ...]
    outstanding: tuple[Outstanding, ...]  # before any offset
    net_paid_units: int  # paid minus given back
    invoiced_units: int
    outstanding_units: int  # after offsets: what blocks a withdrawal
    invoiceable_units: int


@dataclass(frozen=True, slots=True)
class Profile:
    customer_id: str
    title_type: TitleType
    title: str
    tax_id: str | None
    email: str | None
    address: str | None
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class Item:
    source_kind: SourceKind
    source_id: str
    tax_rate: Decimal
    amount_units: int


@dataclass(frozen=True, slots=True)
class Invoice:
    id: str
    customer_id: str
    kind: Kind
    method: Method
    status: Status
    currency: str
    tax_rate: Decimal
    amount_units: int
    reason: str | None
    corrects_id: str | None
    series: str | None
    number: int | None
    created_at: datetime
    updated_at: datetime
    issued_at: datetime | None
    items: tuple[Item, ...] = field(default_factory=tuple)

    @property
    def number_text(self) -> str | None:
        return None if self.number is None else f"{self.series}-{self.number:08d}"


@dataclass(frozen=True, slots=True)
class Seller:
    name: str
    tax_id: str
    address: str


@dataclass(frozen=True, slots=True)
class Terms:
    """The operator's invoicing settings, as data the rules receive."""

    method: Method
    on_topup: bool
    tax_rates: dict[tuple[str, str, str], Decimal]  # (service, currency, region) -> rate; "" any
    seller: Seller
    invoice_series: str
    credit_memo_series: str
    template_path: str | None = None
    # the notice channel's settings: an issued document is emailed with its PDF (None: not)
    notice_settings: Any = None

    @classmethod
    def from_settings(cls, settings) -> Terms:  # type: ignore[no-untyped-def]
        from .rules import parse_tax_rates

        return cls(
            method=Method(settings.invoice_mode),
            on_topup=settings.invoice_on_topup,
            tax_rates=parse_tax_rates(settings.invoice_tax_rates),
            seller=Seller(
                settings.invoice_seller_name,
                settings.invoice_seller_tax_id,
                settings.invoice_seller_address,
            ),
            invoice_series=settings.invoice_series,
            credit_memo_series=settings.credit_memo_series,
            template_path=settings.invoice_template,
            notice_settings=settings,
        )
