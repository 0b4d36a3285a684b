"""What pricing hands to the writer: the settled lines as columns, and each customer's part."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..catalog.model import BillingMode
from ..ledger.model import Account, AccountKind
from ..rate.rules import Rated
from .deduction import CouponState, Payment, Wallet
from .holds import Failure
from .lines import Line
from .packages import PackageState, PackageUse

PAY_PER_USE = str(BillingMode.PAY_PER_USE)


@dataclass(frozen=True, slots=True)
class AsRated:
    """A resource as its usage ran: with the spec in force then, when it changed since."""

    id: str
    service: str
    resource_type: str
    spec: str
    region: str


@dataclass
class PricedLine:
    line: Line
    facts: object  # resource row or AsRated: service, resource_type, spec, region
    package_e10: int
    rated: Rated
    payment: Payment | None = None


@dataclass
class CustomerSettlement:
    """A consumer's lines that one payer pays: the consumer itself, or its unified master
    (enterprise/accounting.py) for the hours it was associated. `accounts` and `wallet` are the
    payer's; entries of one payer share its wallet, paid one after another in key order."""

    customer: object  # the locked consumer row
    accounts: dict[AccountKind, Account]
    wallet: Wallet
    payer: object = None  # the locked payer row (None: the consumer pays itself)
    start: int = 0  # its lines are rows start..stop-1 of the settlement's columns
    stop: int = 0
    package_uses: list[tuple[int, PackageUse]] = field(default_factory=list)  # (row, use)
    coupon_uses: dict[str, int] = field(default_factory=dict)  # coupon id -> units used
    paid: dict[str, int] = field(default_factory=dict)  # coupon/cash/credit/debt_units totals
    exact: ExactSettlement | None = None  # priced line by line (an unusual customer): its own rows

    @property
    def payer_row(self):  # type: ignore[no-untyped-def]
        return self.payer if self.payer is not None else self.customer

    @property
    def key(self) -> tuple[str, str]:
        """(consumer, payer): the entry's place in the settlement's columns."""
        return self.customer.id, self.payer_row.id


@dataclass
class RatedColumns:
    """The settled lines, one row each, customers one after another in id order. The money
    columns are lists of ints, or numpy arrays (int64 or exact object ints) when every line
    was rated as columns."""

    lines: list[Line] = field(default_factory=list)
    facts: list[object] = field(default_factory=list)  # resource row or AsRated
    usage_e10: list[int] = field(default_factory=list)  # in the current pricing unit
    package_e10: list[int] = field(default_factory=list)
    unit_price: list[str | None] = field(default_factory=list)  # None when tiered
    official_units: list[int] = field(default_factory=list)
    discount_units: list[int] = field(default_factory=list)
    amount_units: list[int] = field(default_factory=list)
    coupon_units: list[int] = field(default_factory=list)
    cash_units: list[int] = field(default_factory=list)
    credit_units: list[int] = field(default_factory=list)
    debt_units: list[int] = field(default_factory=list)


@dataclass
class PricedSettlement:
    customers: dict[str, CustomerSettlement]
    packages: dict[str, PackageState]
    coupons: dict[str, CouponState]
    # Customers whose hour could not be priced: left out of this settlement, held (holds.py).
    failures: dict[str, Failure] = field(default_factory=dict)
    columns: RatedColumns = field(default_factory=RatedColumns)


PAID_PARTS = ("coupon_units", "cash_units", "credit_units", "debt_units")


@dataclass
class ExactSettlement:
    """A customer priced line by line by rate(): the reference the columns are equal to."""

    customer: object
    accounts: dict[AccountKind, Account]
    wallet: Wallet
    lines: list[PricedLine] = field(default_factory=list)
    package_uses: list[tuple[PricedLine, PackageUse]] = field(default_factory=list)
    payer: object = None  # the payer's row: its discounts apply


def append_exact(out: RatedColumns, p: PricedLine) -> None:
    out.lines.append(p.line)
    out.facts.append(p.facts)
    out.usage_e10.append(p.line.usage_e10)
    out.package_e10.append(p.package_e10)
    price = p.rated.unit_price
    out.unit_price.append(None if price is None else format(price, "f"))
    out.official_units.append(p.rated.official_units)
    out.discount_units.append(p.rated.discount_units)
    out.amount_units.append(p.rated.amount_units)
    for part in PAID_PARTS:
        getattr(out, part).append(getattr(p.payment, part))
