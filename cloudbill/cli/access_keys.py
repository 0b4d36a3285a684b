"""`cloudbill access-key …`: customers' AK/SK pairs for the BSS API."""

from __future__ import annotations

import typer

from ..credentials import service
from ..credentials.sealing import SecretBox
from ..credentials.views import access_key_view, issued_key_view
from .context import CustomerArg, container
from .output import JsonOption, errors_as_lines, show_record, show_rows

app = typer.Typer(
    help="Create, list, disable, enable and delete customers' access keys (AK/SK).",
    no_args_is_help=True,
)

COLUMNS = ("access_key", "status", "description", "created_at", "updated_at")


@app.command("create")
def create(
    customer_id: CustomerArg,
    description: str | None = typer.Option(None, help="what the key is for"),
    as_json: bool = JsonOption,
) -> None:
    """Issue an AK/SK pair (at most two active). The secret key is printed this once only."""
    with errors_as_lines():
        c = container()
        box = SecretBox(c.secret_key())
        issued = c.write(
            lambda conn, now: service.create(
                conn, customer_id, box=box, now=now, description=description
            )
        )
    show_record(issued_key_view(issued), as_json=as_json, title="access key created")


@app.command("list")
def list_keys(customer_id: CustomerArg, as_json: bool = JsonOption) -> None:
    """A customer's access keys (never their secrets)."""
    with errors_as_lines():
        keys = container().read(lambda conn, _now: service.list_keys(conn, customer_id))
    rows = [access_key_view(k) for k in keys]
    title = f"access keys of {customer_id}"
    show_rows(rows, COLUMNS, as_json=as_json, total=len(rows), title=title)


def _set(access_key: str, enabled: bool, as_json: bool) -> None:
    with errors_as_lines():
        key = container().write(
            lambda conn, now: service.set_enabled(conn, access_key, enabled, now=now)
        )
    show_record(access_key_view(key), as_json=as_json)


@app.command("disable")
def disable(access_key: str = typer.Argument(...), as_json: bool = JsonOption) -> None:
    """Refuse requests signed with this key from now on (it can be enabled again)."""
    _set(access_key, False, as_json)


@app.command("enable")
def enable(access_key: str = typer.Argument(...), as_json: bool = JsonOption) -> None:
    """Accept this key again (if fewer than two keys of its customer are active)."""
    _set(access_key, True, as_json)


@app.command("delete")
def delete(access_key: str = typer.Argument(...), as_json: bool = JsonOption) -> None:
    """Delete a key for good."""
    with errors_as_lines():
        key = container().write(lambda conn, _now: service.delete(conn, access_key))
    show_record({**access_key_view(key), "deleted": True}, as_json=as_json, title="deleted")
