"""`cloudbill usage …`."""

from __future__ import annotations

from pathlib import Path

import typer

from ..ingest import files, service
from .context import container
from .output import JsonOption, errors_as_lines, show_record

app = typer.Typer(help="Ingest usage records from CSV or Parquet files.", no_args_is_help=True)


@app.command("ingest")
def ingest(
    path: Path = typer.Argument(..., help="a .csv or .parquet file of usage records"),
    file_format: str | None = typer.Option(None, "--format", help="csv or parquet"),
    as_json: bool = JsonOption,
) -> None:
    """Store every record of the file, or none if any is rejected (the reasons are listed)."""
    with errors_as_lines():
        result = container().write(
            lambda conn, now: service.ingest_stream(
                conn, files.read_batches(path, file_format=file_format), now=now
            )
        )
    show_record(
        {"accepted": result.accepted, "duplicates": result.duplicates},
        as_json=as_json,
        title=f"usage records from {path.name}",
    )
