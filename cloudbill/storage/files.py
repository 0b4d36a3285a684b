"""Bill files made from rows that are streamed in: split into parts of at most `max_rows`
rows, each part spooled to a temporary file (memory stays bounded at any size) with its
checksum, then the manifest (AWS Data Exports' is the model) that is written after them.

Everything here is deterministic (gzip without a timestamp, no time of writing in any file),
so pushing the same records again gives the same bytes."""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import IO, Any

import pyarrow as pa
import pyarrow.parquet as pq

from .model import FileFormat, FileSpec

PARQUET_BATCH_ROWS = 10_000
SPOOL_BYTES = 1 << 20  # parts up to 1 MiB stay in memory, larger ones go to disk
CONTENT_TYPES = {
    FileFormat.CSV: "text/csv",
    FileFormat.CSV_GZ: "application/gzip",
    FileFormat.PARQUET: "application/vnd.apache.parquet",
}


@dataclass
class Part:
    number: int
    rows: int
    size: int
    sha256: str
    file: IO[bytes]  # positioned at 0; the caller closes it


class _Hashing(io.RawIOBase):
    """A write-only file that hashes and counts what goes through it."""

    def __init__(self, sink: IO[bytes]) -> None:
        self.sink, self.digest, self.size = sink, hashlib.sha256(), 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        chunk = bytes(data)
        self.sink.write(chunk)
        self.digest.update(chunk)
        self.size += len(chunk)
        return len(chunk)


class _PartWriter:
    def __init__(self, number: int, columns: tuple[str, ...], fmt: FileFormat) -> None:
        self.number, self.columns, self.fmt, self.rows = number, columns, fmt, 0
        # The part outlives this call: its consumer uploads, then closes it.
        self.file: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115
        self.out = _Hashing(self.file)
        self.batch: list[list[str]] = []
        if fmt is FileFormat.PARQUET:
            schema = pa.schema([(c, pa.string()) for c in columns])
            self.parquet = pq.ParquetWriter(self.out, schema, compression="snappy")
            return
        self.gz = (
            gzip.GzipFile(fileobj=self.out, mode="wb", mtime=0, filename="")
            if (fmt is FileFormat.CSV_GZ)
            else None
        )
        self.text = io.TextIOWrapper(self.gz or self.out, encoding="utf-8", newline="")  # type: ignore[arg-type]
        self.csv = csv.writer(self.text, lineterminator="\n")
        self.csv.writerow(columns)

    def add(self, row: list[str]) -> None:
        self.rows += 1
        if self.fmt is FileFormat.PARQUET:
            self.batch.append(row)
            if len(self.batch) >= PARQUET_BATCH_ROWS:
                self._flush_batch()
        else:
            self.csv.writerow(row)

    def _flush_batch(self) -> None:
        columns = list(zip(*self.batch, strict=True)) if self.batch else [()] * len(self.columns)
        arrays = [pa.array(list(col), type=pa.string()) for col in columns]
        self.parquet.write_table(pa.Table.from_arrays(arrays, names=list(self.columns)))
        self.batch = []

    def finish(self) -> Part:
        if self.fmt is FileFormat.PARQUET:
            if self.batch or not self.rows:
                self._flush_batch()
            self.parquet.close()
        else:
            self.text.flush()
            self.text.detach()
            if self.gz is not None:
                self.gz.close()
        self.file.seek(0)
        return Part(self.number, self.rows, self.out.size, self.out.digest.hexdigest(), self.file)


def parts(
    rows: Iterable[list[str]], columns: tuple[str, ...], fmt: FileFormat, *, max_rows: int
) -> Iterator[Part]:
    """The rows as parts of at most `max_rows` rows (one part with only the header when there
    are none: an empty day still has its file)."""
    writer = _PartWriter(1, columns, fmt)
    for row in rows:
        if writer.rows >= max_rows:
            yield writer.finish()
            writer = _PartWriter(writer.number + 1, columns, fmt)
        writer.add(row)
    yield writer.finish()


def manifest(
    spec: FileSpec,
    *,
    customer_id: str,
    timezone: str,
    currency: str,
    fmt: FileFormat,
    columns: tuple[str, ...],
    files: list[dict[str, Any]],
    version: int,
    versions: list[int],
    fingerprint: str,
    generated_at: str,
) -> bytes:
    """The manifest of one version: its columns, files (key, rows, bytes, sha256), row count
    and bill version; `current_version` says which version is current."""
    document = {
        "manifest_version": 1,
        "customer_id": customer_id,
        "bill": spec.kind.value,
        "name": spec.name,
        "billing_period": spec.billing_period,
        "day": spec.day.isoformat() if spec.day else None,
        "final": spec.final,
        "period": {"start": spec.start.isoformat(), "end": spec.end.isoformat()},
        "timezone": timezone,
        "currency": currency,
        "format": fmt.value,
        "compression": "gzip" if fmt is FileFormat.CSV_GZ else None,
        "columns": [{"name": c, "type": "string"} for c in columns],
        "files": files,
        "row_count": sum(f["rows"] for f in files),
        "bill_version": version,
        "current_version": max(versions),
        "versions": versions,
        "fingerprint": fingerprint,
        "generated_at": generated_at,
    }
    return json.dumps(document, indent=2, sort_keys=True).encode() + b"\n"
