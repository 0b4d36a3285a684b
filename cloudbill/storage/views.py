"""Bill storage as the APIs, the CLI and the console show it: the settings without the secret
(only whether one is saved), a verification's outcome, and the recorded pushes."""

from __future__ import annotations

from typing import Any

from ..views import instant
from .model import StorageConfig, VerifyReport


def config_view(config: StorageConfig) -> dict[str, Any]:
    """Never the secret key, sealed or not: it was shown to cloudbill once and stays there."""
    return {
        "customer_id": config.customer_id,
        "enabled": config.enabled,
        "endpoint_url": config.endpoint_url,
        "region": config.region,
        "bucket": config.bucket,
        "prefix": config.prefix,
        "access_key_id": config.access_key_id,
        "secret_access_key_set": bool(config.secret_sealed),
        "bills": [str(b) for b in config.bills],
        "file_format": str(config.file_format),
        "verified_at": instant(config.verified_at),
        "next_day": config.next_day.isoformat() if config.next_day else None,
        "failure_days": config.failure_days,
        "last_failure_on": config.last_failure_on.isoformat() if config.last_failure_on else None,
        "disabled_reason": config.disabled_reason,
        "created_at": instant(config.created_at),
        "updated_at": instant(config.updated_at),
    }


def verify_view(report: VerifyReport) -> dict[str, Any]:
    return {
        "ok": report.ok,
        "step": report.step,
        "problem": str(report.problem) if report.problem else None,
        "message": report.message,
    }


def push_view(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "day": row["day"],
        "outcome": row["outcome"],
        "files_written": row["files_written"],
        "rows": row["rows"],
        "problem": row["problem"],
        "error": row["error"],
        "started_at": instant(row["started_at"]),
        "finished_at": instant(row["finished_at"]),
    }


def card_view(config: StorageConfig | None, last_push: dict[str, Any] | None) -> dict[str, Any]:
    """The Overview's bill storage card: set up or not, on or off, where to, the last push."""
    if config is None:
        return {"set_up": False, "enabled": False, "verified": False}
    return {
        "set_up": True,
        "enabled": config.enabled,
        "verified": config.verified_at is not None,
        "bucket": config.bucket,
        "prefix": config.prefix,
        "file_format": str(config.file_format),
        "disabled_reason": config.disabled_reason,
        "last_push": push_view(last_push) if last_push else None,
    }
