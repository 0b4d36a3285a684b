"""`cloudbill package …` and `cloudbill coupon …`."""

from __future__ import annotations

from typing import Any

import typer

from ..benefits import service
from ..benefits.views import (
    coupon_usage_view,
    coupon_view,
    package_balance_view,
    package_usage_view,
)
from ..kernel.limits import PAGE_SIZE_DEFAULT, PAGE_SIZE_MAX
from ..kernel.periods import parse_instant
from .context import CustomerArg, container
from .output import JsonOption, console, emit_json, errors_as_lines, show_record, show_rows

package_app = typer.Typer(help="Grant and list resource packages.", no_args_is_help=True)
coupon_app = typer.Typer(help="Issue, list, revoke and expire cash coupons.", no_args_is_help=True)

PACKAGE_COLUMNS = (
    "id", "name", "usage_type", "quantity", "used", "remaining", "unit", "state", "valid_to",
)  # fmt: skip
COUPON_COLUMNS = ("id", "name", "face_value", "balance", "currency", "status", "valid_to")
USAGE_COLUMNS = ("hour_start", "resource_id", "quantity", "settlement_id")


def _readable(view: dict[str, Any]) -> dict[str, Any]:
    """A coupon's scope lists as one line for a table: "ecs, evs", or "all"."""
    return {
        **view,
        **{k: ", ".join(view[k]) if view[k] else "all" for k in ("services", "billing_modes")},
    }


@package_app.command("grant")
def grant(
    customer_id: CustomerArg,
    usage_type: str = typer.Option(..., help="e.g. duration, capacity, upflow, requests"),
    quantity: str = typer.Option(..., help="exact decimal, e.g. 744"),
    unit: str = typer.Option(..., help="a unit of the usage type, e.g. h, GB, GBh"),
    valid_from: str = typer.Option(..., help="ISO 8601 (naive = UTC)"),
    valid_to: str = typer.Option(..., help="ISO 8601 (naive = UTC)"),
    reference: str = typer.Option(..., help="unique id of this grant (idempotency key)"),
    name: str | None = typer.Option(None, help="default: quantity, unit and usage type"),
    service_code: str | None = typer.Option(None, "--service", help="limit to a service"),
    resource_type: str | None = typer.Option(None, help="limit to a resource type"),
    spec: str | None = typer.Option(None, help="limit to a spec (needs --resource-type)"),
    region: str | None = typer.Option(None, help="limit to a region"),
    reset: str | None = typer.Option(
        None, help="none, daily, monthly_purchase_day or monthly_calendar (default: none)"
    ),
    reset_hour: int | None = typer.Option(None, help="daily: the customer's local hour (0-23)"),
    monthly: bool = typer.Option(False, "--monthly", help="older form of --reset monthly_calendar"),
    as_json: bool = JsonOption,
) -> None:
    """Grant a customer a resource package (usage consumes it before money)."""

    def work(conn, now):  # type: ignore[no-untyped-def]
        package, created = service.grant_package(
            conn, customer_id=customer_id, name=name, usage_type=usage_type, quantity=quantity,
            unit=unit, service=service_code, resource_type=resource_type, spec=spec,
            region=region, reset_kind=reset, reset_hour=reset_hour,
            resets_monthly=True if monthly else None, valid_from=parse_instant(valid_from),
            valid_to=parse_instant(valid_to), reference=reference, now=now,
        )  # fmt: skip
        view = package_balance_view(service.get_package(conn, package.id, at=now))
        return {**view, "created": created}

    with errors_as_lines():
        view = container().write(work)
    title = "package granted" if view["created"] else "package already granted"
    show_record(view, as_json=as_json, title=title)


@package_app.command("list")
def list_packages(
    customer_id: CustomerArg,
    include_expired: bool = typer.Option(False, "--all", help="include expired packages"),
    at: str | None = typer.Option(None, help="ISO 8601: figures for the period containing it"),
    limit: int = typer.Option(PAGE_SIZE_DEFAULT),
    offset: int = typer.Option(0),
    as_json: bool = JsonOption,
) -> None:
    """A customer's packages with used and remaining quantity, expiring first."""
    with errors_as_lines():
        rows, total = container().read(
            lambda conn, now: service.list_packages(
                conn, customer_id, at=parse_instant(at) if at else now,
                include_expired=include_expired, limit=limit, offset=offset,
            )
        )  # fmt: skip
    views = [package_balance_view(r) for r in rows]
    show_rows(views, PACKAGE_COLUMNS, as_json=as_json, total=total, title="resource packages")


@package_app.command("show")
def show_package(
    package_id: str,
    limit: int = typer.Option(PAGE_SIZE_DEFAULT, help="usage records per page"),
    offset: int = typer.Option(0),
    as_json: bool = JsonOption,
) -> None:
    """A package, its current period and what settlement took from it."""

    def work(conn, now):  # type: ignore[no-untyped-def]
        view = package_balance_view(service.get_package(conn, package_id, at=now))
        rows, total = service.package_usage(conn, package_id, limit, offset)
        return view, [package_usage_view(r) for r in rows], total

    with errors_as_lines():
        view, usage, total = container().read(work)
    if as_json:
        emit_json({**view, "usage": {"total": total, "items": usage}})
        return
    show_record(view, as_json=False)
    show_rows(usage, USAGE_COLUMNS, as_json=False, total=total, title="usage")


@coupon_app.command("issue")
def issue(
    customer_id: CustomerArg,
    value: str = typer.Argument(..., help="in the customer's currency, e.g. 20.00"),
    valid_to: str = typer.Option(..., help="ISO 8601 (naive = UTC)"),
    reference: str = typer.Option(..., help="unique id of this coupon (idempotency key)"),
    valid_from: str | None = typer.Option(None, help="ISO 8601; default: now"),
    name: str | None = typer.Option(None),
    services: list[str] | None = typer.Option(None, "--service", help="repeat; default: all"),
    billing_modes: list[str] | None = typer.Option(
        None, "--billing-mode", help="pay_per_use or yearly_monthly; repeat; default: both"
    ),
    min_spend: str = typer.Option("0", help="the coupon applies from this spend on"),
    as_json: bool = JsonOption,
) -> None:
    """Issue a cash coupon: its value moves from promotion to the customer's coupon balance."""
    with errors_as_lines():
        coupon, created = container().write(
            lambda conn, now: service.issue_coupon(
                conn, customer_id=customer_id, name=name, value=value,
                valid_from=parse_instant(valid_from) if valid_from else None,
                valid_to=parse_instant(valid_to), services=services or None,
                billing_modes=billing_modes or None, min_spend=min_spend,
                reference=reference, now=now,
            )
        )  # fmt: skip
    view = {**coupon_view(coupon), "created": created}
    title = "coupon issued" if created else "coupon already issued"
    show_record(view if as_json else _readable(view), as_json=as_json, title=title)


@coupon_app.command("list")
def list_coupons(
    customer_id: CustomerArg,
    status: str | None = typer.Option(None, help="active, used_up, expired or revoked"),
    limit: int = typer.Option(PAGE_SIZE_DEFAULT),
    offset: int = typer.Option(0),
    as_json: bool = JsonOption,
) -> None:
    """A customer's cash coupons, soonest-expiring first."""
    with errors_as_lines():
        rows, total = container().read(
            lambda conn, _now: service.list_coupons(
                conn, customer_id, status=status, limit=limit, offset=offset
            )
        )
    views = [coupon_view(r) for r in rows]
    show_rows(views, COUPON_COLUMNS, as_json=as_json, total=total, title="cash coupons")


@coupon_app.command("show")
def show_coupon(coupon_id: str, as_json: bool = JsonOption) -> None:
    """A coupon and its history (issued, used, expired, revoked)."""

    def work(conn, _now):  # type: ignore[no-untyped-def]
        coupon = service.get_coupon(conn, coupon_id)
        rows, total = service.coupon_usage(conn, coupon_id)
        return coupon_view(coupon), [coupon_usage_view(r, coupon.currency) for r in rows], total

    with errors_as_lines():
        view, usage, total = container().read(work)
    if as_json:
        emit_json({**view, "usage": {"total": total, "items": usage}})
        return
    show_record(_readable(view), as_json=False)
    show_rows(usage, ("at", "kind", "amount", "ledger_transaction_id"), as_json=False, total=total)


@coupon_app.command("revoke")
def revoke(
    coupon_id: str,
    reason: str = typer.Option("operator action", help="shown in the customer's history"),
    as_json: bool = JsonOption,
) -> None:
    """Withdraw what is left of a coupon (revoking it again changes nothing)."""
    with errors_as_lines():
        coupon = container().write(
            lambda conn, now: service.revoke_coupon(conn, coupon_id, reason=reason, now=now)
        )
    view = coupon_view(coupon)
    show_record(view if as_json else _readable(view), as_json=as_json, title="coupon revoked")


@coupon_app.command("expire")
def expire(
    limit: int = typer.Option(PAGE_SIZE_MAX, help="coupons per run"),
    as_json: bool = JsonOption,
) -> None:
    """Run the expiry job now: coupons past their validity give their balance back."""
    with errors_as_lines():
        count = container().write(
            lambda conn, now: service.expire_coupons(conn, now=now, limit=limit)
        )
    if as_json:
        emit_json({"expired": count, "more": count == limit})
        return
    console.print(f"{count} coupon(s) expired" + ("; run again for more" if count == limit else ""))
