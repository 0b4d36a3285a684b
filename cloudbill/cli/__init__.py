"""The `cloudbill` command line. It works on the same database as the server."""

from __future__ import annotations

import os
import sys

import typer

from .. import __version__
from ..observe import logs
from ..store.busy import busy_error
from . import (
    access_keys,
    benefits,
    bills,
    catalog,
    customers,
    enterprise,
    invoices,
    notices,
    orders,
    resources,
    storage,
    system,
    usage,
    users,
    webhooks,
    worker,
)

app = typer.Typer(
    help="cloudbill: an open-source cloud billing center.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"cloudbill {__version__}")
        raise typer.Exit()


@app.callback()
def _every_command(
    version: bool = typer.Option(
        False, "--version", is_eager=True, callback=_print_version, help="print the version"
    ),
) -> None:
    """cloudbill: an open-source cloud billing center."""
    # A command's answer is its output; its log (stderr) carries warnings and errors only.
    # `serve` and `worker run` log at CLOUDBILL_LOG_LEVEL (they configure again).
    logs.configure("warning", _log_format())


app.command("serve")(system.serve)
app.command("migrate")(system.migrate)
app.add_typer(system.token_app, name="token")
app.command("verify")(system.verify)
app.command("topup")(customers.topup)
app.command("withdraw")(customers.withdraw)
app.add_typer(customers.app, name="customer")
app.add_typer(catalog.app, name="catalog")
app.add_typer(resources.app, name="resource")
app.add_typer(orders.order_app, name="order")
app.add_typer(orders.subscription_app, name="subscription")
app.add_typer(usage.app, name="usage")
app.add_typer(worker.app, name="worker")
app.add_typer(webhooks.app, name="webhooks")
app.add_typer(notices.app, name="notices")
app.add_typer(benefits.package_app, name="package")
app.add_typer(benefits.coupon_app, name="coupon")
app.add_typer(bills.app, name="bill")
app.add_typer(invoices.app, name="invoice")
app.add_typer(system.clock_app, name="clock")
app.add_typer(system.config_app, name="config")
app.add_typer(access_keys.app, name="access-key")
app.add_typer(users.app, name="user")
app.add_typer(storage.app, name="storage")
app.add_typer(enterprise.app, name="enterprise")


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:
        refusal = busy_error(exc)  # anywhere, e.g. an argument looked up while SQLite is locked
        if refusal is not None:
            sys.stderr.write(f"error: {refusal.code}: {refusal.message}\n")
            sys.exit(2)
        sys.stderr.write(f"error: unexpected {type(exc).__name__}: {exc}\n")
        sys.exit(1)


def _log_format() -> str:
    value = os.environ.get("CLOUDBILL_LOG_FORMAT", "text")
    return value if value in logs.FORMATS else "text"
