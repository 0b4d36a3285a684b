"""`cloudbill user …`: the people who sign in to the web console: customers' users (admin or
viewer) and the provider's operator users."""

from __future__ import annotations

import sys

import typer

from ..customers import service as customers
from ..users import service
from ..users.model import UserKind
from ..users.views import new_user_view, user_view
from .context import container
from .output import JsonOption, errors_as_lines, fail, show_record, show_rows

app = typer.Typer(
    help="Console users: add (with a password or an invitation), list, set a password, "
    "change the role, disable, enable, delete.",
    no_args_is_help=True,
)

COLUMNS = ("email", "name", "role", "status", "customer_id", "last_sign_in_at")
CustomerOption = typer.Option(
    None, "--customer", help="the customer (id or name) of a customer user"
)
OperatorOption = typer.Option(False, "--operator", help="an operator user (the operator console)")


def _kind(customer: str | None, operator: bool) -> UserKind:
    if operator == (customer is not None):
        fail("say whose user it is: --customer ID, or --operator")
    return UserKind.OPERATOR if operator else UserKind.CUSTOMER


def _password(from_stdin: bool) -> str | None:
    """A password from standard input (never an argument: it would sit in the shell history
    and the process list)."""
    if not from_stdin:
        return None
    return sys.stdin.readline().rstrip("\r\n")


def _customer_id(ref: str | None) -> str | None:
    if ref is None:
        return None
    return container().read(lambda conn, _now: customers.resolve(conn, ref))


@app.command("add")
def add(
    email: str = typer.Argument(..., help="the user's email address (its sign-in name)"),
    customer: str | None = CustomerOption,
    operator: bool = OperatorOption,
    role: str = typer.Option("admin", help="admin (sees and changes) or viewer (only sees)"),
    name: str | None = typer.Option(None, help="shown name (default: the address's local part)"),
    password_stdin: bool = typer.Option(
        False,
        "--password-stdin",
        help="read the password from standard input; without it the "
        "user is invited and the invitation link is printed once",
    ),
    as_json: bool = JsonOption,
) -> None:
    """Add a console user, active with a password or invited to choose one."""
    kind = _kind(customer, operator)
    with errors_as_lines():
        customer_id = _customer_id(customer)
        secret = _password(password_stdin)
        c = container()
        wall = c.wall.now()
        made = c.write(
            lambda conn, _now: service.create(
                conn,
                kind=kind,
                customer_id=customer_id,
                email=email,
                name=name,
                role=role,
                password=secret,
                actor="cli",
                now=wall,
            )
        )
    root = "/operator/console" if kind is UserKind.OPERATOR else "/console"
    title = "user invited (the invitation is shown this once)" if made.invitation else "user added"
    show_record(new_user_view(made, root), as_json=as_json, title=title)


@app.command("list")
def list_users(
    customer: str | None = CustomerOption,
    operator: bool = OperatorOption,
    as_json: bool = JsonOption,
) -> None:
    """A customer's users, or the operator users."""
    kind = _kind(customer, operator)
    with errors_as_lines():
        customer_id = _customer_id(customer)
        found = container().read(lambda conn, _now: service.list_users(conn, kind, customer_id))
    rows = [user_view(u) for u in found]
    show_rows(rows, COLUMNS, as_json=as_json, total=len(rows), title="console users")


def _change(email: str, operator: bool, as_json: bool, **change: object) -> None:
    kind = UserKind.OPERATOR if operator else UserKind.CUSTOMER
    with errors_as_lines():
        c = container()
        wall = c.wall.now()

        def work(conn, _now):  # type: ignore[no-untyped-def]
            user = service.by_email(conn, kind, email)
            if change.get("delete"):
                service.delete(conn, user, actor="cli", now=wall)
                return {**user_view(user), "deleted": True}
            if "password" in change:
                return user_view(
                    service.set_password(conn, user, str(change["password"]), actor="cli", now=wall)
                )
            return user_view(
                service.update(
                    conn,
                    user,
                    role=change.get("role"),  # type: ignore[arg-type]
                    enabled=change.get("enabled"),  # type: ignore[arg-type]
                    actor="cli",
                    now=wall,
                )
            )

        shown = c.write(work)
    show_record(shown, as_json=as_json)


@app.command("set-password")
def set_password(email: str, operator: bool = OperatorOption, as_json: bool = JsonOption) -> None:
    """A new password, read from standard input; the user's sessions end and a lock lifts."""
    secret = _password(True)
    _change(email, operator, as_json, password=secret)


@app.command("role")
def set_role(
    email: str,
    role: str = typer.Argument(..., help="admin or viewer"),
    operator: bool = OperatorOption,
    as_json: bool = JsonOption,
) -> None:
    """Make a user an admin or a viewer."""
    _change(email, operator, as_json, role=role)


@app.command("disable")
def disable(email: str, operator: bool = OperatorOption, as_json: bool = JsonOption) -> None:
    """Stop a user signing in; its sessions end at once."""
    _change(email, operator, as_json, enabled=False)


@app.command("enable")
def enable(email: str, operator: bool = OperatorOption, as_json: bool = JsonOption) -> None:
    _change(email, operator, as_json, enabled=True)


@app.command("delete")
def delete(email: str, operator: bool = OperatorOption, as_json: bool = JsonOption) -> None:
    """Delete a user for good (the last active admin stays)."""
    _change(email, operator, as_json, delete=True)
