"""`cloudbill customer …`, `cloudbill topup`, `cloudbill withdraw`."""

from __future__ import annotations

from typing import Any

import typer

from ..customers import service
from ..customers.model import CustomerInput, CustomerStatus
from ..kernel.limits import PAGE_SIZE_DEFAULT
from ..notify import alerts
from ..resources import service as resources
from ..views import alert_view, customer_view, history_view, overview_view, transaction_view
from .context import CustomerArg, container
from .output import JsonOption, errors_as_lines, show_record, show_rows

app = typer.Typer(
    help="Create, list, show, update, freeze and adjust customers.", no_args_is_help=True
)

LIST_COLUMNS = (
    "id", "name", "currency=cur", "payment_mode=mode", "status",
    "overview.cash_balance=cash", "overview.debt=debt", "overview.expenditure_quota=quota",
)  # fmt: skip


@app.command("create")
def create(
    name: str = typer.Argument(..., help="the customer's account name (unique)"),
    currency: str = typer.Option(..., help="ISO 4217 code, e.g. USD, CNY, EUR, JPY"),
    email: str | None = typer.Option(None),
    mobile: str | None = typer.Option(None),
    payment_mode: str = typer.Option("prepaid", help="prepaid or postpaid"),
    credit_limit: str = typer.Option("0", help="post-paid credit limit, e.g. 1000.00"),
    level: int = typer.Option(1, help="customer level 1-10 (discounts, policies)"),
    timezone: str = typer.Option("UTC", help="IANA zone for monthly boundaries"),
    as_json: bool = JsonOption,
) -> None:
    """Create a customer."""
    data = CustomerInput(
        name=name,
        currency=currency,
        email=email,
        mobile=mobile,
        payment_mode=payment_mode,
        credit_limit=credit_limit,
        level=level,
        timezone=timezone,
    )
    with errors_as_lines():
        customer = container().write(lambda conn, now: service.create(conn, data, now=now))
    show_record(customer_view(customer), as_json=as_json, title="customer created")


@app.command("list")
def list_(
    status: str | None = typer.Option(None, help="active or frozen"),
    payment_mode: str | None = typer.Option(None, help="prepaid or postpaid"),
    in_arrears: bool | None = typer.Option(None, "--in-arrears/--not-in-arrears"),
    limit: int = typer.Option(PAGE_SIZE_DEFAULT),
    offset: int = typer.Option(0),
    as_json: bool = JsonOption,
) -> None:
    """List customers with their balances."""

    with errors_as_lines():
        pairs, total = container().read(
            lambda conn, _now: service.list_with_overviews(
                conn, status=status, payment_mode=payment_mode, in_arrears=in_arrears,
                limit=limit, offset=offset,
            )
        )  # fmt: skip
    rows = [customer_view(row, figures) for row, figures in pairs]
    show_rows(rows, LIST_COLUMNS, as_json=as_json, total=total, title="customers")


@app.command("show")
def show(customer_id: CustomerArg, as_json: bool = JsonOption) -> None:
    """A customer with the overview figures (balance, debt, credit, expenditure quota)."""

    def work(conn, _now):  # type: ignore[no-untyped-def]
        customer = service.get(conn, customer_id)
        return customer_view(customer, service.overview(conn, customer))

    with errors_as_lines():
        view = container().read(work)
    show_record(view, as_json=as_json)


@app.command("overview")
def overview(customer_id: CustomerArg, as_json: bool = JsonOption) -> None:
    """Just the overview figures of a customer."""
    with errors_as_lines():
        figures = container().read(
            lambda conn, _now: service.overview(conn, service.get(conn, customer_id))
        )
    show_record(overview_view(figures), as_json=as_json)


@app.command("update")
def update(
    customer_id: CustomerArg,
    name: str | None = typer.Option(None),
    email: str | None = typer.Option(None),
    mobile: str | None = typer.Option(None),
    payment_mode: str | None = typer.Option(None),
    credit_limit: str | None = typer.Option(None),
    level: int | None = typer.Option(None),
    timezone: str | None = typer.Option(None),
    as_json: bool = JsonOption,
) -> None:
    """Change a customer's profile, payment mode or credit limit."""
    given: dict[str, Any] = {
        "name": name, "email": email, "mobile": mobile, "payment_mode": payment_mode,
        "credit_limit": credit_limit, "level": level, "timezone": timezone,
    }  # fmt: skip
    changes = {k: v for k, v in given.items() if v is not None}
    with errors_as_lines():
        customer = container().write(
            lambda conn, now: service.update(conn, customer_id, changes, now=now)
        )
    show_record(customer_view(customer), as_json=as_json, title="customer updated")


def _set_status(customer_id: str, status: CustomerStatus, reason: str, as_json: bool) -> None:
    with errors_as_lines():
        customer = container().write(
            lambda conn, now: service.set_status(conn, customer_id, status, reason=reason, now=now)
        )
    show_record(customer_view(customer), as_json=as_json)


@app.command("freeze")
def freeze(
    customer_id: CustomerArg,
    reason: str = typer.Option("operator action"),
    as_json: bool = JsonOption,
) -> None:
    """Freeze a whole customer account: no operations until unfrozen."""
    _set_status(customer_id, CustomerStatus.FROZEN, reason, as_json)


@app.command("unfreeze")
def unfreeze(
    customer_id: CustomerArg,
    reason: str = typer.Option("operator action"),
    as_json: bool = JsonOption,
) -> None:
    """Unfreeze a customer account."""
    _set_status(customer_id, CustomerStatus.ACTIVE, reason, as_json)


@app.command("history")
def history(
    customer_id: CustomerArg,
    limit: int = typer.Option(PAGE_SIZE_DEFAULT),
    offset: int = typer.Option(0),
    as_json: bool = JsonOption,
) -> None:
    """Every movement of the customer's money, newest first."""
    with errors_as_lines():
        rows, total = container().read(
            lambda conn, _now: service.history(conn, customer_id, limit=limit, offset=offset)
        )
    views = [history_view(r) for r in rows]
    columns = ("created_at", "kind", "account", "change", "reference", "description")
    show_rows(views, columns, as_json=as_json, total=total, title="balance history")


@app.command("adjust")
def adjust(
    customer_id: CustomerArg,
    amount: str,
    reference: str = typer.Option(..., help="unique id of this adjustment (idempotency key)"),
    reason: str = typer.Option(..., help="why: shown in the customer's history"),
    credit: bool = typer.Option(False, "--credit/--charge", help="give money (default: charge)"),
    resource_id: str | None = typer.Option(None, "--resource", help="the resource it is for"),
    service_code: str | None = typer.Option(
        None, "--service", help="the service it is for (without --resource)"
    ),
    billing_mode: str | None = typer.Option(
        None, "--billing-mode", help="pay_per_use or yearly_monthly (without --resource)"
    ),
    as_json: bool = JsonOption,
) -> None:
    """Charge or credit a customer for services by hand (paid/applied in the normal deduction
    order). It is billed as an adjustment: deduction (charge) or compensation (credit)."""
    direction = "credit" if credit else "charge"
    with errors_as_lines():
        posted = container().write(
            lambda conn, now: service.adjust(
                conn,
                customer_id,
                amount,
                direction=direction,
                reason=reason,
                reference=reference,
                attribution=resources.attribution(
                    conn,
                    customer_id,
                    resource_id=resource_id,
                    service=service_code,
                    billing_mode=billing_mode,
                ),
                now=now,
            )
        )
    show_record(transaction_view(posted), as_json=as_json, title=f"adjustment ({direction})")


def topup(
    customer_id: CustomerArg,
    amount: str = typer.Argument(..., help="e.g. 100.00 in the customer's currency"),
    reference: str = typer.Option(..., help="payment id at your gateway (idempotency key)"),
    description: str | None = typer.Option(None),
    as_json: bool = JsonOption,
) -> None:
    """Record money received: writes off debt first, then repays unpaid fees, then cash."""
    with errors_as_lines():
        posted = container().write(
            lambda conn, now: service.topup(
                conn, customer_id, amount, reference=reference, now=now, description=description
            )
        )
    show_record(transaction_view(posted), as_json=as_json, title="top-up")


def withdraw(
    customer_id: CustomerArg,
    amount: str = typer.Argument(...),
    reference: str = typer.Option(..., help="withdrawal request id (idempotency key)"),
    as_json: bool = JsonOption,
) -> None:
    """Pay back withdrawable cash balance (refused while in arrears or frozen)."""
    with errors_as_lines():
        posted = container().write(
            lambda conn, now: service.withdraw(
                conn, customer_id, amount, reference=reference, now=now
            )
        )
    show_record(transaction_view(posted), as_json=as_json, title="withdrawal")


@app.command("alert")
def alert(
    customer_id: CustomerArg,
    on: bool | None = typer.Option(None, "--on/--off", help="switch the balance alert"),
    threshold: str | None = typer.Option(None, help="alert below this expenditure quota"),
    as_json: bool = JsonOption,
) -> None:
    """Show or set a customer's balance alert (fires once per crossing below the threshold)."""

    def work(conn, now):  # type: ignore[no-untyped-def]
        currency = service.get(conn, customer_id).currency
        if on is None and threshold is None:
            return alert_view(alerts.get(conn, customer_id), currency)
        enabled = True if on is None else on  # setting a threshold switches the alert on
        state = alerts.configure(conn, customer_id, enabled=enabled, threshold=threshold, now=now)
        return alert_view(state, currency)

    with errors_as_lines():
        view = container().write(work)
    show_record(view, as_json=as_json, title="balance alert")
