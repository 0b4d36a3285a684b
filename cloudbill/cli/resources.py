"""`cloudbill resource …`."""

from __future__ import annotations

from datetime import datetime, timedelta

import typer

from ..kernel.limits import PAGE_SIZE_DEFAULT
from ..kernel.periods import parse_instant
from ..resources import service
from ..resources.model import ResourceInput
from ..views import resource_view, status_change_view
from .context import container, customer_ref
from .output import JsonOption, errors_as_lines, show_record, show_rows

app = typer.Typer(help="Register, list, show and release resources.", no_args_is_help=True)

COLUMNS = ("id", "customer_id", "service", "spec", "billing_mode", "status", "name")


@app.command("register")
def register(
    customer_id: str = typer.Option(..., "--customer", callback=customer_ref),
    resource_type: str = typer.Option(..., "--type", help="e.g. hws.resource.type.vm"),
    spec: str = typer.Option(..., help="e.g. s6.large.2"),
    region: str = typer.Option(..., help="e.g. ap-southeast-1"),
    name: str = typer.Option(...),
    billing_mode: str = typer.Option("pay_per_use", help="pay_per_use or yearly_monthly"),
    resource_id: str | None = typer.Option(None, "--id", help="your own id for it"),
    parent_id: str | None = typer.Option(None, "--parent", help="e.g. the cluster of an EIP"),
    expire_at: str | None = typer.Option(None, help="yearly/monthly: ISO 8601 expiry"),
    created_at: str | None = typer.Option(
        None, help="pay-per-use: ISO 8601 instant it was created, if before now"
    ),
    as_json: bool = JsonOption,
) -> None:
    """Register a resource a customer owns (pay-per-use: refused while in arrears)."""
    with errors_as_lines():
        expiry: datetime | None = parse_instant(expire_at) if expire_at else None
        creation: datetime | None = parse_instant(created_at) if created_at else None
        data = ResourceInput(
            customer_id=customer_id, resource_type=resource_type, spec=spec,
            billing_mode=billing_mode, region=region, name=name, id=resource_id,
            parent_id=parent_id, expire_at=expiry, created_at=creation,
        )  # fmt: skip
        c = container()
        horizon = timedelta(days=c.settings.usage_horizon_days)
        resource, created = c.write(
            lambda conn, now: service.register(conn, data, now=now, horizon=horizon)
        )
    title = "resource registered" if created else "resource already registered"
    show_record(resource_view(resource), as_json=as_json, title=title)


@app.command("list")
def list_(
    customer_id: str | None = typer.Option(None, "--customer", callback=customer_ref),
    status: str | None = typer.Option(None, help="normal, grace, frozen or released"),
    billing_mode: str | None = typer.Option(None),
    service_code: str | None = typer.Option(None, "--service"),
    parent_id: str | None = typer.Option(None, "--parent"),
    limit: int = typer.Option(PAGE_SIZE_DEFAULT),
    offset: int = typer.Option(0),
    as_json: bool = JsonOption,
) -> None:
    """List resources."""
    with errors_as_lines():
        rows, total = container().read(
            lambda conn, _now: service.list_resources(
                conn,
                customer_id=customer_id,
                status=status,
                billing_mode=billing_mode,
                service=service_code,
                parent_id=parent_id,
                limit=limit,
                offset=offset,
            )
        )
    show_rows([resource_view(r) for r in rows], COLUMNS, as_json=as_json, total=total)


@app.command("show")
def show(resource_id: str, as_json: bool = JsonOption) -> None:
    """A resource and its status history."""

    def work(conn, _now):  # type: ignore[no-untyped-def]
        view = resource_view(service.get(conn, resource_id))
        view["history"] = [status_change_view(h) for h in service.history(conn, resource_id)]
        return view

    with errors_as_lines():
        view = container().read(work)
    show_record(view, as_json=as_json)
    if not as_json:
        show_rows(view["history"], ("at", "from", "to", "reason"), as_json=False, title="history")


@app.command("change-spec")
def change_spec(resource_id: str, spec: str, as_json: bool = JsonOption) -> None:
    """Give a pay-per-use resource a new spec from now on (a yearly/monthly one changes its
    spec with `cloudbill order change`)."""
    with errors_as_lines():
        resource = container().write(
            lambda conn, now: service.change_spec(conn, resource_id, spec, now=now)
        )
    show_record(resource_view(resource), as_json=as_json, title="spec changed")


@app.command("release")
def release(
    resource_id: str,
    reason: str = typer.Option("released by the operator"),
    as_json: bool = JsonOption,
) -> None:
    """Release (delete) a resource for good."""
    with errors_as_lines():
        resource = container().write(
            lambda conn, now: service.release(conn, resource_id, reason=reason, now=now)
        )
    show_record(resource_view(resource), as_json=as_json, title="resource released")
