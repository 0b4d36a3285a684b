"""Pure decisions of bill storage: what settings are acceptable, what files a day makes and
what they are called, which days are due, and when a failing bucket is switched off."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date, datetime, time, timedelta
from urllib.parse import urlsplit

from botocore.utils import is_valid_endpoint_url, is_valid_ipv6_endpoint_url

from ..kernel.errors import CloudbillError, ErrorCode
from ..kernel.periods import month_period, zone
from .model import BillFile, FileFormat, FileSpec

# S3's bucket naming rules (3-63 lower-case letters, digits, dots and hyphens).
BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
REGION_RE = re.compile(r"^[a-z0-9-]{1,64}$")
PREFIX_MAX_CHARS = 400
KEY_FIELD_MAX_CHARS = 128
EXPENDITURES_NAME = "Resource_Expenditures_"
RESOURCE_BILL_NAME = "Spendings(ByResource)_"
ONE_DAY = timedelta(days=1)


def _bad(message: str, field: str) -> CloudbillError:
    """`field`: which setting is wrong, so a form shows the refusal beside it."""
    return CloudbillError(ErrorCode.INVALID_ARGUMENT, message, field=field)


def check_endpoint(url: object) -> str:
    if not isinstance(url, str) or len(url) > 512:
        raise _bad("endpoint_url must be an http(s) URL of at most 512 characters", "endpoint_url")
    cleaned = url.strip()
    try:
        parts = urlsplit(cleaned)
        valid = (
            bool(parts.hostname)
            and (parts.port is None or parts.port > 0)
            and parts.scheme in ("http", "https")
            and not parts.query
            # the S3 client's own rule too: an endpoint it would refuse is refused when saved
            and bool(is_valid_endpoint_url(cleaned) or is_valid_ipv6_endpoint_url(cleaned))
        )
    except ValueError:  # e.g. "http://[::1": an unclosed IPv6 address, a port out of range
        valid = False
    if not valid:
        raise _bad(
            "endpoint_url must be an http(s) URL such as https://obs.example.com", "endpoint_url"
        )
    return cleaned.rstrip("/")


def check_bucket(name: object) -> str:
    if not isinstance(name, str) or not BUCKET_RE.match(name) or ".." in name:
        raise _bad("bucket must be 3-63 lower-case letters, digits, dots and hyphens", "bucket")
    return name


def check_region(name: object) -> str:
    if not isinstance(name, str) or not REGION_RE.match(name):
        raise _bad("region must be 1-64 lower-case letters, digits and hyphens", "region")
    return name


def check_prefix(prefix: object) -> str:
    """A folder in the bucket: no leading or trailing slash, no empty or dot segments."""
    if not isinstance(prefix, str) or len(prefix) > PREFIX_MAX_CHARS:
        raise _bad(f"prefix must be at most {PREFIX_MAX_CHARS} characters", "prefix")
    cleaned = prefix.strip().strip("/")
    segments = cleaned.split("/") if cleaned else []
    if any(s in ("", ".", "..") for s in segments) or any(ord(ch) < 32 for ch in cleaned):
        raise _bad("prefix must be folder names separated by single slashes", "prefix")
    return cleaned


def check_key_field(name: str, value: object) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > KEY_FIELD_MAX_CHARS:
        raise _bad(f"{name} must be 1-{KEY_FIELD_MAX_CHARS} characters", name)
    if any(ord(ch) < 33 for ch in value.strip()):
        raise _bad(f"{name} must not contain spaces or control characters", name)
    return value.strip()


def check_bills(values: object) -> tuple[BillFile, ...]:
    if isinstance(values, str):
        values = [v for v in values.split(",") if v.strip()]
    if not isinstance(values, list | tuple) or not values:
        raise _bad(
            "bills must name at least one of " + ", ".join(b.value for b in BillFile), "bills"
        )
    try:
        chosen = {BillFile(str(v).strip()) for v in values}
    except ValueError:
        raise _bad("bills must be among " + ", ".join(b.value for b in BillFile), "bills") from None
    return tuple(b for b in BillFile if b in chosen)


def check_format(value: object) -> FileFormat:
    try:
        return FileFormat(value)
    except ValueError:
        choices = ", ".join(f.value for f in FileFormat)
        raise _bad(f"file_format must be one of {choices}", "file_format") from None


def local_day_bounds(day: date, tz_name: str) -> tuple[datetime, datetime]:
    """A local day's UTC bounds [start, end), right across DST."""
    tz = zone(tz_name)
    start = datetime.combine(day, time(), tzinfo=tz)
    end = datetime.combine(day + ONE_DAY, time(), tzinfo=tz)
    return start.astimezone(zone("UTC")), end.astimezone(zone("UTC"))


def first_day(enabled_at: datetime, tz_name: str) -> date:
    """Storage switched on during a local day pushes from the day before (that day's files are
    the first that are complete once its lateness has passed)."""
    return enabled_at.astimezone(zone(tz_name)).date() - ONE_DAY


def due_days(
    next_day: date, tz_name: str, *, lateness: timedelta, now: datetime, limit: int
) -> list[date]:
    """The days from `next_day` on whose end plus the lateness window has passed: all that
    were missed while the worker was down, oldest first, at most `limit`."""
    days: list[date] = []
    day = next_day
    while len(days) < limit and local_day_bounds(day, tz_name)[1] + lateness <= now:
        days.append(day)
        day += ONE_DAY
    return days


def files_of_day(day: date, tz_name: str, bills: tuple[BillFile, ...]) -> list[FileSpec]:
    """The day's expenditures, the month-to-date resource bill, and on the month's last day
    (pushed on the bill day, the 1st) the final month file."""
    period = f"{day.year:04d}-{day.month:02d}"
    start, end = local_day_bounds(day, tz_name)
    month = month_period(day.year, day.month, tz_name)
    stamp = day.strftime("%Y%m%d")
    specs: list[FileSpec] = []
    if BillFile.EXPENDITURES in bills:
        specs.append(
            FileSpec(BillFile.EXPENDITURES, EXPENDITURES_NAME + stamp, period, start, end, day)
        )
    if BillFile.RESOURCE_BILL in bills:
        name = RESOURCE_BILL_NAME + stamp
        specs.append(FileSpec(BillFile.RESOURCE_BILL, name, period, month.start, end, day))
        if (day + ONE_DAY).month != day.month:
            final = RESOURCE_BILL_NAME + day.strftime("%Y%m")
            spec = FileSpec(BillFile.RESOURCE_BILL, final, period, month.start, month.end, None)
            specs.append(replace(spec, final=True))
    return specs


def spec_of(name: str, billing_period: str, tz_name: str) -> FileSpec:
    """The file spec a pushed file's name stands for (to check it again for late changes)."""
    stamp = name.rsplit("_", 1)[1]
    kind = BillFile.EXPENDITURES if name.startswith(EXPENDITURES_NAME) else BillFile.RESOURCE_BILL
    if len(stamp) == 6:  # a final month file
        year, month = int(stamp[:4]), int(stamp[4:])
        nxt = date(year + month // 12, month % 12 + 1, 1)
        return next(s for s in files_of_day(nxt - ONE_DAY, tz_name, (kind,)) if s.name == name)
    day = date(int(stamp[:4]), int(stamp[4:6]), int(stamp[6:]))
    return next(s for s in files_of_day(day, tz_name, (kind,)) if s.name == name)


def folder(prefix: str, billing_period: str) -> str:
    """AWS Data Exports' partitioned layout under the customer's prefix."""
    base = f"{prefix}/" if prefix else ""
    return f"{base}BILLING_PERIOD={billing_period}"


def _version_folder(prefix: str, spec: FileSpec, version: int) -> str:
    return f"{folder(prefix, spec.billing_period)}/{spec.name}/v{version:04d}"


def data_key(prefix: str, spec: FileSpec, version: int, part: int, fmt: FileFormat) -> str:
    """Each version's files in their own folder: a new version never overwrites the bytes a
    reader of the previous manifest may be reading."""
    return f"{_version_folder(prefix, spec, version)}/{spec.name}-{part:05d}.{fmt.value}"


def version_manifest_key(prefix: str, spec: FileSpec, version: int) -> str:
    return f"{_version_folder(prefix, spec, version)}/{spec.name}-Manifest.json"


def current_manifest_key(prefix: str, spec: FileSpec) -> str:
    """The manifest that always describes the current version (rewritten by each version)."""
    return f"{folder(prefix, spec.billing_period)}/{spec.name}-Manifest.json"


def after_failure(
    failure_days: int, last_failure_on: date | None, today: date, *, limit_days: int
) -> tuple[int, bool]:
    """(failure days in a row, whether to switch storage off). Several failures on one day
    count once: N days in a row, not N attempts."""
    days = failure_days if last_failure_on == today else failure_days + 1
    return days, days >= limit_days
