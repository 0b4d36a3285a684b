"""The console's bill overview over HTTP, on the demo data: its CSV export is the engine's
breakdown, figure for figure; a bad parameter is refused beside its field (page) or with its
code (export), and changes nothing."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from cloudbill.api.app import create_app
from cloudbill.bootstrap import Container
from cloudbill.costs import service as costs
from cloudbill.costs.views import cost_view
from cloudbill.customers import service as customers
from cloudbill.demo import DEMO_PASSWORD, seed
from cloudbill.store import clock_repo
from cloudbill.worker.jobs import run_due

from ..conftest import T0
from .test_console_security import SIGN_IN

EMAIL = "finance@corvid.example"  # the demo customer with charges on its resources


@pytest.fixture
def client(container: Container) -> Iterator[TestClient]:
    container.write(lambda conn, now: seed(conn, now=now))
    with container.db.write() as conn:  # sixteen days of usage, charged by the worker
        clock_repo.advance(conn, timedelta(days=16))
    run_due(container)
    with TestClient(create_app(container), base_url="http://127.0.0.1") as http:
        form = http.get("/console/sign-in")
        token = SIGN_IN.search(form.text).group(1)
        signed = http.post(
            "/console/sign-in",
            data={"email": EMAIL, "password": DEMO_PASSWORD, "sign_in_token": token},
            follow_redirects=False,
        )
        assert signed.status_code == 303, signed.text[:500]
        yield http


def _customer_id(c: Container) -> str:
    listed, _total = c.read(lambda conn, _now: customers.list_customers(conn, limit=50))
    return next(row.id for row in listed if row.email == EMAIL)


def _engine(c: Container, customer_id: str, **asked: Any) -> dict[str, Any]:
    report = c.read(lambda conn, _now: costs.costs(conn, customer_id, costs.query_of(**asked)))
    return cost_view(customer_id, report)


def test_the_export_is_the_engines_breakdown(container: Container, client: TestClient) -> None:
    month = T0.strftime("%Y-%m")
    asked = {"first": month, "last": month, "granularity": "month", "cost_type": "amortized"}
    answer = client.get(
        "/console/bills/overview/export.csv",
        params={**asked, "group_by": ["service", "bill_type"]},
    )
    assert answer.status_code == 200, answer.text[:500]
    assert answer.headers["content-type"].startswith("text/csv")
    assert "attachment" in answer.headers["content-disposition"]
    want = _engine(container, _customer_id(container), **asked, group_by=["service", "bill_type"])
    assert want["rows"], "the demo customer has costs in the seed's month"
    rows = list(csv.reader(io.StringIO(answer.text)))
    assert rows[0] == ["service", "bill_type", "currency", "total", month]
    body = [
        [r["group"]["service"], r["group"]["bill_type"], want["currency"], r["total"]["amount"],
         r["costs"][0]["amount"]]
        for r in want["rows"]
    ]  # fmt: skip
    total = ["total", "", want["currency"], want["total"]["amount"], want["totals"][0]["amount"]]
    assert rows[1:] == [*body, total]


def test_the_export_by_day_with_a_filter_and_no_grouping(
    container: Container, client: TestClient
) -> None:
    first, last = T0.date().isoformat(), (T0.date() + timedelta(days=20)).isoformat()
    service = _engine(
        container, _customer_id(container), first=first, last=last, granularity="day",
        group_by=["service"],
    )["rows"][0]["group"]["service"]  # fmt: skip
    answer = client.get(
        "/console/bills/overview/export.csv",
        params={"granularity": "day", "first": first, "last": last, "amount_type": "net",
                "filter_dimension": "service", "filter_values": service},
    )  # fmt: skip
    assert answer.status_code == 200, answer.text[:500]
    want = _engine(
        container, _customer_id(container), first=first, last=last, granularity="day",
        amount_type="net", filters=[costs.filter_of("service", [service])],
    )  # fmt: skip
    rows = list(csv.reader(io.StringIO(answer.text)))
    assert rows == [
        ["currency", "total", *want["labels"]],
        [want["currency"], want["total"]["amount"], *(t["amount"] for t in want["totals"])],
    ]


def test_the_export_leaving_a_service_out(container: Container, client: TestClient) -> None:
    """The form's filter as "is not one of": the API's exclude filter, the same figures."""
    first, last = T0.date().isoformat(), (T0.date() + timedelta(days=20)).isoformat()
    grouped = _engine(
        container, _customer_id(container), first=first, last=last, granularity="day",
        group_by=["service"],
    )  # fmt: skip
    left_out = grouped["rows"][0]["group"]["service"]
    answer = client.get(
        "/console/bills/overview/export.csv",
        params={"granularity": "day", "first": first, "last": last, "group_by": ["service"],
                "filter_dimension": "service", "filter_values": left_out,
                "filter_mode": "exclude"},
    )  # fmt: skip
    assert answer.status_code == 200, answer.text[:500]
    want = _engine(
        container, _customer_id(container), first=first, last=last, granularity="day",
        group_by=["service"], filters=[costs.filter_of("service", [left_out], exclude=True)],
    )  # fmt: skip
    rows = list(csv.reader(io.StringIO(answer.text)))
    services = [row[0] for row in rows[1:-1]]
    assert left_out not in services
    assert services == [r["group"]["service"] for r in want["rows"]]
    assert rows[-1][2] == want["total"]["amount"] != grouped["total"]["amount"]


@pytest.mark.parametrize(
    ("params", "field", "code"),
    [
        ({"granularity": "week"}, "granularity", "INVALID_ARGUMENT"),
        ({"granularity": "day", "first": "2026-01-01", "last": "2026-06-30"}, "first",
         "LIMIT_EXCEEDED"),
        ({"first": "2026-05", "last": "2026-04"}, "last", "INVALID_ARGUMENT"),
        ({"first": "May", "last": "2026-04"}, "first", "INVALID_ARGUMENT"),
        ({"group_by": ["colour"]}, "group_by", "INVALID_ARGUMENT"),
        ({"group_by": ["service", "service"]}, "group_by", "INVALID_ARGUMENT"),
        ({"filter_dimension": "service"}, "filter", "INVALID_ARGUMENT"),
        ({"filter_dimension": "service", "filter_values": "ecs", "filter_mode": "maybe"},
         "filter", "INVALID_ARGUMENT"),
        ({"cost_type": "cheap"}, "cost_type", "INVALID_ARGUMENT"),
    ],
)  # fmt: skip
def test_a_bad_parameter_is_refused_beside_its_field(
    client: TestClient, params: dict[str, Any], field: str, code: str
) -> None:
    page = client.get("/console/bills/overview", params=params)
    assert page.status_code in (400, 422), page.text[:500]
    assert f'id="err-{field}"' in page.text
    assert f"{code}:" in page.text.split(f'id="err-{field}"', 1)[1].split("</span>", 1)[0]
    assert 'id="cost-chart"' not in page.text  # no figures for a refused query
    export = client.get("/console/bills/overview/export.csv", params=params)
    assert 400 <= export.status_code < 500 and code in export.text
    assert not export.headers["content-type"].startswith("text/csv")
