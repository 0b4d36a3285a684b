"""`cloudbill enterprise …`: associations of member accounts with master accounts, the
allocations of independent accounting, members' budgets. The operator's view: it associates
directly (active at once) and may act for a master."""

from __future__ import annotations

import typer

from ..customers import service as customers
from ..enterprise import allocation, budgets, service
from ..enterprise.model import Direction
from ..enterprise.views import allocation_view, association_view, controls_view, member_view
from ..kernel.limits import PAGE_SIZE_DEFAULT
from .context import CustomerArg, container
from .output import JsonOption, errors_as_lines, show_record, show_rows

app = typer.Typer(
    help="Enterprise accounts: masters, members, allocations, budgets.", no_args_is_help=True
)

ASSOCIATION_COLUMNS = ("id", "master_id", "member_id", "mode", "status", "accepted_at", "ended_at")
MEMBER_COLUMNS = ("id", "member_id", "member_name", "mode", "status", "cash_balance",
                  "credit_limit", "coupons", "in_arrears")  # fmt: skip
ALLOCATION_COLUMNS = ("id", "created_at", "member_id", "kind", "direction", "amount", "actor")
MODE_HELP = "unified (the master pays the member's fees) or independent (the member pays)"


@app.command("list")
def list_associations(
    master: str | None = typer.Option(None, help="only this master's (id or name)"),
    member: str | None = typer.Option(None, help="only this member's (id or name)"),
    status: str | None = typer.Option(None, help="invited, active, declined, cancelled, ended"),
    limit: int = typer.Option(PAGE_SIZE_DEFAULT),
    offset: int = typer.Option(0),
    as_json: bool = JsonOption,
) -> None:
    """Associations, newest first."""

    def work(conn, _now):  # type: ignore[no-untyped-def]
        return service.list_associations(
            conn,
            master_id=customers.resolve(conn, master) if master else None,
            member_id=customers.resolve(conn, member) if member else None,
            status=status, limit=limit, offset=offset,
        )  # fmt: skip

    with errors_as_lines():
        rows, total = container().read(work)
    views = [association_view(a) for a in rows]
    show_rows(views, ASSOCIATION_COLUMNS, as_json=as_json, total=total, title="associations")


@app.command("members")
def members(
    master_id: CustomerArg,
    limit: int = typer.Option(PAGE_SIZE_DEFAULT),
    offset: int = typer.Option(0),
    as_json: bool = JsonOption,
) -> None:
    """A master's members and open invitations, with their balances."""
    with errors_as_lines():
        rows, total = container().read(
            lambda conn, _now: service.members_of(conn, master_id, limit=limit, offset=offset)
        )
    views = [member_view(*row) for row in rows]
    show_rows(views, MEMBER_COLUMNS, as_json=as_json, total=total, title="members")


@app.command("associate")
def associate(
    master_id: CustomerArg,
    member_id: CustomerArg,
    mode: str = typer.Option(..., help=MODE_HELP),
    as_json: bool = JsonOption,
) -> None:
    """Associate a member with a master at once (the conditions still hold)."""
    with errors_as_lines():
        done = container().write(
            lambda conn, now: service.associate(
                conn, master_id=master_id, member_id=member_id, mode=mode, now=now
            )
        )
    show_record(association_view(done), as_json=as_json, title="associated")


@app.command("cancel")
def cancel(association_id: str, as_json: bool = JsonOption) -> None:
    """Withdraw an invitation not yet answered."""
    with errors_as_lines():
        done = container().write(
            lambda conn, now: service.cancel(conn, association_id=association_id, now=now)
        )
    show_record(association_view(done), as_json=as_json, title="invitation cancelled")


@app.command("disassociate")
def disassociate(association_id: str, as_json: bool = JsonOption) -> None:
    """End an association: refused while the member has funds, credit limit, coupons or
    arrears left (or, in unified accounting, the master has not paid)."""
    with errors_as_lines():
        done = container().write(
            lambda conn, now: service.disassociate(conn, association_id=association_id, now=now)
        )
    show_record(association_view(done), as_json=as_json, title="disassociated")


def _move(direction: Direction, association_id: str, kind: str, amount: str, request_id: str,
          coupon: str | None, as_json: bool) -> None:  # fmt: skip
    with errors_as_lines():
        moved = container().write(
            lambda conn, now: allocation.move(
                conn, association_id=association_id, kind=kind, direction=direction,
                amount=amount, request_id=request_id, coupon_id=coupon, actor="operator",
                now=now,
            )
        )  # fmt: skip
    title = f"{direction}d" + (" (replayed)" if moved.replayed else "")
    show_record(allocation_view(moved), as_json=as_json, title=title)


KIND = typer.Argument(..., help="cash, credit (limit) or coupon")
REQUEST = typer.Option(..., help="unique id of this movement (idempotency key)")
COUPON = typer.Option(None, help="kind coupon: the coupon to move (part of)")


@app.command("allocate")
def allocate(
    association_id: str,
    kind: str = KIND,
    amount: str = typer.Argument(..., help="exact decimal, e.g. 50.00"),
    request_id: str = REQUEST,
    coupon: str | None = COUPON,
    as_json: bool = JsonOption,
) -> None:
    """Allocate from the master to an independent member."""
    _move(Direction.ALLOCATE, association_id, kind, amount, request_id, coupon, as_json)


@app.command("recall")
def recall(
    association_id: str,
    kind: str = KIND,
    amount: str = typer.Argument(..., help="exact decimal, e.g. 50.00"),
    request_id: str = REQUEST,
    coupon: str | None = COUPON,
    as_json: bool = JsonOption,
) -> None:
    """Recall to the master what the member has not spent."""
    _move(Direction.RECALL, association_id, kind, amount, request_id, coupon, as_json)


@app.command("allocations")
def allocations(
    customer_id: CustomerArg,
    limit: int = typer.Option(PAGE_SIZE_DEFAULT),
    offset: int = typer.Option(0),
    as_json: bool = JsonOption,
) -> None:
    """Allocations and recalls a customer took part in (as master or member)."""
    with errors_as_lines():
        rows, total = container().read(
            lambda conn, _now: allocation.history(
                conn, customer_id, limit=limit, offset=offset, operator=True
            )
        )
    views = [allocation_view(a) for a in rows]
    show_rows(views, ALLOCATION_COLUMNS, as_json=as_json, total=total, title="allocations")


@app.command("budget")
def budget(
    association_id: str,
    amount: str | None = typer.Option(None, "--budget", help="monthly budget, e.g. 500.00"),
    clear: bool = typer.Option(False, "--clear", help="remove the budget"),
    as_json: bool = JsonOption,
) -> None:
    """Show, set or clear a member's monthly budget (alerts once a month when passed)."""
    changes: dict[str, object] = {}
    if clear:
        changes["budget"] = None
    elif amount is not None:
        changes["budget"] = amount
    with errors_as_lines():
        if changes:
            shown = container().write(
                lambda conn, now: budgets.set_controls(conn, association_id, now=now, **changes)
            )
        else:
            shown = container().read(
                lambda conn, now: budgets.controls(conn, association_id, now=now)
            )
    show_record(controls_view(shown), as_json=as_json, title="member budget")
