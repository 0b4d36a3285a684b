"""The bill overview behind the Overview's View Bill: the totals of the last 18 months, the cost
trend by month or day grouped by up to two dimensions and filtered, its breakdown table and
the table as CSV. Every figure is the customer API's GET /costs answer (the cost engine's).

The form is a GET: its fields are the query parameters, so the page works without JavaScript
and a view can be bookmarked. Changing the granularity starts from that granularity's default
range (the last 18 months by month, the last 30 days by day), since a month range is not a day
range."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response

from ...api.shared import costs as shared_costs
from ...bootstrap import Container
from ...costs.model import AmountType, CostType, Dimension, Granularity
from ...kernel.errors import CloudbillError, ErrorCode
from ...kernel.limits import COSTS_GROUP_BY_MAX, COSTS_MONTHS_MAX
from ...kernel.periods import add_months, zone
from ..web import Page, Shown, SignedIn, _, container_of, render, signed_in
from .common import account_of

router = APIRouter()
DAYS_SHOWN = 30  # the default range by day: the last 30 days, today included
FILTER_MODES = ("include", "exclude")  # the API's include / exclude filters


@dataclass(frozen=True, slots=True)
class Asked:
    """The form's fields as sent (shown back in the form, carried by the export link)."""

    granularity: str
    first: str
    last: str
    cost_type: str
    amount_type: str
    group_by: tuple[str, ...]
    filter_dimension: str
    filter_values: str
    filter_mode: str = "include"  # include: "is one of"; exclude: "is not one of"

    def query_params(self) -> dict[str, Any]:
        return {
            "granularity": self.granularity,
            "first": self.first,
            "last": self.last,
            "cost_type": self.cost_type,
            "amount_type": self.amount_type,
            "group_by": list(self.group_by),
            "filter_dimension": self.filter_dimension,
            "filter_values": self.filter_values,
            "filter_mode": self.filter_mode,
        }


def _today(c: Container, tz: str) -> date:
    return c.now().astimezone(zone(tz)).date()


def _default_range(granularity: str, today: date) -> tuple[str, str]:
    if granularity == Granularity.DAY:
        return (today - timedelta(days=DAYS_SHOWN - 1)).isoformat(), today.isoformat()
    first = add_months(today.replace(day=1), 1 - COSTS_MONTHS_MAX)
    return first.strftime("%Y-%m"), today.strftime("%Y-%m")


def _asked(
    c: Container,
    tz: str,
    *,
    granularity: str,
    was: str,
    first: str,
    last: str,
    cost_type: str,
    amount_type: str,
    group_by: list[str],
    filter_dimension: str,
    filter_values: str,
    filter_mode: str = "",
) -> Asked:
    """What the form asks, with the defaults filled in (a range left empty, or one of the
    granularity the form showed before it was changed)."""
    granularity = granularity.strip() or Granularity.MONTH.value
    first, last = first.strip(), last.strip()
    if not (first and last) or (was and was != granularity):
        first, last = _default_range(granularity, _today(c, tz))
    return Asked(
        granularity, first, last, cost_type.strip() or CostType.ORIGINAL.value,
        amount_type.strip() or AmountType.AMOUNT.value,
        tuple(g.strip() for g in group_by if g.strip()),
        filter_dimension.strip(), filter_values.strip(), filter_mode.strip() or FILTER_MODES[0],
    )  # fmt: skip


def _report(c: Container, customer_id: str, a: Asked) -> dict[str, Any]:
    """The customer API's GET /costs answer for the form (refused with the field it is
    about): the form's one filter is its `dimension=value,value` text, kept (include) or left
    out (exclude)."""
    if a.filter_mode not in FILTER_MODES:
        raise CloudbillError(
            ErrorCode.INVALID_ARGUMENT,
            f"filter mode: one of {', '.join(FILTER_MODES)}",
            field="filter",
        )
    chosen: list[str] = []
    if a.filter_dimension or a.filter_values:
        values = ",".join(v.strip() for v in a.filter_values.split(",") if v.strip())
        chosen.append(f"{a.filter_dimension}={values}")
    include, exclude = (chosen, []) if a.filter_mode == "include" else ([], chosen)
    params = shared_costs.CostParams(
        a.first, a.last, a.granularity, a.cost_type, a.amount_type, list(a.group_by), include,
        exclude,
    )  # fmt: skip
    return shared_costs.costs(c, customer_id, params)


def last_18_months(c: Container, customer_id: str, tz: str, cost_type: str) -> dict[str, Any]:
    """Amount and net amount of each of the last 18 months (this one included)."""
    first, last = _default_range(Granularity.MONTH.value, _today(c, tz))
    if cost_type not in {str(t) for t in CostType}:
        cost_type = CostType.ORIGINAL.value  # the form's own refusal is shown beside its field

    def month_totals(amount_type: str) -> dict[str, Any]:
        asked = Asked(Granularity.MONTH.value, first, last, cost_type, amount_type, (), "", "")
        return _report(c, customer_id, asked)

    amount, net = month_totals(AmountType.AMOUNT.value), month_totals(AmountType.NET.value)
    months = [
        {"month": a["label"], "amount": a["amount"], "net_amount": n["amount"]}
        for a, n in zip(amount["totals"], net["totals"], strict=True)
    ]
    total = {"amount": amount["total"]["amount"], "net_amount": net["total"]["amount"]}
    return {"cost_type": cost_type, "months": months, "total": total}


def _chart(request: Request, view: dict[str, Any]) -> str:
    """The trend's data for the chart script (plotted only: the table holds the figures)."""
    series = [
        {
            "name": " / ".join(row["group"].values()) or _(request, "Total"),
            "values": [cost["amount"] for cost in row["costs"]],
        }
        for row in view["rows"]
    ]
    chart = {"currency": view["currency"], "labels": view["labels"], "series": series}
    return json.dumps(chart).replace("<", "\\u003c")


def _form_args(
    granularity: str = Query("", max_length=16),
    was: str = Query("", max_length=16),
    first: str = Query("", max_length=16),
    last: str = Query("", max_length=16),
    cost_type: str = Query("", max_length=16),
    amount_type: str = Query("", max_length=16),
    group_by: list[str] = Query([], max_length=COSTS_GROUP_BY_MAX),
    filter_dimension: str = Query("", max_length=32),
    filter_values: str = Query("", max_length=2000),
    filter_mode: str = Query("", max_length=16),
) -> dict[str, Any]:
    return {
        "granularity": granularity, "was": was, "first": first, "last": last,
        "cost_type": cost_type, "amount_type": amount_type, "group_by": group_by,
        "filter_dimension": filter_dimension, "filter_values": filter_values,
        "filter_mode": filter_mode,
    }  # fmt: skip


@router.get("/bills/overview", response_class=HTMLResponse)
def bill_overview(
    request: Request, form: dict[str, Any] = Depends(_form_args), who: SignedIn = Depends(signed_in)
) -> Response:
    c = container_of(request)
    account = account_of(c, who)
    asked = _asked(c, account["tz"], **form)
    shown, view = Shown(), None
    try:
        view = _report(c, who.customer_id, asked)
    except CloudbillError as error:
        shown = Shown.refused(error, "form")
    page = Page(request, who, "Bill overview", nav="bills", shown=shown)
    return render(
        request,
        "bill_overview.html",
        page,
        asked=asked,
        view=view,
        chart_json=_chart(request, view) if view else "",
        recent=last_18_months(c, who.customer_id, account["tz"], asked.cost_type),
        export_url=page.url("/bills/overview/export.csv", **asked.query_params()),
        granularities=[str(g) for g in Granularity],
        cost_types=[str(t) for t in CostType],
        amount_types=[str(t) for t in AmountType],
        dimensions=[str(d) for d in Dimension],
        filter_modes=FILTER_MODES,
        month=None,
        **account,
    )


@router.get("/bills/overview/export.csv")
def bill_overview_export(
    request: Request, form: dict[str, Any] = Depends(_form_args), who: SignedIn = Depends(signed_in)
) -> Response:
    """The breakdown table as CSV: a row per group, its total, then each period's cost (exact
    decimals); the last row the totals. A bad parameter is refused like the page's form."""
    c = container_of(request)
    asked = _asked(c, account_of(c, who)["tz"], **form)
    view = _report(c, who.customer_id, asked)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    dimensions = view["group_by"]
    writer.writerow([*dimensions, "currency", "total", *view["labels"]])
    # Without a group-by the one row is the total: only the totals row is written.
    for row in view["rows"] if dimensions else []:
        writer.writerow(
            [*(row["group"][d] for d in dimensions), view["currency"], row["total"]["amount"],
             *(cost["amount"] for cost in row["costs"])]
        )  # fmt: skip
    marker = ["total"] + [""] * (len(dimensions) - 1) if dimensions else []
    writer.writerow(
        [*marker, view["currency"], view["total"]["amount"],
         *(t["amount"] for t in view["totals"])]
    )  # fmt: skip
    name = f"costs-{view['cost_type']}-{view['amount_type']}-{view['first']}-{view['last']}.csv"
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
