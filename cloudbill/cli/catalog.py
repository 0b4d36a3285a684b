"""`cloudbill catalog …`: load versions, browse, inquire prices."""

from __future__ import annotations

from pathlib import Path

import typer

from ..api.shared.catalog import catalog_summary
from ..catalog import loader, repo
from ..catalog import service as catalog_service
from ..catalog.index import CatalogIndex
from ..catalog.model import PeriodUnit
from ..customers import inquiry
from ..kernel.errors import CloudbillError, ErrorCode
from ..views import instant
from .context import container, customer_ref
from .output import JsonOption, emit_json, err_console, errors_as_lines, show_record, show_rows

app = typer.Typer(help="Load, browse and price the catalog.", no_args_is_help=True)


AllowBreaking = typer.Option(
    False, "--allow-breaking",
    help="activate even if what is in use loses its spec, price or unit: those customers are "
    "held by settlement (`cloudbill worker holds`) until a later version mends it",
)  # fmt: skip


def _show_breaks(exc: CloudbillError) -> None:
    if exc.code is ErrorCode.CATALOG_IN_USE:
        for item in exc.details.get("breaks", []):
            err_console.print(f"  breaks: {item}", highlight=False, markup=False)


@app.command("load")
def load(
    path: Path = typer.Argument(..., help="catalog YAML/JSON file"),
    activate: bool = typer.Option(True, "--activate/--no-activate"),
    allow_breaking: bool = AllowBreaking,
    as_json: bool = JsonOption,
) -> None:
    """Load a catalog file as a new version (same version + same content: no change). A
    version that drops or unprices what live resources, packages or waiting usage need is
    refused with the list (CATALOG_IN_USE)."""
    with errors_as_lines(on_error=_show_breaks):
        document = loader.read_file(path)
        result = container().write(
            lambda conn, now: catalog_service.load(
                conn,
                document,
                source=str(path),
                now=now,
                activate=activate,
                allow_breaking=allow_breaking,
            )
        )
    show_record(
        {"version": result.version, "checksum": result.checksum, "created": result.created,
         "active": activate},
        as_json=as_json, title="catalog loaded",
    )  # fmt: skip


@app.command("check")
def check(path: Path) -> None:
    """Validate a catalog file without loading it, and list what it would break if it were
    activated now (exit 2 then)."""
    with errors_as_lines(on_error=_show_breaks):
        document = loader.read_file(path)
        container().read(
            lambda conn, now: catalog_service.refuse_if_breaking(
                conn, CatalogIndex(document), now=now
            )
        )
    typer.echo(f"ok: {document.version} ({len(document.services)} services)")


@app.command("show")
def show(as_json: bool = JsonOption) -> None:
    """The active catalog: services, resource types, usage types, units, discounts."""
    with errors_as_lines():
        summary = container().read(lambda conn, _now: catalog_summary(catalog_service.active(conn)))
    if as_json:
        emit_json(summary)
        return
    rows = [
        {"service": s["code"], "name": s["name"], "resource_type": rt["code"], "specs": rt["specs"]}
        for s in summary["services"]
        for rt in s["resource_types"]
    ]
    title = f"catalog {summary['version']} ({', '.join(summary['currencies'])})"
    show_rows(rows, ("service", "name", "resource_type", "specs"), as_json=False, title=title)


@app.command("specs")
def specs(
    resource_type: str = typer.Argument(..., help="e.g. hws.resource.type.vm"),
    currency: str = typer.Option("USD"),
    as_json: bool = JsonOption,
) -> None:
    """The specs of a resource type with their prices in one currency."""
    with errors_as_lines():
        index = container().read(lambda conn, _now: catalog_service.active(conn))
        _service, rtype = index.resource_type(resource_type)
    rows = []
    for spec in rtype.specs:
        prices = spec.prices.get(currency.upper())
        ppu = prices.pay_per_use if prices else {}
        rows.append({
            "spec": spec.code,
            "name": spec.name,
            "pay_per_use": "; ".join(
                f"{usage}: {p.price if p.price is not None else f'{p.tier_mode} tiers'}/{p.unit}"
                for usage, p in ppu.items()
            ) or None,
            "monthly": str(prices.monthly) if prices and prices.monthly is not None else None,
        })  # fmt: skip
    show_rows(rows, ("spec", "name", "pay_per_use", "monthly"), as_json=as_json,
              title=f"{resource_type} in {currency.upper()}")  # fmt: skip


@app.command("versions")
def versions(as_json: bool = JsonOption) -> None:
    """Every catalog version loaded, newest first."""
    with errors_as_lines():
        rows = container().read(lambda conn, _now: repo.list_versions(conn))
    views = [
        {"version": r.version, "active": r.is_active, "loaded_at": instant(r.loaded_at),
         "source": r.source}
        for r in rows
    ]  # fmt: skip
    show_rows(views, ("version", "active", "loaded_at", "source"), as_json=as_json)


@app.command("activate")
def activate(version: str, allow_breaking: bool = AllowBreaking) -> None:
    """Make an earlier catalog version the active one (refused like `load` when it would
    break what is in use)."""
    with errors_as_lines(on_error=_show_breaks):
        container().write(
            lambda conn, now: catalog_service.activate_version(
                conn, version, now=now, allow_breaking=allow_breaking
            )
        )
    typer.echo(f"catalog {version} is active")


@app.command("price")
def price(
    resource_type: str = typer.Argument(...),
    spec: str = typer.Argument(...),
    usage_type: str = typer.Option("duration", help="pay-per-use: what is metered"),
    quantity: str = typer.Option("1", help="pay-per-use: how much"),
    unit: str | None = typer.Option(None, help="pay-per-use: unit of the quantity"),
    period: str | None = typer.Option(
        None, help="yearly/monthly instead: e.g. 1month, 6month, 1year, 3year"
    ),
    subscriptions: int = typer.Option(1, help="yearly/monthly: how many"),
    currency: str = typer.Option("USD"),
    customer_id: str | None = typer.Option(
        None, "--customer", help="apply their discounts (id or name)", callback=customer_ref
    ),
    as_json: bool = JsonOption,
) -> None:
    """Price inquiry: official price, discount and amount."""
    c = container()

    def work(conn, _now):  # type: ignore[no-untyped-def]
        if period is None:
            return inquiry.pay_per_use(
                conn,
                resource_type=resource_type,
                spec=spec,
                usage_type=usage_type,
                quantity=quantity,
                unit=unit,
                currency=currency,
                customer_id=customer_id,
            )
        count, unit_name = _period(period)
        return inquiry.period(
            conn,
            resource_type=resource_type,
            spec=spec,
            period_unit=unit_name,
            period_count=count,
            subscriptions=subscriptions,
            currency=currency,
            customer_id=customer_id,
            rounding=c.settings.bill_rounding,
        )

    with errors_as_lines():
        result = c.read(work)
    show_record(result, as_json=as_json, title="price inquiry")


def _period(text: str) -> tuple[int, PeriodUnit]:
    text = text.strip().lower()
    for unit in (PeriodUnit.MONTH, PeriodUnit.YEAR):
        for suffix in (f"{unit}s", str(unit)):
            if text.endswith(suffix) and text[: -len(suffix)].isdigit():
                return int(text[: -len(suffix)]), unit
    raise CloudbillError(ErrorCode.INVALID_ARGUMENT, f"period {text!r}: write e.g. 3month or 1year")
