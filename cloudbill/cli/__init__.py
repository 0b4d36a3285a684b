"""The `cloudbill` command line. It works on the same database as the server."""

from __future__ import annotations

import sys

import typer

from . import (
    access_keys,
    benefits,
    bills,
    catalog,
    customers,
    notices,
    orders,
    resources,
    system,
    usage,
    webhooks,
    worker,
)

app = typer.Typer(
    help="cloudbill: an open-source cloud billing center.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.command("serve")(system.serve)
app.command("migrate")(system.migrate)
app.command("token")(system.token)
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
app.add_typer(system.clock_app, name="clock")
app.add_typer(access_keys.app, name="access-key")


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:
        sys.stderr.write(f"error: unexpected {type(exc).__name__}: {exc}\n")
        sys.exit(1)
