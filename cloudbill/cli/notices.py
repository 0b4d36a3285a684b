"""`cloudbill notices …`: customer notices by email and SMS, and their templates."""

from __future__ import annotations

import typer

from ..kernel.errors import CloudbillError, ErrorCode
from ..kernel.limits import PAGE_SIZE_DEFAULT
from ..notify import customer_notices
from ..notify.notices import operator, templates
from .context import container, customer_ref
from .output import JsonOption, emit_json, errors_as_lines, fail, show_record, show_rows

app = typer.Typer(
    help="Customer notices (email, SMS): inspect, retry, deliver; check templates.",
    no_args_is_help=True,
)

COLUMNS = ("id", "customer_id", "kind", "channel", "recipient", "status", "attempts", "last_error")


@app.command("list")
def list_notices(
    customer: str | None = typer.Option(
        None, "--customer", help="a customer id or name", callback=customer_ref
    ),
    status: str | None = typer.Option(None, help="pending, sent, dead or skipped"),
    channel: str | None = typer.Option(None, help="email or sms"),
    limit: int = typer.Option(PAGE_SIZE_DEFAULT, help="rows per page"),
    offset: int = typer.Option(0, help="rows to skip"),
    as_json: bool = JsonOption,
) -> None:
    """Notices, newest first."""
    with errors_as_lines():
        total, rows = container().read(
            lambda conn, _now: operator.list_notices(
                conn,
                customer_id=customer,
                status=status,
                channel=channel,
                limit=limit,
                offset=offset,
            )
        )
    show_rows([operator.view(r) for r in rows], COLUMNS, as_json=as_json, total=total)


@app.command("show")
def show(notice_id: int, as_json: bool = JsonOption) -> None:
    """One notice with its text and every delivery attempt."""

    def work(conn, _now):  # type: ignore[no-untyped-def]
        return operator.view(operator.get(conn, notice_id), operator.attempts(conn, notice_id))

    with errors_as_lines():
        view = container().read(work)
    if as_json:
        emit_json(view)
        return
    log = view.pop("attempt_log")
    show_record(view, as_json=False)
    show_rows(log, ("attempt", "at", "error"), as_json=False, title="attempts")


@app.command("retry")
def retry(notice_id: int) -> None:
    """Send a dead notice again from its first attempt (re-rendered if its template failed), or
    a skipped one once its channel is configured and the customer has an address for it."""
    c = container()
    with errors_as_lines():
        c.write(lambda conn, now: operator.retry(conn, notice_id, c.settings, now=now))
    typer.echo(f"notice {notice_id} will be sent again")


@app.command("deliver")
def deliver(as_json: bool = JsonOption) -> None:
    """Turn new events and due reminders into notices and send what is due (the worker's job)."""
    with errors_as_lines():
        report = customer_notices.run_due(container())
    d = report.delivery
    figures = {"events_read": report.events_read, "enqueued": report.enqueued}
    show_record(figures | {"sent": d.sent, "failed": d.failed, "dead": d.dead}, as_json=as_json)


@app.command("templates")
def list_templates(as_json: bool = JsonOption) -> None:
    """Every template file, and whether CLOUDBILL_NOTICE_TEMPLATES_DIR replaces it."""
    rows = templates.overrides(container().settings.notice_templates_dir)
    show_rows(rows, ("template", "overridden"), as_json=as_json, total=len(rows))


@app.command("preview")
def preview(kind: str, as_json: bool = JsonOption) -> None:
    """Render the subject, email and SMS of KIND with sample data (check an edited template).
    A broken template: one line and exit status 1."""
    settings = container().settings
    try:
        texts = templates.preview(kind, override_dir=settings.notice_templates_dir)
    except CloudbillError as exc:
        fail(f"{exc.code}: {exc.message}", code=1 if exc.code == ErrorCode.TEMPLATE_INVALID else 2)
    if as_json:
        emit_json(texts)
        return
    typer.echo(f"Subject: {texts['subject']}\n\n{texts['email']}\n--- SMS ---\n{texts['sms']}")
