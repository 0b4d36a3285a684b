"""`cloudbill order …` and `cloudbill subscription …`: yearly/monthly orders on a customer's
behalf, and the renewal page."""

from __future__ import annotations

import typer

from ..kernel.errors import CloudbillError, ErrorCode
from ..kernel.limits import PAGE_SIZE_DEFAULT
from ..orders import service
from ..orders.model import OrderSource
from ..orders.service import NewItem, Terms
from ..orders.views import order_view, subscription_view
from ..subscriptions import service as subscriptions
from .context import CustomerArg, container
from .output import JsonOption, emit_json, errors_as_lines, show_record, show_rows

order_app = typer.Typer(
    help="Yearly/monthly orders: buy, renew, change spec, convert, unsubscribe, pay, cancel.",
    no_args_is_help=True,
)
subscription_app = typer.Typer(
    help="Yearly/monthly subscriptions: renewal views, auto-renew, expire policy.",
    no_args_is_help=True,
)

COLUMNS = ("id", "order_type", "status", "amount", "coupon_amount", "net_amount", "created_at")
LINE_COLUMNS = (
    "line_no",
    "resource_id",
    "spec",
    "period_count",
    "period_unit",
    "amount",
    "coupon_amount",
    "cash_amount",
    "period_end",
)
ReferenceOption = typer.Option(None, "--reference", help="idempotency key (trans_id)")


def _terms() -> Terms:
    return Terms.from_settings(container().settings)


def _show(order, as_json: bool, title: str) -> None:  # type: ignore[no-untyped-def]
    view = order_view(order)
    show_record(
        {k: v for k, v in view.items() if k not in ("lines", "coupons")} if not as_json else view,
        as_json=as_json,
        title=title,
    )
    if not as_json:
        show_rows(view["lines"], LINE_COLUMNS, as_json=False, title="lines")


@order_app.command("buy")
def buy(
    customer_id: CustomerArg,
    resource_type: str = typer.Option(..., "--type", help="e.g. hws.resource.type.vm"),
    spec: str = typer.Option(..., help="e.g. s6.small.1"),
    region: str = typer.Option(..., help="e.g. ap-southeast-1"),
    name: str = typer.Option(...),
    period_unit: str = typer.Option("month", "--period", help="month or year"),
    period_count: int = typer.Option(1, "--count", help="1-9 months or 1-3 years"),
    quantity: int = typer.Option(1, help="how many such resources"),
    auto_renew: bool = typer.Option(False, "--auto-renew"),
    expire_policy: str | None = typer.Option(
        None, help="grace_then_release (default), to_pay_per_use or release"
    ),
    reference: str | None = ReferenceOption,
    as_json: bool = JsonOption,
) -> None:
    """Make a new-purchase order (pending payment until paid)."""
    item = NewItem(resource_type, spec, region, name, period_unit, period_count, quantity)
    with errors_as_lines():
        order = container().write(
            lambda conn, now: service.create_new(
                conn,
                customer_id,
                [item],
                auto_renew=auto_renew,
                expire_policy=expire_policy,
                reference=reference,
                source=OrderSource.OPERATOR,
                terms=_terms(),
                now=now,
            )
        )
    _show(order, as_json, "order created")


@order_app.command("renew")
def renew(
    customer_id: CustomerArg,
    resource_ids: list[str] = typer.Argument(..., help="one or more resource ids"),
    period_unit: str | None = typer.Option(None, "--period", help="month or year"),
    period_count: int | None = typer.Option(None, "--count"),
    unified_day: int | None = typer.Option(
        None, "--unified-day", help="renew each to its next such day of the month (1-28)"
    ),
    reference: str | None = ReferenceOption,
    as_json: bool = JsonOption,
) -> None:
    """Make a renewal order for a period, or to a unified expiry day."""
    if period_unit is None and period_count is None and unified_day is None:
        period_unit, period_count = "month", 1
    with errors_as_lines():
        order = container().write(
            lambda conn, now: service.create_renewal(
                conn,
                customer_id,
                resource_ids,
                period_unit=period_unit,
                period_count=period_count,
                unified_day=unified_day,
                reference=reference,
                source=OrderSource.OPERATOR,
                terms=_terms(),
                now=now,
            )
        )
    _show(order, as_json, "order created")


@order_app.command("change")
def change(
    customer_id: CustomerArg,
    resource_id: str,
    new_spec: str = typer.Option(..., "--spec"),
    reference: str | None = ReferenceOption,
    as_json: bool = JsonOption,
) -> None:
    """Change a resource's spec: an upgrade makes an order to pay, a downgrade refunds now."""
    with errors_as_lines():
        order = container().write(
            lambda conn, now: service.create_change(
                conn,
                customer_id,
                resource_id,
                new_spec=new_spec,
                reference=reference,
                source=OrderSource.OPERATOR,
                terms=_terms(),
                now=now,
            )
        )
    _show(order, as_json, "order created")


@order_app.command("convert")
def convert(
    customer_id: CustomerArg,
    resource_id: str,
    period_unit: str = typer.Option("month", "--period"),
    period_count: int = typer.Option(1, "--count"),
    reference: str | None = ReferenceOption,
    as_json: bool = JsonOption,
) -> None:
    """Make an order converting a pay-per-use resource to yearly/monthly."""
    with errors_as_lines():
        order = container().write(
            lambda conn, now: service.create_conversion(
                conn,
                customer_id,
                resource_id,
                period_unit=period_unit,
                period_count=period_count,
                reference=reference,
                source=OrderSource.OPERATOR,
                terms=_terms(),
                now=now,
            )
        )
    _show(order, as_json, "order created")


@order_app.command("unsubscribe")
def unsubscribe(
    customer_id: CustomerArg,
    resource_ids: list[str] = typer.Argument(...),
    to_pay_per_use: bool = typer.Option(
        False, "--to-pay-per-use", help="keep them running, billed by the hour from now on"
    ),
    renewals_only: bool = typer.Option(
        False, "--renewals-only", help="give back only the renewal periods not begun"
    ),
    reference: str | None = ReferenceOption,
    as_json: bool = JsonOption,
) -> None:
    """Unsubscribe resources: refunded paid - used - handling fee, then released now (or
    changed to pay-per-use at once)."""
    with errors_as_lines():
        if renewals_only and to_pay_per_use:
            raise CloudbillError(
                ErrorCode.INVALID_ARGUMENT, "--renewals-only keeps the resources as they are"
            )
        if renewals_only:
            order = container().write(
                lambda conn, now: service.unsubscribe_renewals(
                    conn, customer_id, resource_ids, reference=reference,
                    source=OrderSource.OPERATOR, terms=_terms(), now=now,
                )
            )  # fmt: skip
            _show(order, as_json, "renewals unsubscribed")
            return
        order = container().write(
            lambda conn, now: service.unsubscribe(
                conn,
                customer_id,
                resource_ids,
                reference=reference,
                source=OrderSource.OPERATOR,
                then="to_pay_per_use" if to_pay_per_use else "release",
                terms=_terms(),
                now=now,
            )
        )
    _show(order, as_json, "unsubscribed")


@order_app.command("list")
def list_(
    customer_id: CustomerArg,
    status: str | None = typer.Option(None, help="pending_payment, paid, cancelled, ..."),
    order_type: str | None = typer.Option(None, "--type"),
    limit: int = typer.Option(PAGE_SIZE_DEFAULT),
    offset: int = typer.Option(0),
    as_json: bool = JsonOption,
) -> None:
    """A customer's orders, newest first."""
    with errors_as_lines():
        rows, total = container().read(
            lambda conn, _now: service.list_orders(
                conn,
                customer_id,
                status=status,
                order_type=order_type,
                limit=limit,
                offset=offset,
            )
        )
    show_rows([order_view(o) for o in rows], COLUMNS, as_json=as_json, total=total)


@order_app.command("show")
def show(order_id: str, as_json: bool = JsonOption) -> None:
    """An order with its lines."""
    with errors_as_lines():
        order = container().read(lambda conn, _now: service.get(conn, order_id))
    _show(order, as_json, f"order {order_id}")


@order_app.command("pay")
def pay(
    order_ids: list[str] = typer.Argument(..., help="one pending order, or several of a customer"),
    coupon_ids: list[str] = typer.Option([], "--coupon", help="a cash coupon to use (repeat)"),
    reference: str | None = ReferenceOption,
    as_json: bool = JsonOption,
) -> None:
    """Pay pending orders: chosen coupons, then cash, then available credit. Several orders
    are paid together, all or none; a coupon is shared over them pro rata by amount."""
    c = container()

    def work(conn, now):  # type: ignore[no-untyped-def]
        first = service.get(conn, order_ids[0])
        return service.pay_together(
            conn,
            first.customer_id,
            order_ids,
            coupon_ids=coupon_ids or None,
            reference=reference,
            coupons_max=c.settings.coupons_per_payment,
            now=now,
        )

    with errors_as_lines():
        paid = c.write(work)
    if as_json and len(paid) > 1:
        emit_json({"items": [order_view(order) for order in paid]})
        return
    for order in paid:
        _show(order, as_json, "order paid")


@order_app.command("cancel")
def cancel(
    order_id: str,
    reason: str | None = typer.Option(None),
    as_json: bool = JsonOption,
) -> None:
    """Cancel a pending order."""

    def work(conn, now):  # type: ignore[no-untyped-def]
        order = service.get(conn, order_id)
        return service.cancel(conn, order.customer_id, order.id, reason=reason, now=now)

    with errors_as_lines():
        order = container().write(work)
    _show(order, as_json, "order cancelled")


@subscription_app.command("renewals")
def renewals(
    customer_id: CustomerArg,
    view: str = typer.Option("expiring", help="expiring, expired, frozen or all"),
    within_days: int = typer.Option(30, help="expiring: within this many days"),
    limit: int = typer.Option(PAGE_SIZE_DEFAULT),
    offset: int = typer.Option(0),
    as_json: bool = JsonOption,
) -> None:
    """The renewal page: resources expiring soon, expired, frozen; with counts."""
    with errors_as_lines():
        page = container().read(
            lambda conn, now: subscriptions.renewals(
                conn,
                customer_id,
                view=view,
                within_days=within_days,
                limit=limit,
                offset=offset,
                now=now,
            )
        )
    if as_json:
        show_record(page, as_json=True)
        return
    counts = page["counts"]
    typer.echo(
        f"expiring in {within_days} days: {counts['expiring']}  expired: {counts['expired']}  "
        f"frozen: {counts['frozen']}"
    )
    columns = ("resource_id", "name", "spec", "status", "expire_at", "days_left", "auto_renew")
    show_rows(page["items"], columns, as_json=False, total=page["total"])


@subscription_app.command("show")
def show_subscription(resource_id: str, as_json: bool = JsonOption) -> None:
    with errors_as_lines():
        sub = container().read(lambda conn, _now: subscriptions.get(conn, resource_id))
    show_record(subscription_view(sub), as_json=as_json)


@subscription_app.command("auto-renew")
def auto_renew(
    resource_id: str,
    enabled: bool = typer.Option(..., "--on/--off"),
    period_unit: str | None = typer.Option(None, "--period"),
    period_count: int | None = typer.Option(None, "--count"),
    as_json: bool = JsonOption,
) -> None:
    """Turn auto-renew on (charged 03:00 local, 7 days before expiry) or off."""

    def work(conn, now):  # type: ignore[no-untyped-def]
        sub = subscriptions.get(conn, resource_id)
        return subscriptions.set_auto_renew(
            conn,
            sub.customer_id,
            resource_id,
            enabled=enabled,
            period_unit=period_unit,
            period_count=period_count,
            now=now,
        )

    with errors_as_lines():
        sub = container().write(work)
    show_record(subscription_view(sub), as_json=as_json)


@subscription_app.command("expire-policy")
def expire_policy(
    resource_id: str,
    policy: str = typer.Argument(..., help="grace_then_release, to_pay_per_use or release"),
    as_json: bool = JsonOption,
) -> None:
    """What happens at expiry."""

    def work(conn, now):  # type: ignore[no-untyped-def]
        sub = subscriptions.get(conn, resource_id)
        return subscriptions.set_expire_policy(
            conn, sub.customer_id, resource_id, policy=policy, now=now
        )

    with errors_as_lines():
        sub = container().write(work)
    show_record(subscription_view(sub), as_json=as_json)
