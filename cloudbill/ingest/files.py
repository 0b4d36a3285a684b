"""Usage records from CSV and Parquet files, read in bounded batches (never the whole file).

Columns: record_id, resource_id, usage_type, quantity, start, end, and optionally unit.
Quantities must be exact: text or decimal columns; a floating-point column is refused.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from ..kernel.errors import CloudbillError, ErrorCode
from ..kernel.limits import USAGE_FILE_BATCH_ROWS

REQUIRED = ("record_id", "resource_id", "usage_type", "quantity", "start", "end")
OPTIONAL = ("unit",)


def read_batches(
    path: Path, *, file_format: str | None = None, batch_rows: int = USAGE_FILE_BATCH_ROWS
) -> Iterator[pa.RecordBatch]:
    kind = (file_format or path.suffix.lstrip(".")).lower()
    if not path.is_file():
        raise CloudbillError(ErrorCode.INVALID_ARGUMENT, f"no such file: {path}")
    if kind == "csv":
        return _batches(_csv_batches(path, batch_rows))
    if kind in ("parquet", "pq"):
        return _batches(_parquet_batches(path, batch_rows))
    raise CloudbillError(ErrorCode.INVALID_ARGUMENT, "usage files are .csv or .parquet")


def _csv_batches(path: Path, batch_rows: int) -> Iterator[pa.RecordBatch]:
    # Every column is read as text, so quantities and instants stay exactly as written.
    try:
        with path.open(encoding="utf-8") as file:
            header = file.readline().strip().split(",")
        reader = pa_csv.open_csv(
            path,
            read_options=pa_csv.ReadOptions(block_size=max(1 << 20, batch_rows * 128)),
            convert_options=pa_csv.ConvertOptions(
                column_types={name.strip(): pa.string() for name in header},
                strings_can_be_null=True,
            ),
        )
        yield from reader
    except (pa.ArrowInvalid, UnicodeDecodeError, OSError) as exc:
        raise CloudbillError(
            ErrorCode.INVALID_ARGUMENT, f"{path}: not a readable CSV: {exc}"
        ) from None


def _parquet_batches(path: Path, batch_rows: int) -> Iterator[pa.RecordBatch]:
    try:
        parquet = pq.ParquetFile(path)
        for field in parquet.schema_arrow:
            if field.name == "quantity" and pa.types.is_floating(field.type):
                raise CloudbillError(
                    ErrorCode.INVALID_AMOUNT,
                    f"{path}: quantity is a floating-point column; write it as text or decimal",
                )
        names = [n for n in (*REQUIRED, *OPTIONAL) if n in parquet.schema_arrow.names]
        yield from parquet.iter_batches(batch_size=batch_rows, columns=names)
    except (pa.ArrowInvalid, OSError) as exc:
        raise CloudbillError(
            ErrorCode.INVALID_ARGUMENT, f"{path}: not a readable Parquet file: {exc}"
        ) from None


def _batches(source: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    for batch in source:
        names = batch.schema.names
        twice = sorted({n for n in names if names.count(n) > 1 and n in (*REQUIRED, *OPTIONAL)})
        if twice:
            raise CloudbillError(
                ErrorCode.INVALID_ARGUMENT,
                f"usage file has column(s) more than once: {', '.join(twice)}",
            )
        missing = [c for c in REQUIRED if c not in names]
        if missing:
            raise CloudbillError(
                ErrorCode.INVALID_ARGUMENT, f"usage file lacks column(s): {', '.join(missing)}"
            )
        # Kept as columns: ingest/columns.py checks them in Arrow.
        wanted = [name for name in (*REQUIRED, *OPTIONAL) if name in names]
        yield pa.RecordBatch.from_arrays([batch.column(n) for n in wanted], names=wanted)
