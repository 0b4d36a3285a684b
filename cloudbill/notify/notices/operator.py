"""What the operator sees and does: list notices, show one with its attempts, retry a dead or
skipped one.
Shared by the API and the CLI; bad input raises a CloudbillError and changes nothing."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select, update

from ...config import Settings
from ...kernel.errors import CloudbillError, ErrorCode
from ...kernel.limits import FILTER_TEXT_MAX_CHARS, OFFSET_MAX, PAGE_SIZE_MAX
from ...store.schema import customer, customer_notice, customer_notice_attempt
from ...views import instant
from .rules import CHANNELS, DEAD, PENDING, SKIPPED, STATUSES, routes
from .templates import TemplateFailure, render


def _check(value: str | None, allowed: tuple[str, ...], what: str) -> None:
    if value is not None and value not in allowed:
        raise CloudbillError(
            ErrorCode.INVALID_ARGUMENT, f"{what} must be one of {', '.join(allowed)}"
        )


def list_notices(
    conn: Connection,
    *,
    customer_id: str | None = None,
    status: str | None = None,
    channel: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[int, list[Any]]:
    """Newest first: (total matching, the page)."""
    _check(status, STATUSES, "status")
    _check(channel, CHANNELS, "channel")
    if not 1 <= limit <= PAGE_SIZE_MAX or not 0 <= offset <= OFFSET_MAX:
        raise CloudbillError(
            ErrorCode.INVALID_ARGUMENT, f"limit is 1-{PAGE_SIZE_MAX}, offset 0-{OFFSET_MAX}"
        )
    if customer_id is not None and len(customer_id) > FILTER_TEXT_MAX_CHARS:
        raise CloudbillError(ErrorCode.INVALID_ARGUMENT, "customer id too long")
    n = customer_notice.c
    where = [
        cond
        for value, cond in (
            (customer_id, n.customer_id == customer_id),
            (status, n.status == status),
            (channel, n.channel == channel),
        )
        if value is not None
    ]
    total = conn.execute(select(func.count()).select_from(customer_notice).where(*where))
    rows = conn.execute(
        select(customer_notice).where(*where).order_by(n.id.desc()).limit(limit).offset(offset)
    ).all()
    return total.scalar_one(), rows


def get(conn: Connection, notice_id: int, *, customer_id: str | None = None):  # type: ignore[no-untyped-def]
    """A notice; with `customer_id`, only one sent to that customer (others' look absent)."""
    row = conn.execute(select(customer_notice).where(customer_notice.c.id == notice_id)).first()
    if row is None or (customer_id is not None and row.customer_id != customer_id):
        raise CloudbillError(ErrorCode.NOT_FOUND, f"no notice {notice_id}")
    return row


def attempts(conn: Connection, notice_id: int) -> list[Any]:
    a = customer_notice_attempt.c
    return conn.execute(
        select(customer_notice_attempt)
        .where(a.notice_id == notice_id)
        .order_by(a.id)
        .limit(PAGE_SIZE_MAX)
    ).all()


def retry(conn: Connection, notice_id: int, settings: Settings, *, now: datetime):  # type: ignore[no-untyped-def]
    """A dead notice starts again from its first attempt; a skipped one is sent after all,
    once its channel is configured and the customer has an address for it (the address is
    the customer's now). One whose text was never made, or died of its template, is rendered
    first (after the operator fixed the template); if anything still stands in the way,
    nothing changes and the error says why."""
    notice = get(conn, notice_id)
    if notice.status not in (DEAD, SKIPPED):
        raise CloudbillError(
            ErrorCode.INVALID_STATE,
            f"notice {notice_id} is {notice.status}: only a dead or skipped notice is retried",
        )
    values: dict[str, Any] = {}
    if notice.status == SKIPPED:
        values["recipient"] = _recipient(conn, notice, settings)
    if notice.body is None:
        try:
            text = render(
                notice.kind,
                notice.channel,
                json.loads(notice.data),
                override_dir=settings.notice_templates_dir,
            )
        except TemplateFailure as exc:
            raise CloudbillError(ErrorCode.TEMPLATE_INVALID, str(exc)) from None
        values |= {"subject": text.subject, "body": text.body}
    conn.execute(
        update(customer_notice)
        .where(customer_notice.c.id == notice_id, customer_notice.c.status == notice.status)
        .values(
            status=PENDING, attempts=0, next_attempt_at=None, last_error=None, updated_at=now,
            **values,
        )
    )  # fmt: skip
    return get(conn, notice_id)


def _recipient(conn: Connection, notice, settings: Settings) -> str:  # type: ignore[no-untyped-def]
    """Where a skipped notice can go now, or why it still cannot."""
    who = conn.execute(
        select(customer.c.email, customer.c.mobile).where(customer.c.id == notice.customer_id)
    ).one()
    (route,) = [
        r
        for r in routes(
            email=who.email,
            mobile=who.mobile,
            smtp=bool(settings.smtp_host and settings.smtp_from),
            sms=bool(settings.sms_gateway_url),
        )
        if r.channel == notice.channel
    ]
    if route.skip_reason:
        raise CloudbillError(
            ErrorCode.INVALID_STATE, f"notice {notice.id} still cannot be sent: {route.skip_reason}"
        )
    return str(route.recipient)


def customer_view(row) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """A notice as its customer sees it: what was sent and when, not the delivery internals
    (attempts, errors, dedupe keys), which are the operator's."""
    return {
        "id": row.id,
        "kind": row.kind,
        "channel": row.channel,
        "recipient": row.recipient,
        "status": row.status,
        "sent_at": instant(row.sent_at),
        "created_at": instant(row.created_at),
        "subject": row.subject,
        "body": row.body,
    }


def view(row, attempt_rows: list[Any] | None = None) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    out: dict[str, Any] = {
        "id": row.id,
        "customer_id": row.customer_id,
        "kind": row.kind,
        "channel": row.channel,
        "recipient": row.recipient,
        "status": row.status,
        "attempts": row.attempts,
        "next_attempt_at": instant(row.next_attempt_at),
        "last_error": row.last_error,
        "sent_at": instant(row.sent_at),
        "created_at": instant(row.created_at),
        "dedupe_key": row.dedupe_key,
    }
    if attempt_rows is not None:
        out["subject"] = row.subject
        out["body"] = row.body
        out["attempt_log"] = [
            {"attempt": a.attempt, "at": instant(a.at), "error": a.error} for a in attempt_rows
        ]
    return out
