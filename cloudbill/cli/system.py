"""`cloudbill serve`, `migrate`, `token`, `verify`, `clock …`."""

from __future__ import annotations

import os
from dataclasses import asdict
from datetime import timedelta
from urllib.parse import urlsplit, urlunsplit

import typer
from dotenv import dotenv_values
from rich.markup import escape
from sqlalchemy.engine import make_url

from ..bootstrap import Container
from ..config import Settings
from ..kernel.clock import SystemClock
from ..kernel.collection import freeze_start_up
from ..kernel.errors import CloudbillError, ErrorCode
from ..kernel.periods import parse_instant
from ..ledger.verify import verify as verify_books
from ..observe import logs
from ..store import clock_repo, operator_token
from ..store.engine import Database, is_sqlite, normalize_url, sqlite_file
from ..store.migrate import pending
from ..views import instant
from ..worker.background import BackgroundWorker
from .context import container
from .output import JsonOption, console, emit_json, errors_as_lines, fail, show_record, show_rows

clock_app = typer.Typer(help="Show or move the shared clock.", no_args_is_help=True)


def serve(
    host: str | None = typer.Option(None, help="default: CLOUDBILL_HOST or 127.0.0.1"),
    port: int | None = typer.Option(None, help="default: CLOUDBILL_PORT or 8080"),
    bss_port: int | None = typer.Option(
        None, help="the Huawei BSS API's port; default: CLOUDBILL_BSS_PORT or 8081"
    ),
    demo: bool = typer.Option(False, help="seed the demo data set into an empty database"),
    worker: bool = typer.Option(
        True,
        "--worker/--no-worker",
        help="also run the scheduled jobs (settlement) in this process",
    ),
) -> None:
    """Migrate the database and serve the billing center's API."""
    import uvicorn

    from ..api.app import create_app
    from ..api.bss.app import create_bss_app
    from ..api.bss.listener import ThreadedServer
    from ..customers import service as customers
    from ..demo import seed

    settings = Settings()
    logs.configure(settings.log_level, settings.log_format)
    with errors_as_lines():
        c = container()
        seeded = False
        if demo and c.read(lambda conn, _now: customers.list_customers(conn, limit=1))[1] == 0:
            names = c.write(lambda conn, now: seed(conn, now=now, settings=c.settings))
            console.print(f"demo data: {escape(', '.join(names))}")
            seeded = True
        app = create_app(c)
        bss_app = create_bss_app(c)
    host = host or settings.host
    port = port or settings.port
    bss_port = bss_port or settings.bss_port
    _print_addresses(c, f"http://{host}:{port}", demo=demo, seeded=seeded)
    console.print("  CLI (same database): .venv/bin/cloudbill customer list")
    # Before any thread starts: what a first settlement pass holds must not be frozen too.
    freeze_start_up()
    with errors_as_lines():
        bss = ThreadedServer(bss_app, host=host, port=bss_port, log_level=settings.log_level)
        bss.start()
    console.print(f"  Huawei BSS API:  http://{host}:{bss_port}  (AK/SK: cloudbill access-key)")
    background = BackgroundWorker(c, settings.worker_interval_s) if worker else None
    if background:
        background.start()
        console.print(f"  worker:          settling due hours every {settings.worker_interval_s} s")
    try:
        uvicorn.run(app, host=host, port=port, log_level=settings.log_level, log_config=None)
    finally:
        bss.stop()
        if background:
            background.stop()


def _print_addresses(c: Container, base: str, *, demo: bool, seeded: bool) -> None:
    """Where everything is: the console (and the demo's sign-in), the API docs, the operator
    token the first time."""
    from ..demo import DEMO_PASSWORD, DEMO_USERS, OPERATOR_EMAIL

    console.print(f"[bold]cloudbill[/bold] on {base}  (database: {c.db.url})")
    console.print(f"  web console:     {base}/console/   (operators: {base}/operator/console/)")
    if demo:
        unchanged = "" if seeded else " (unless changed since)"
        console.print(
            f"  demo sign-in:    {escape(DEMO_USERS)}, operator {OPERATOR_EMAIL}; "
            f"password: {DEMO_PASSWORD}{unchanged}"
        )
    console.print(f"  API docs:        {base}/docs   (OpenAPI: {base}/openapi.json)")
    console.print(
        f"  customer API:    {base}/customer/v1/docs   (HTTP Basic with a customer's AK:SK)"
    )
    if c.new_operator_token:
        console.print(f"  operator token:  {c.new_operator_token}   (shown this once: keep it)")
    elif c.settings.operator_token:
        console.print("  operator token:  CLOUDBILL_OPERATOR_TOKEN")
    else:
        console.print(
            "  operator token:  kept only as a digest (`cloudbill token rotate`: a new one)"
        )
    console.print(
        f"  try:             curl -H 'Authorization: Bearer <token>' {base}/operator/v1/customers"
    )


def migrate(
    check: bool = typer.Option(
        False, "--check", help="only say whether migrations are pending (exit 1 if so)"
    ),
) -> None:
    """Create or upgrade the database schema (serve and every command do it too)."""
    if check:
        with errors_as_lines():
            url = Settings().database_url
            path = sqlite_file(normalize_url(url)) if is_sqlite(url) else None
            if path is not None and not path.exists():  # looking must not create it
                typer.echo(f"{path}: no database yet; `cloudbill migrate` creates it")
                raise typer.Exit(1)
            db = Database(url)
            try:
                current, head, todo = pending(db)
            finally:
                db.dispose()
        url = make_url(db.url).render_as_string(hide_password=True)
        if todo:
            typer.echo(f"{url}: at {current or 'no schema'}; to apply: {', '.join(todo)}")
            raise typer.Exit(1)
        typer.echo(f"{url}: up to date (revision {head})")
        return
    with errors_as_lines():
        c = container()
    typer.echo(f"database is up to date: {make_url(c.db.url).render_as_string(hide_password=True)}")


token_app = typer.Typer(
    help="The operator API token (kept only as a digest: shown once, when it is made).",
    no_args_is_help=True,
)


@token_app.command("rotate")
def token_rotate() -> None:
    """Make a new operator token and print it (this once): the old one stops working at once,
    in every API process. With CLOUDBILL_OPERATOR_TOKEN set, that setting is the token."""
    with errors_as_lines():
        c = container()
        if c.settings.operator_token:
            raise CloudbillError(
                ErrorCode.INVALID_STATE,
                "CLOUDBILL_OPERATOR_TOKEN is set: change that setting to rotate the token",
            )
        new = c.write(lambda conn, _now: operator_token.rotate(conn, now=SystemClock().now()))
    typer.echo(new)


def verify(as_json: bool = JsonOption) -> None:
    """Prove the books: transactions balance, balances equal their entries, and the bills hold
    every movement of money for services exactly. Exit 1 if not."""
    with errors_as_lines():
        report = container().read(lambda conn, _now: verify_books(conn))
    if as_json:
        emit_json({"ok": report.ok, **asdict(report)})
    else:
        console.print(
            f"{report.accounts} accounts, {report.transactions} transactions, "
            f"{report.entries} entries, {report.fee_records} fee records"
        )
        for problem in report.problems:
            console.print(f"[red]MISMATCH[/red] {escape(problem)}", highlight=False)
        if report.ok:
            console.print("[green]ok[/green]: every transaction balances, every balance "
                          "equals the fold of its entries, and every movement of money for "
                          "services is in the bills exactly once")  # fmt: skip
    if not report.ok:
        raise typer.Exit(1)


def _clock_view(mode: str, now) -> dict[str, str | None]:  # type: ignore[no-untyped-def]
    return {"mode": mode, "now": instant(now)}


@clock_app.command("show")
def clock_show(as_json: bool = JsonOption) -> None:
    """The current time of the billing center and whether it is simulated."""
    with errors_as_lines():
        mode, now = container().read(lambda conn, _now: clock_repo.read_clock(conn))
    show_record(_clock_view(mode, now), as_json=as_json)


@clock_app.command("advance")
def clock_advance(
    days: int = typer.Option(0, min=0),
    hours: int = typer.Option(0, min=0),
    minutes: int = typer.Option(0, min=0),
    seconds: int = typer.Option(0, min=0),
    as_json: bool = JsonOption,
) -> None:
    """Move the simulated clock forward."""
    delta = timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)
    if delta == timedelta(0):
        fail("INVALID_ARGUMENT: say how far, e.g. --days 16")
    with errors_as_lines():
        now = container().write(lambda conn, _now: clock_repo.advance(conn, delta))
    show_record(_clock_view(clock_repo.SIMULATED, now), as_json=as_json)


@clock_app.command("simulate")
def clock_simulate(
    at: str | None = typer.Option(None, help="ISO 8601 start, default: the current time"),
    as_json: bool = JsonOption,
) -> None:
    """Switch to a simulated clock (for demos and tests); it moves only with `advance`."""
    with errors_as_lines():
        instant_at = parse_instant(at) if at else None
        now = container().write(lambda conn, _now: clock_repo.set_simulated(conn, instant_at))
    show_record(_clock_view(clock_repo.SIMULATED, now), as_json=as_json)


@clock_app.command("system")
def clock_system() -> None:
    """Follow the system clock again."""
    with errors_as_lines():
        container().write(lambda conn, _now: clock_repo.set_system(conn))
    typer.echo("the clock follows system time")


config_app = typer.Typer(help="The settings cloudbill runs with.", no_args_is_help=True)
SECRETS = ("operator_token", "secret_key", "webhook_secret", "smtp_password", "sms_gateway_token")


def _masked(name: str, value: object) -> object:
    if value is None and name == "operator_token":
        return "(generated; only its digest is kept: `cloudbill token rotate`)"
    if value is None and name == "secret_key":
        return "(unset: the key file, secret_key_file)"
    if value is None:
        return None
    if name in SECRETS:
        return "*** (set)"
    if name == "database_url":
        return make_url(str(value)).render_as_string(hide_password=True)
    if name in ("webhook_url", "sms_gateway_url"):  # credentials may ride in the URL
        parts = urlsplit(str(value))
        host = parts.hostname or ""
        netloc = f"***@{host}" if parts.username or parts.password else parts.netloc
        return urlunsplit((parts.scheme, netloc, parts.path, "***" if parts.query else "", ""))
    return str(value) if not isinstance(value, bool | int) else value


@config_app.command("show")
def config_show(as_json: bool = JsonOption) -> None:
    """Every setting with its effective value (secrets masked) and where it came from: the
    environment (CLOUDBILL_…), the .env file of the working directory, or the default."""
    settings = Settings()
    dotenv = {k.upper() for k in (dotenv_values(".env") if os.path.exists(".env") else {})}
    environment = {k.upper() for k in os.environ}  # settings are read case-insensitively
    rows = []
    for name in Settings.model_fields:
        variable = f"CLOUDBILL_{name.upper()}"
        source = "environment" if variable in environment else (
            ".env" if variable in dotenv else "default"
        )  # fmt: skip
        rows.append(
            {"variable": variable, "value": _masked(name, getattr(settings, name)), "from": source}
        )
    show_rows(
        rows,
        ("variable", "value", "from"),
        as_json=as_json,
        title="settings",
        payload=lambda: {r["variable"]: {"value": r["value"], "from": r["from"]} for r in rows},
    )
