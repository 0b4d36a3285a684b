"""`cloudbill worker …`: run the scheduled jobs."""

from __future__ import annotations

import time
from dataclasses import asdict
from datetime import timedelta

import typer
from prometheus_client import start_http_server

from ..api.operator.settlement import hold_view
from ..api.operator.settlement import result_view as settled_view
from ..bootstrap import Container
from ..kernel.collection import freeze_start_up
from ..kernel.limits import PAGE_SIZE_DEFAULT, PAGE_SIZE_MAX
from ..observe import logs, metrics
from ..settle import holds
from ..settle import service as settle
from ..settle.service import SettleResult
from ..views import instant
from ..worker import jobs
from .context import container
from .output import (
    JsonOption,
    console,
    emit_json,
    err_console,
    errors_as_lines,
    progress_bar,
    show_rows,
)

CATCH_UP_BAR_HOURS = 24  # more hours due than this: a progress bar instead of a line an hour

log = logs.get("cloudbill.worker")
app = typer.Typer(help="Run scheduled jobs: hourly settlement (catches up hour by hour).",
                  no_args_is_help=True)  # fmt: skip


def _print_settled(r: SettleResult) -> None:
    console.print(
        f"settled {instant(r.hour)}: {r.records} record pieces ({r.late_records} late), "
        f"{r.fees} fees, {r.customers} customers, {r.new_arrears} new in arrears",
        highlight=False,
    )


def _due_hours(c: Container) -> int:
    """How many hours wait to be settled now."""
    lateness = timedelta(seconds=c.settings.settlement_lateness_s)
    hour, lag_s = c.read(lambda conn, now: settle.lag(conn, now=now, lateness=lateness))
    return 0 if hour is None else int(lag_s // 3600) + 1


def _run_once(as_json: bool) -> int:
    """Run due jobs; people see each settled hour as soon as it is committed, or a progress
    bar on a terminal when a long catch-up is due."""
    with errors_as_lines():
        c = container()
        due = 0 if as_json or not err_console.is_terminal else _due_hours(c)
        if due > CATCH_UP_BAR_HOURS:
            with progress_bar() as progress:
                task = progress.add_task("settling hours", total=due)
                report = jobs.run_due(c, on_settled=lambda _r: progress.advance(task))
            if report.settled:
                first, last = report.settled[0].hour, report.settled[-1].hour
                console.print(f"settled {len(report.settled)} hours, {instant(first)} to "
                              f"{instant(last)}", highlight=False)  # fmt: skip
        else:
            report = jobs.run_due(c, on_settled=None if as_json else _print_settled)
    subs = report.subscriptions
    if as_json:
        emit_json(
            {
                "settled": [settled_view(r) for r in report.settled],
                "transitions": [
                    {
                        "resource_id": t.resource_id,
                        "from": str(t.from_status),
                        "to": str(t.to_status),
                        "at": instant(t.at),
                        "reason": t.reason,
                    }
                    for t in report.transitions
                ],
                "postpaid_bills_issued": report.bills_issued,
                "overdue_customers": report.overdue_customers,
                "subscriptions": asdict(report.subscriptions),
            }
        )
    else:
        for t in report.transitions:
            console.print(
                f"{t.resource_id}: {t.from_status} -> {t.to_status} at {instant(t.at)} "
                f"({t.reason})",
                highlight=False,
            )
        if report.bills_issued:
            console.print(f"post-paid bills issued: {len(report.bills_issued)}")
        for customer_id in report.overdue_customers:
            console.print(f"{customer_id}: post-paid bill overdue, in arrears", highlight=False)
        for resource_id, to in subs.expiry_steps:
            console.print(f"{resource_id}: expired -> {to}", highlight=False)
        for order_id in subs.renewed:
            console.print(f"auto-renewed: order {order_id}", highlight=False)
        for resource_id in subs.renew_failed:
            console.print(f"{resource_id}: auto-renewal failed", highlight=False)
        if subs.orders_expired:
            console.print(f"unpaid orders cancelled at their deadline: {len(subs.orders_expired)}")
        if not (report.settled or report.transitions or report.bills_issued or _any(subs)):
            console.print("nothing due")
    return len(report.settled) + len(report.transitions) + len(report.bills_issued) + _any(subs)


def _any(subs) -> int:  # type: ignore[no-untyped-def]
    return (
        len(subs.orders_expired)
        + len(subs.renewed)
        + len(subs.renew_failed)
        + subs.reminders
        + len(subs.expiry_steps)
    )


@app.command("run-due")
def run_due(as_json: bool = JsonOption) -> None:
    """Run every job that is due now, then exit (cron, tests, simulated-clock demos)."""
    _run_once(as_json)


@app.command("run")
def run(
    interval: int | None = typer.Option(
        None, help="seconds between looks (CLOUDBILL_WORKER_INTERVAL_S)"
    ),
    iterations: int = typer.Option(0, help="stop after this many looks (0: run until stopped)"),
    metrics_port: int | None = typer.Option(
        None, help="serve this worker's counters on this port (CLOUDBILL_WORKER_METRICS_PORT)"
    ),
) -> None:
    """Run due jobs forever (or N times), sleeping between looks. A failed pass is logged and
    tried again after a back-off (doubling up to 10 x the interval); it never stops the worker."""
    with errors_as_lines():
        settings = container().settings
    logs.configure(settings.log_level, settings.log_format)
    port = metrics_port or settings.worker_metrics_port
    if port:
        # The worker's own counters (hours settled, transitions, deliveries); the database's
        # figures are on every API process's /metrics.
        start_http_server(port, addr=settings.host)
        log.info("worker metrics", url=f"http://{settings.host}:{port}/metrics")
    pause = interval or settings.worker_interval_s
    done = failures = 0
    freeze_start_up()
    while iterations == 0 or done < iterations:
        try:
            _run_once(False)
            failures = 0
        except (typer.Exit, SystemExit):  # a refusal already printed as one line
            failures += 1
        except Exception:
            failures += 1
            metrics.WORKER_PASSES.labels("failed").inc()
            log.exception("worker pass failed; trying again", failures=failures)
        done += 1
        if iterations == 0 or done < iterations:
            time.sleep(min(pause * 2 ** min(failures, 10), pause * 10) if failures else pause)


@app.command("holds")
def list_holds(
    include_released: bool = typer.Option(False, "--all", help="also the holds released since"),
    limit: int = typer.Option(PAGE_SIZE_DEFAULT, min=1, max=PAGE_SIZE_MAX),
    as_json: bool = JsonOption,
) -> None:
    """Customers settlement set aside, and why: their hours wait while every other customer
    is billed; each run tries them again and settles the held hours once the cause is mended
    (load a catalog with the missing price, or `cloudbill usage void` a wrong record)."""
    with errors_as_lines():
        total, rows = container().read(
            lambda conn, _now: holds.list_holds(
                conn, include_released=include_released, limit=limit, offset=0
            )
        )
    show_rows(
        [hold_view(r) for r in rows],
        ("customer_id", "since_hour=held since", "code", "reason", "attempts", "released_at"),
        as_json=as_json,
        total=total,
        title="settlement holds",
    )
