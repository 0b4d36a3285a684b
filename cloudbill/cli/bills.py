"""`cloudbill bill …`."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any, TextIO

import typer

from ..bills import export, service
from ..bills.model import FIGURES, Granularity
from ..bills.views import fee_view, package_use_view, summary_view, trend_view
from ..costs import service as cost_service
from ..costs.views import cost_view
from ..customers import service as customers
from ..kernel.errors import CloudbillError, ErrorCode
from ..kernel.limits import PAGE_SIZE_DEFAULT
from ..postpaid import service as postpaid
from ..views import postpaid_bill_view
from .context import CustomerArg, container
from .output import JsonOption, console, emit_json, errors_as_lines, show_record, show_rows

app = typer.Typer(help="Monthly bills, fee records, trends and CSV exports.", no_args_is_help=True)

ITEM_COLUMNS = ("bill_type", "resource_id", "service", "usage_type", "usage", "package_usage")
MONEY_COLUMNS = ("official", "discount", "amount", "coupon", "net")
FEE_COLUMNS = {
    Granularity.HOUR: ("hour_start", *ITEM_COLUMNS, *MONEY_COLUMNS, "is_late"),
    Granularity.DAY: ("day", *ITEM_COLUMNS, "records", *MONEY_COLUMNS),
    Granularity.RESOURCE: (*ITEM_COLUMNS, "records", *MONEY_COLUMNS),
}


MemberOption = typer.Option(
    None,
    "--member",
    help="an enterprise member's id: its own records only (without it, an enterprise master's "
    "bills hold its unified members' records too)",
)


@app.command("summary")
def summary(
    customer_id: CustomerArg,
    month: str = typer.Argument(..., help="YYYY-MM in the customer's time zone"),
    member: str | None = MemberOption,
    as_json: bool = JsonOption,
) -> None:
    """The month's bill (pay-per-use fees, orders, refunds, adjustments): totals and lines by
    service, resource type, billing mode and bill type."""
    c = container()
    rounding = c.settings.bill_rounding
    with errors_as_lines():
        view = summary_view(
            c.read(
                lambda conn, _now: service.monthly_summary(
                    conn, customer_id, month, rounding=rounding, member_id=member
                )
            )
        )
    if as_json:
        emit_json(view)
        return
    header = {k: v for k, v in view.items() if not k.startswith("by_") and k != "exact"}
    show_record(header, as_json=False, title=f"bill {view['month']} ({view['currency']})")
    keys = ("by_service", "by_resource_type", "by_billing_mode", "by_bill_type", "by_customer_id")
    for key in (k for k in keys if k in view):
        show_rows(_breakdown_rows(key, view), (key.removeprefix("by_"), *FIGURES), as_json=False)


def _breakdown_rows(key: str, view: dict[str, Any]) -> list[dict[str, Any]]:
    """Lines, then the rounding adjustment and the total: the printed columns add up."""
    dimension = key.removeprefix("by_")
    part = view[key]
    # A record that names no resource type (an adjustment for a service) prints as "(none)".
    lines = [{**line, dimension: line[dimension] or "(none)"} for line in part["lines"]]
    return [
        *lines,
        {dimension: "rounding adjustment", **part["rounding_adjustment"]},
        {dimension: "total", **view["total"]},
    ]


@app.command("fees")
def fees(
    customer_id: CustomerArg,
    month: str | None = typer.Option(None, help="YYYY-MM in the customer's time zone"),
    start: str | None = typer.Option(
        None, help="ISO 8601 instant (with --end, instead of --month)"
    ),
    end: str | None = typer.Option(None, help="ISO 8601 instant, exclusive"),
    by: str = typer.Option("hour", "--by", help="hour, day or resource"),
    resource_id: str | None = typer.Option(None, "--resource"),
    service_code: str | None = typer.Option(None, "--service"),
    usage_type: str | None = typer.Option(None, "--usage-type"),
    billing_mode: str | None = typer.Option(
        None, "--billing-mode", help="pay_per_use or yearly_monthly"
    ),
    bill_type: str | None = typer.Option(
        None,
        "--bill-type",
        help="e.g. usage, renewal, or a category: consumption, refund, adjustment",
    ),
    limit: int = typer.Option(PAGE_SIZE_DEFAULT),
    offset: int = typer.Option(0),
    member: str | None = MemberOption,
    as_json: bool = JsonOption,
) -> None:
    """Fee records (hourly fees, order payments and refunds, adjustments) one by one, or summed
    per resource and day, or per resource."""
    with errors_as_lines():
        rows, total = container().read(
            lambda conn, _now: service.fee_records(
                conn, customer_id, month=month, start=start, end=end, resource_id=resource_id,
                service=service_code, usage_type=usage_type, billing_mode=billing_mode,
                bill_type=bill_type, granularity=by, limit=limit, offset=offset,
                member_id=member,
            )
        )  # fmt: skip
    views = [fee_view(r) for r in rows]
    columns = FEE_COLUMNS[Granularity(by)]
    show_rows(views, columns, as_json=as_json, total=total, title=f"fee records by {by}")


@app.command("packages")
def packages(
    customer_id: CustomerArg,
    package_id: str | None = typer.Option(None, "--package"),
    month: str | None = typer.Option(None, help="YYYY-MM in the customer's time zone"),
    limit: int = typer.Option(PAGE_SIZE_DEFAULT),
    offset: int = typer.Option(0),
    as_json: bool = JsonOption,
) -> None:
    """What the customer's resource packages covered, hour by hour."""
    with errors_as_lines():
        rows, total = container().read(
            lambda conn, _now: service.package_usage_records(
                conn, customer_id, package_id=package_id, month=month, limit=limit, offset=offset
            )
        )
    columns = (
        "hour_start",
        "package_name",
        "resource_id",
        "usage_type",
        "quantity",
        "pricing_unit",
    )
    views = [package_use_view(r) for r in rows]
    show_rows(views, columns, as_json=as_json, total=total, title="package usage")


@app.command("trend")
def trend(
    customer_id: CustomerArg,
    months: int = typer.Option(6, help="how many months, ending with the current one"),
    member: str | None = MemberOption,
    as_json: bool = JsonOption,
) -> None:
    """Amount and net amount of the last N months (the overview page's expenditure trend)."""
    c = container()
    rounding = c.settings.bill_rounding
    with errors_as_lines():
        result = c.read(
            lambda conn, now: service.expenditure_trend(
                conn, customer_id, months=months, now=now, rounding=rounding, member_id=member
            )
        )
    view = trend_view(customer_id, result)
    columns = ("month", "amount", "net_amount")
    show_rows(
        view["months"], columns, as_json=as_json, title="expenditure trend", payload=lambda: view
    )


@app.command("costs")
def costs(
    customer_id: CustomerArg,
    first: str = typer.Argument(..., help="YYYY-MM-DD (--by day) or YYYY-MM (--by month)"),
    last: str = typer.Argument(..., help="the last day or month, included"),
    by: str = typer.Option("month", "--by", help="day (at most 90 days) or month (at most 18)"),
    cost_type: str = typer.Option("original", help="original or amortized"),
    amount_type: str = typer.Option("amount", help="amount (amount due) or net"),
    group_by: list[str] = typer.Option([], help="a dimension; at most twice"),
    include: list[str] = typer.Option([], help="dimension=value[,value...]"),
    exclude: list[str] = typer.Option([], help="dimension=value[,value...]"),
    as_json: bool = JsonOption,
) -> None:
    """Original or amortized costs by day or month, grouped and filtered (README, Cost analysis)."""
    with errors_as_lines():
        query = cost_service.query_of(
            first=first, last=last, granularity=by, cost_type=cost_type,
            amount_type=amount_type, group_by=group_by,
            filters=cost_service.filters_of_text(include, exclude),
        )  # fmt: skip
        report = container().read(lambda conn, _now: cost_service.costs(conn, customer_id, query))
    view = cost_view(customer_id, report)
    # one line per group and bucket with a cost (the JSON carries every bucket, zeros too)
    rows = [
        {**row["group"], "period": cost["label"], "amount": cost["amount"]}
        for row in view["rows"]
        for cost in row["costs"]
        if Decimal(cost["amount"])
    ]
    title = f"{view['cost_type']} costs ({view['amount_type']}, {view['currency']})"
    columns = (*view["group_by"], "period", "amount")
    show_rows(rows, columns, as_json=as_json, title=title, payload=lambda: view)


@app.command("postpaid")
def postpaid_bills(customer_id: CustomerArg, as_json: bool = JsonOption) -> None:
    """Post-paid monthly bills: amount, due date, outstanding (oldest repaid first), status."""
    with errors_as_lines():

        def read(conn, now):  # type: ignore[no-untyped-def]
            customer = customers.get(conn, customer_id)
            bills = postpaid.views(conn, customer.id, now=now)
            return {"customer_id": customer.id, "bills": [postpaid_bill_view(b) for b in bills]}

        view = container().read(read)
    columns = ("bill_id", "period_start", "period_end", "amount", "outstanding", "due_at", "status")
    show_rows(
        view["bills"], columns, as_json=as_json, title="post-paid bills", payload=lambda: view
    )


@app.command("export")
def export_csv(
    customer_id: CustomerArg,
    month: str = typer.Argument(..., help="YYYY-MM in the customer's time zone"),
    out: Path | None = typer.Option(None, "--out", help="file to write (default: stdout)"),
    member: str | None = MemberOption,
) -> None:
    """Every fee record of the month as CSV (exact decimal amounts)."""

    def work(conn, _now):  # type: ignore[no-untyped-def]
        if out is None:
            return export.export_month_csv(conn, customer_id, month, sys.stdout, member_id=member)
        return _write_file(
            out,
            lambda handle: export.export_month_csv(
                conn, customer_id, month, handle, member_id=member
            ),
        )

    with errors_as_lines():
        written = container().read(work)
    if out is not None:
        console.print(f"wrote {written} fee record(s) to {out}", highlight=False, soft_wrap=True)


def _write_file(path: Path, write: Callable[[TextIO], int]) -> int:
    """Write through a temporary sibling and rename: a failed export leaves no partial file."""
    tmp = path.with_name(f".{path.name}.partial")
    try:
        with tmp.open("w", encoding="utf-8", newline="") as handle:
            written = write(handle)
        os.replace(tmp, path)
    except OSError as exc:
        raise CloudbillError(
            ErrorCode.INVALID_ARGUMENT, f"cannot write {path}: {exc.strerror or exc}"
        ) from None
    finally:
        tmp.unlink(missing_ok=True)
    return written
