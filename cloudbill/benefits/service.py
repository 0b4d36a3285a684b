"""Benefit use cases. Each runs inside one transaction handed in by the caller, with `now`.

Resource packages move no money: a grant is a row. Cash coupons are money the provider gives
away: issuing one moves its value from the provider's PROMOTION account to the customer's
COUPON account, and revoking or expiring it moves what is left back, so the COUPON account
always holds the sum of the customer's coupon balances.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection

from ..catalog import service as catalog_service
from ..customers import repo as customer_repo
from ..customers import rules as customer_rules
from ..customers import service as customers
from ..customers.model import Customer
from ..kernel.errors import CloudbillError, ErrorCode
from ..kernel.ids import new_id
from ..kernel.limits import PAGE_SIZE_DEFAULT
from ..ledger import service as ledger
from ..ledger.model import AccountKind
from . import coupons, repo, rules
from .model import PackageBalance, PackageGrant, PackageSource, PackageUsage, ResourcePackage

OPERATOR = "operator"

# The coupon use cases live in coupons.py; they are part of this stage's public surface.
issue_coupon = coupons.issue_coupon
revoke_coupon = coupons.revoke_coupon
expire_coupons = coupons.expire_coupons
get_coupon = coupons.get_coupon
list_coupons = coupons.list_coupons
coupon_usage = coupons.coupon_usage


def _insert_package(conn: Connection, grant: PackageGrant, reference: str, *, now: datetime) -> str:
    """Store a granted package and note the grant in the audit trail (it moves no money)."""
    values = {
        "id": new_id(),
        "customer_id": grant.customer_id,
        "name": grant.name,
        "usage_type": grant.usage_type,
        "pricing_unit": grant.unit,
        "quantity_e10": grant.quantity_e10,
        "service": grant.service,
        "resource_type": grant.resource_type,
        "spec": grant.spec,
        "region": grant.region,
        "reset_kind": str(grant.reset_kind),
        "reset_hour": grant.reset_hour,
        "valid_from": grant.valid_from,
        "valid_to": grant.valid_to,
        "source": str(PackageSource.GRANTED),
        "reference": reference,
        "created_at": now,
    }
    repo.insert_package(conn, values)
    customer_repo.add_audit(
        conn,
        at=now,
        actor=OPERATOR,
        customer_id=grant.customer_id,
        action="package.granted",
        details={k: v for k, v in values.items() if k != "created_at"},
    )
    return values["id"]


def grant_package(
    conn: Connection,
    *,
    customer_id: str,
    name: str | None,
    usage_type: str,
    quantity: object,
    unit: str,
    service: str | None = None,
    resource_type: str | None = None,
    spec: str | None = None,
    region: str | None = None,
    reset_kind: str | None = None,
    reset_hour: int | None = None,
    resets_monthly: bool | None = None,
    valid_from: datetime,
    valid_to: datetime,
    reference: str,
    now: datetime,
) -> tuple[ResourcePackage, bool]:
    """The operator gives a customer a package; (package, created).

    Idempotent by `reference`: the same reference with the same data answers the package
    granted first; with other data it is an IDEMPOTENCY_CONFLICT.
    """
    reference = rules.check_reference(reference)
    customer = customers.get(conn, customer_id, lock=True)
    grant = rules.normalize_grant(
        customer.id, name=name, usage_type=usage_type, quantity=quantity, unit=unit,
        service=service, resource_type=resource_type, spec=spec, region=region,
        reset_kind=reset_kind, reset_hour=reset_hour, resets_monthly=resets_monthly,
        valid_from=valid_from, valid_to=valid_to,
    )  # fmt: skip
    existing = repo.package_by_reference(conn, reference)
    if existing is not None:
        if not rules.same_grant(existing, grant):
            raise CloudbillError(
                ErrorCode.IDEMPOTENCY_CONFLICT,
                f"reference {reference!r} was already used for a different package",
                reference=reference,
            )
        return existing, False
    customer_rules.check_not_frozen(customer)
    rules.check_grant_catalog(grant, catalog_service.active(conn))
    rules.check_not_over(grant.valid_to, now)
    package_id = _insert_package(conn, grant, reference, now=now)
    created = repo.get_package(conn, package_id)
    assert created is not None
    return created, True


def _balances(
    conn: Connection, customer: Customer, packages: list[ResourcePackage], at: datetime
) -> list[PackageBalance]:
    periods = {p.id: rules.current_period(p, customer.timezone, at) for p in packages}
    used = repo.used_in_periods(conn, [(pid, key) for pid, (key, _) in periods.items()])
    out = []
    for package in packages:
        key, window = periods[package.id]
        used_e10 = used.get((package.id, key), 0)
        out.append(
            PackageBalance(
                package=package,
                state=rules.package_state(package, at),
                period_key=key,
                period=window,
                used_e10=used_e10,
                remaining_e10=rules.remaining_e10(package, used_e10),
            )
        )
    return out


def list_packages(
    conn: Connection,
    customer_id: str,
    *,
    at: datetime,
    include_expired: bool = False,
    limit: int = PAGE_SIZE_DEFAULT,
    offset: int = 0,
) -> tuple[list[PackageBalance], int]:
    """A customer's packages with used/remaining for the period containing `at`."""
    customer = customers.get(conn, customer_id)
    customers.check_page(limit, offset)
    packages, total = repo.list_packages(
        conn,
        customer.id,
        valid_after=None if include_expired else at,
        limit=limit,
        offset=offset,
    )
    return _balances(conn, customer, packages, at), total


def _package(conn: Connection, package_id: str, customer_id: str | None) -> ResourcePackage:
    """A package; with `customer_id`, only that customer's (others' look absent)."""
    package = repo.get_package(conn, package_id) if rules.is_record_id(package_id) else None
    if package is None or (customer_id is not None and package.customer_id != customer_id):
        raise CloudbillError(ErrorCode.NOT_FOUND, f"no resource package {package_id!r}")
    return package


def get_package(
    conn: Connection, package_id: str, *, at: datetime, customer_id: str | None = None
) -> PackageBalance:
    package = _package(conn, package_id, customer_id)
    customer = customers.get(conn, package.customer_id)
    return _balances(conn, customer, [package], at)[0]


def package_usage(
    conn: Connection,
    package_id: str,
    limit: int = PAGE_SIZE_DEFAULT,
    offset: int = 0,
    *,
    customer_id: str | None = None,
) -> tuple[list[PackageUsage], int]:
    """What settlement took from a package, newest hour first."""
    _package(conn, package_id, customer_id)
    customers.check_page(limit, offset)
    return repo.list_package_usage(conn, package_id, limit=limit, offset=offset)


def coupon_books(conn: Connection, customer_id: str) -> tuple[int, int]:
    """(COUPON ledger balance, sum of coupon balances): the two must always be equal."""
    accounts = ledger.customer_accounts(conn, customer_id)
    account = accounts.get(AccountKind.COUPON)
    return (account.balance_units if account else 0), repo.coupon_balance_total(conn, customer_id)
