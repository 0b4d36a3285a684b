"""`cloudbill usage …`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

import pyarrow.parquet as pq
import typer

from ..api.operator.settlement import void_view
from ..ingest import file_ingest, files, jetstream
from ..kernel.collection import freeze_start_up
from ..kernel.errors import CloudbillError, ErrorCode
from ..kernel.limits import STREAM_FETCH_MAX, STREAM_WAIT_MAX_S
from ..settle import holds
from .context import container
from .output import JsonOption, emit_json, errors_as_lines, progress_bar, show_record, show_rows

app = typer.Typer(
    help="Ingest usage records from CSV or Parquet files or NATS JetStream; void a wrong one of "
    "a held customer.",
    no_args_is_help=True,
)
T = TypeVar("T", bound=Sequence[Any])


def _rows_in(path: Path, file_format: str | None) -> int | None:
    """The number of rows when the file says it (Parquet metadata); None for CSV."""
    kind = (file_format or path.suffix.lstrip(".")).lower()
    if kind not in ("parquet", "pq"):
        return None
    try:
        return pq.ParquetFile(path).metadata.num_rows
    except Exception:  # an unreadable file: ingestion itself says so
        return None


@app.command("ingest")
def ingest(
    path: Path = typer.Argument(..., help="a .csv or .parquet file of usage records"),
    file_format: str | None = typer.Option(None, "--format", help="csv or parquet"),
    as_json: bool = JsonOption,
) -> None:
    """Check every record of the file, then store them in short transactions (other writers
    barely wait). If any record is rejected nothing is stored: each rejected record is listed
    (its row index from 0, record id, code and reason; the first 100) and the command exits 2.
    Interrupted, it can be run again: records already stored count as duplicates."""
    with progress_bar() as progress, errors_as_lines():
        rows = _rows_in(path, file_format)
        checking = progress.add_task(f"checking {path.name}", total=rows)
        storing = progress.add_task(f"storing {path.name}", total=rows, start=False)
        settings = container().settings

        def report(phase: str, done: int) -> None:
            if phase == "store":
                progress.start_task(storing)
            progress.update(checking if phase == "check" else storing, completed=done)

        try:
            result = file_ingest.ingest_file(
                container(),
                lambda: files.read_batches(path, file_format=file_format),
                horizon=timedelta(days=settings.usage_horizon_days),
                progress=report,
            )
        except CloudbillError as exc:
            if exc.code is ErrorCode.USAGE_REJECTED:
                _show_rejections(exc, as_json)
            raise
    show_record(
        {"accepted": result.accepted, "duplicates": result.duplicates},
        as_json=as_json,
        title=f"usage records from {path.name}",
    )


def _show_rejections(exc: CloudbillError, as_json: bool) -> None:
    """The refused records, before the one error line: on stdout as JSON (`--json`), else as a
    table on stderr, where the error line goes."""
    if as_json:
        emit_json({"error": exc.to_dict()})
        return
    show_rows(
        exc.details.get("rejected", []),
        ("index", "record_id", "code", "reason"),
        as_json=False,
        total=exc.details.get("rejected_count"),
        title="rejected usage records",
        stderr=True,
    )


@app.command("consume")
def consume(
    server: str = typer.Option("nats://127.0.0.1:4222", help="the NATS server's URL"),
    stream: str = typer.Option("USAGE", help="the JetStream stream holding the usage records"),
    subject: str = typer.Option("usage.records", help="the subject (filter) to read"),
    durable: str = typer.Option(
        "cloudbill-usage", help="the durable consumer's name: where reading resumes"
    ),
    dead_letter_subject: str = typer.Option(
        "usage.dead", help="where rejected records go, with their reasons (a stream must keep it)"
    ),
    batch: int = typer.Option(1000, min=1, max=STREAM_FETCH_MAX, help="messages per batch"),
    max_wait: float = typer.Option(
        1.0, min=0.01, max=STREAM_WAIT_MAX_S, help="seconds a fetch waits for messages"
    ),
    ack_wait: float = typer.Option(
        60.0, min=1.0, help="seconds before an unacknowledged message is delivered again"
    ),
    max_messages: int | None = typer.Option(None, min=1, help="stop after this many messages"),
    once: bool = typer.Option(False, "--once", help="stop when the stream has nothing more"),
    as_json: bool = JsonOption,
) -> None:
    """Consume usage records from NATS JetStream with a durable pull consumer, until stopped
    (SIGTERM or Ctrl-C ends it after the batch in hand), `--once` or `--max-messages`. Each
    message is one record as JSON, or a JSON array of them, with the fields of
    `POST /operator/v1/usage-records`. The records that pass are stored, each rejected one is
    published to the dead-letter subject with its code and reason; a batch is acknowledged
    only once stored. Record ids make a redelivery harmless (duplicates are counted)."""
    options = jetstream.Options(
        server=server,
        stream=stream,
        subject=subject,
        durable=durable,
        dead_letter_subject=dead_letter_subject,
        batch=batch,
        max_wait_s=max_wait,
        ack_wait_s=ack_wait,
        max_messages=max_messages,
        once=once,
    )
    with errors_as_lines():
        c = container()
        horizon = timedelta(days=c.settings.usage_horizon_days)
        freeze_start_up()
        totals = jetstream.run(c.write, options, horizon=horizon)
    show_record(totals.as_dict(), as_json=as_json, title=f"usage records from {stream}")


@app.command("void")
def void(
    record_id: str = typer.Argument(..., help="the usage record's record_id"),
    reason: str = typer.Option(..., help="why it is wrong (kept with it)"),
    as_json: bool = JsonOption,
) -> None:
    """Set a wrong usage record aside for good, so settlement leaves it out: only a record of
    a customer whose settlement is held (`cloudbill worker holds`) and that nothing was billed
    from. Billed usage is corrected with an adjustment instead."""
    with errors_as_lines():
        record, voided, _new = container().write(
            lambda conn, now: holds.void_usage(conn, record_id, reason=reason, now=now)
        )
    title = f"usage record {record_id} voided"
    show_record(void_view(record, voided), as_json=as_json, title=title)
