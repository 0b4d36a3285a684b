"""A cost report as JSON-ready data (customer API, operator API, CLI, console): exact decimal
text, every bucket of the range, rows largest first."""

from __future__ import annotations

from typing import Any

from ..views import money
from .model import CostReport, Figure


def _figure(f: Figure, currency: str) -> dict[str, str]:
    return {
        "amount": money(f.amount_units, currency),
        "official": money(f.official_units, currency),
    }


def cost_view(customer_id: str, report: CostReport) -> dict[str, Any]:
    q, currency = report.query, report.currency
    dimensions = [str(d) for d in q.group_by]
    totals = report.totals
    return {
        "customer_id": customer_id,
        "currency": currency,
        "timezone": report.timezone,
        "first": q.first.isoformat(),
        "last": q.last.isoformat(),
        "granularity": str(q.granularity),
        "cost_type": str(q.cost_type),
        "amount_type": str(q.amount_type),
        "group_by": dimensions,
        "filters": [
            {"dimension": str(f.dimension), "values": list(f.values), "exclude": f.exclude}
            for f in q.filters
        ],
        "labels": list(report.labels),
        "totals": [{"label": label, **_figure(totals[label], currency)} for label in report.labels],
        "total": _figure(report.total, currency),
        "rows": [
            {
                "group": dict(zip(dimensions, row.key, strict=True)),
                "costs": [
                    {"label": label, **_figure(row.buckets.get(label, Figure()), currency)}
                    for label in report.labels
                ],
                "total": _figure(row.total, currency),
            }
            for row in report.rows
        ],
    }
