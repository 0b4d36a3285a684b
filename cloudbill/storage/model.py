"""Bill storage data: a customer's bucket settings, the bill files it receives, what failed."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum


class FileFormat(StrEnum):
    CSV = "csv"
    CSV_GZ = "csv.gz"
    PARQUET = "parquet"


class BillFile(StrEnum):
    """Which bills are pushed. Names follow Huawei's bill storage files."""

    EXPENDITURES = "expenditures"  # Resource_Expenditures_YYYYMMDD: each day's fee records
    RESOURCE_BILL = "resource_bill"  # Spendings(ByResource)_YYYYMMDD, _YYYYMM: by resource


class Problem(StrEnum):
    """What a verification or a push found wrong with the bucket, said exactly."""

    BUCKET_NOT_FOUND = "bucket_not_found"
    ACCESS_DENIED = "access_denied"
    ENDPOINT_UNREACHABLE = "endpoint_unreachable"
    READ_BACK_MISMATCH = "read_back_mismatch"  # the bucket answered other bytes than written
    OTHER = "other"


class BucketError(Exception):
    """A bucket operation failed: which problem, and the server's own words."""

    def __init__(self, problem: Problem, message: str) -> None:
        super().__init__(message)
        self.problem = problem
        self.message = message


@dataclass(frozen=True, slots=True)
class Target:
    """Everything a client needs to reach the bucket (the secret in plain text: never stored
    like this, never shown)."""

    endpoint_url: str
    region: str
    bucket: str
    prefix: str
    access_key_id: str
    secret_access_key: str = field(repr=False)  # never in a log line or a traceback


@dataclass(frozen=True, slots=True)
class StorageConfig:
    customer_id: str
    endpoint_url: str
    region: str
    bucket: str
    prefix: str
    access_key_id: str
    secret_sealed: str
    bills: tuple[BillFile, ...]
    file_format: FileFormat
    enabled: bool
    next_day: date | None
    failure_days: int
    last_failure_on: date | None
    disabled_reason: str | None
    verified_at: datetime | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class VerifyReport:
    """The outcome of writing, reading back and deleting a test object."""

    ok: bool
    step: str | None = None  # write | read | delete: where it failed
    problem: Problem | None = None
    message: str | None = None
    settings: str = ""  # a digest of the settings it checked: switching on needs them unchanged


@dataclass(frozen=True, slots=True)
class FileSpec:
    """One bill file to push: its name, billing period, the local instants it covers, and
    whether it is the final file of a month."""

    kind: BillFile
    name: str
    billing_period: str  # YYYY-MM
    start: datetime
    end: datetime
    day: date | None  # None: the whole month's final file
    final: bool = False


@dataclass(frozen=True, slots=True)
class PushedVersion:
    name: str
    billing_period: str
    version: int
    fingerprint: str
    high_water: int
    rows: int
    parts: int
    manifest_key: str
    pushed_at: datetime
