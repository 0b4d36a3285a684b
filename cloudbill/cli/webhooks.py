"""`cloudbill webhooks …`: provider event delivery."""

from __future__ import annotations

import typer

from ..notify import webhooks
from ..notify.signing import new_secret
from ..views import instant
from .context import container
from .output import JsonOption, errors_as_lines, fail, show_record, show_rows

app = typer.Typer(help="Deliver, inspect and reconcile provider webhooks.", no_args_is_help=True)


@app.command("deliver")
def deliver(as_json: bool = JsonOption) -> None:
    """Send every due event now (the worker does this after each run)."""
    c = container()
    if not c.settings.webhook_url or not c.settings.webhook_secret:
        fail("INVALID_STATE: set CLOUDBILL_WEBHOOK_URL and CLOUDBILL_WEBHOOK_SECRET first")
    with errors_as_lines():
        report = webhooks.deliver_due(c)
    show_record(
        {"delivered": report.delivered, "failed": report.failed, "dead": report.dead},
        as_json=as_json,
    )


@app.command("dead")
def dead(as_json: bool = JsonOption) -> None:
    """Events that were given up on (dead-lettered)."""
    with errors_as_lines():
        _total, rows = container().read(
            lambda conn, _now: webhooks.dead_letters(conn, limit=1000, offset=0)
        )
    views = [
        {
            "event_id": r.id,
            "topic": r.topic,
            "subject": r.subject_id,
            "attempts": r.attempts,
            "last_error": r.last_error,
            "at": instant(r.updated_at),
        }
        for r in rows
    ]
    show_rows(
        views, ("event_id", "topic", "subject", "attempts", "last_error", "at"), as_json=as_json
    )


@app.command("retry")
def retry(event_id: int) -> None:
    """Try a dead-lettered event again from the start."""
    with errors_as_lines():
        c = container()
        done = c.write(lambda conn, _now: webhooks.retry_dead(conn, event_id, now=c.wall.now()))
    if not done:
        fail(f"NOT_FOUND: no dead-lettered event {event_id}")
    typer.echo(f"event {event_id} will be delivered again")


@app.command("reconcile")
def reconcile(as_json: bool = JsonOption) -> None:
    """Resources whose last delivered state differs from their state in cloudbill."""
    with errors_as_lines():
        rows = container().read(lambda conn, _now: webhooks.reconcile(conn))
    show_rows(
        rows,
        ("resource_id", "status", "delivered"),
        as_json=as_json,
        title="resources out of step with the provider",
    )


@app.command("test")
def test(as_json: bool = JsonOption) -> None:
    """Send a signed `webhook.test` event to CLOUDBILL_WEBHOOK_URL and show the answer.
    Exits 1 when the endpoint does not answer 2xx."""
    with errors_as_lines():
        result = webhooks.send_test(container())
    show_record(
        {
            "message_id": result.message_id,
            "status_code": result.status_code,
            "error": result.error,
            "elapsed_ms": result.elapsed_ms,
            "ok": result.ok,
        },
        as_json=as_json,
        title="webhook test",
    )
    if not result.ok:
        raise typer.Exit(1)


@app.command("new-secret")
def secret() -> None:
    """Print a fresh signing secret for CLOUDBILL_WEBHOOK_SECRET."""
    typer.echo(new_secret())
