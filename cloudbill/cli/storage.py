"""`cloudbill storage …`: a customer's bill storage (bill files pushed daily to its bucket)."""

from __future__ import annotations

import typer

from ..credentials.sealing import SecretBox
from ..storage import service
from ..storage.views import config_view, push_view, verify_view
from .context import CustomerArg, container
from .output import JsonOption, errors_as_lines, show_record, show_rows

app = typer.Typer(
    help="Set up, verify, switch on and off a customer's bill storage, and list its pushes.",
    no_args_is_help=True,
)

PUSH_COLUMNS = ("id", "day", "outcome", "files_written", "rows", "problem", "finished_at")
SECRET_ENV = "CLOUDBILL_STORAGE_SECRET_ACCESS_KEY"


def _box() -> SecretBox:
    return SecretBox(container().secret_key())


@app.command("configure")
def configure(
    customer_id: CustomerArg,
    endpoint_url: str = typer.Option(..., "--endpoint-url", help="e.g. https://obs.example.com"),
    region: str = typer.Option(..., help="the bucket's region"),
    bucket: str = typer.Option(..., help="the bucket's name"),
    prefix: str = typer.Option("", help="folder in the bucket the files go under"),
    access_key_id: str = typer.Option(..., "--access-key-id"),
    secret_access_key: str | None = typer.Option(
        None,
        "--secret-access-key",
        envvar=SECRET_ENV,
        help=f"better given in {SECRET_ENV} (a command line is visible to other users); "
        "omitted: the saved one is kept",
    ),
    bills: str = typer.Option(
        "expenditures,resource_bill", help="comma list: expenditures, resource_bill"
    ),
    file_format: str = typer.Option("csv", "--format", help="csv, csv.gz or parquet"),
    as_json: bool = JsonOption,
) -> None:
    """Save the bucket settings (new ones switch storage off until verified and enabled)."""
    with errors_as_lines():
        c, box = container(), _box()
        config = c.write(
            lambda conn, now: service.configure(
                conn, box, customer_id, endpoint_url=endpoint_url, region=region,
                bucket_name=bucket, prefix=prefix, access_key_id=access_key_id,
                secret_access_key=secret_access_key, bills=bills, file_format=file_format,
                now=now,
            )
        )  # fmt: skip
    show_record(config_view(config), as_json=as_json, title="bill storage saved")


@app.command("show")
def show(customer_id: CustomerArg, as_json: bool = JsonOption) -> None:
    """The settings (never the secret key) and whether storage is on."""
    with errors_as_lines():
        config = container().read(lambda conn, _now: service.get(conn, customer_id))
    show_record(config_view(config), as_json=as_json, title=f"bill storage of {customer_id}")


@app.command("verify")
def verify(customer_id: CustomerArg, as_json: bool = JsonOption) -> None:
    """Write, read back and delete a test object; a failure is one line naming the step and
    problem (exit status 2)."""
    with errors_as_lines():
        report = service.verify(container(), _box(), customer_id)
        if not report.ok:
            raise service.unverified(report)
    show_record(verify_view(report), as_json=as_json, title="bucket verified")


@app.command("enable")
def enable(customer_id: CustomerArg, as_json: bool = JsonOption) -> None:
    """Verify the bucket, then switch storage on (refused, and left off, if the check fails)."""
    with errors_as_lines():
        config = service.enable(container(), _box(), customer_id)
    show_record(config_view(config), as_json=as_json, title="bill storage on")


@app.command("disable")
def disable(customer_id: CustomerArg, as_json: bool = JsonOption) -> None:
    """Switch storage off (switched on again, it catches up the days missed)."""
    with errors_as_lines():
        config = container().write(lambda conn, now: service.disable(conn, customer_id, now=now))
    show_record(config_view(config), as_json=as_json, title="bill storage off")


@app.command("pushes")
def pushes(
    customer_id: CustomerArg,
    limit: int = typer.Option(50, min=1, max=1000, help="at most this many, newest first"),
    as_json: bool = JsonOption,
) -> None:
    """The daily pushes recorded, newest first, with their outcome."""
    with errors_as_lines():
        rows = container().read(lambda conn, _now: service.pushes(conn, customer_id, limit=limit))
    items = [push_view(r) for r in rows]
    show_rows(items, PUSH_COLUMNS, as_json=as_json, total=len(items), title="bill storage pushes")
