"""Usage records from a message stream: decoding messages and storing a batch of them.

Pure of any broker (the NATS JetStream I/O is in jetstream.py). A message holds one usage
record as a JSON object, or a JSON array of them, with the fields of the HTTP batch route
(`POST /operator/v1/usage-records`). A stream must never stop on one bad record, so unlike
the HTTP route a batch is not refused whole: the records that pass are stored, each rejected
one (or undecodable message) becomes a dead letter with its code and reason. Storing runs in
transactions of at most USAGE_BATCH_MAX records through `service.ingest_batch`; a rejection
takes the rejected records out and stores the rest again, because whether a record passes can
depend on the others of its batch (running time within an hour).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from ..kernel import json_text
from ..kernel.errors import CloudbillError, ErrorCode
from ..kernel.limits import USAGE_BATCH_MAX
from . import service
from .model import IngestResult, UsageInput

REQUIRED = ("record_id", "resource_id", "usage_type", "quantity", "start", "end")
OPTIONAL = ("unit",)
REQUIRED_SET = frozenset(REQUIRED)
FIELDS = frozenset((*REQUIRED, *OPTIONAL))  # a record's fields: the HTTP route's too
TEXT_SHOWN_MAX = 2000  # characters of an undecodable message kept in its dead letter


@dataclass(frozen=True, slots=True)
class Message:
    key: str  # the broker's position of the message (a stream sequence): what a dead letter cites
    data: bytes


@dataclass(frozen=True, slots=True)
class DeadLetter:
    message_key: str
    code: str
    reason: str
    record: Any = None  # the record as sent (a JSON value), when the message decoded
    text: str | None = None  # the message's beginning, when it did not

    def as_json(self) -> bytes:
        body = {"message": self.message_key, "code": self.code, "reason": self.reason}
        if self.text is not None:
            body["text"] = self.text
        else:
            body["record"] = self.record
        return json.dumps(body, separators=(",", ":"), default=str).encode()


@dataclass(frozen=True, slots=True)
class Pending:
    message_key: str
    record: UsageInput
    raw: Any


@dataclass
class Decoded:
    records: list[Pending] = field(default_factory=list)
    dead: list[DeadLetter] = field(default_factory=list)


@dataclass
class Outcome:
    stored: int = 0
    duplicates: int = 0
    dead: list[DeadLetter] = field(default_factory=list)


def decode(messages: Sequence[Message]) -> Decoded:
    out = Decoded()
    for message in messages:
        try:
            # Floats stay floats so that validation refuses them, as the HTTP route does.
            value = json_text.loads(message.data)
        except (ValueError, UnicodeDecodeError) as exc:  # nested too deep: a ValueError too
            text = message.data[:TEXT_SHOWN_MAX].decode("utf-8", "replace")
            out.dead.append(
                DeadLetter(message.key, ErrorCode.INVALID_ARGUMENT, f"not JSON: {exc}", text=text)
            )
            continue
        items = value if isinstance(value, list) else [value]
        if not 1 <= len(items) <= USAGE_BATCH_MAX:
            reason = f"a message holds 1 to {USAGE_BATCH_MAX} usage records"
            text = message.data[:TEXT_SHOWN_MAX].decode("utf-8", "replace")
            out.dead.append(DeadLetter(message.key, ErrorCode.LIMIT_EXCEEDED, reason, text=text))
            continue
        for item in items:
            problem = _shape_problem(item)
            if problem:
                out.dead.append(
                    DeadLetter(message.key, ErrorCode.INVALID_ARGUMENT, problem, record=item)
                )
            else:
                out.records.append(Pending(message.key, UsageInput(**item), item))
    return out


def _shape_problem(item: object) -> str | None:
    """What the HTTP route's schema would refuse before validation (None: nothing)."""
    if not isinstance(item, dict):
        return "a usage record is a JSON object"
    keys = item.keys()
    if not keys >= REQUIRED_SET:
        return "missing field(s): " + ", ".join(name for name in REQUIRED if name not in item)
    if not keys <= FIELDS:
        return "unknown field(s): " + ", ".join(sorted(keys - FIELDS))
    for name in _TEXTS:
        if not isinstance(item[name], str):
            return f"{name} must be a string"
    unit = item.get("unit")
    if unit is not None and not isinstance(unit, str):
        return "unit must be a string"
    return None


_TEXTS = tuple(name for name in REQUIRED if name != "quantity")  # the quantity: any JSON number


# Runs one use case in one write transaction with the current time (Container.write).
Write = Callable[[Callable[[Connection, datetime], IngestResult]], IngestResult]


def store(write: Write, records: Sequence[Pending], *, horizon: timedelta) -> Outcome:
    """Store what passes of `records`, in transactions of at most USAGE_BATCH_MAX records; the
    rest come back as dead letters. Returns once every transaction committed."""
    outcome = Outcome()
    for first in range(0, len(records), USAGE_BATCH_MAX):
        _store_chunk(write, list(records[first : first + USAGE_BATCH_MAX]), horizon, outcome)
    return outcome


def _store_chunk(write: Write, chunk: list[Pending], horizon: timedelta, outcome: Outcome) -> None:
    # Each refusal takes at least one record out, so this ends within len(chunk) + 1 rounds.
    for _round in range(len(chunk) + 1):
        if not chunk:
            return
        inputs = [p.record for p in chunk]
        try:
            result = write(
                lambda conn, now, inputs=inputs: service.ingest_batch(
                    conn, inputs, now=now, horizon=horizon
                )
            )
        except CloudbillError as exc:
            if exc.code is not ErrorCode.USAGE_REJECTED:
                raise
            chunk = _without_rejected(chunk, exc.details.get("rejected", []), outcome)
            continue
        outcome.stored += result.accepted
        outcome.duplicates += result.duplicates
        return
    raise AssertionError("a refused batch named no rejected record")


def _without_rejected(
    chunk: list[Pending], rejected: list[dict[str, Any]], outcome: Outcome
) -> list[Pending]:
    if not rejected:
        raise AssertionError("a refused batch named no rejected record")
    out = {r["index"]: r for r in rejected}
    for index, item in sorted(out.items()):
        pending = chunk[index]
        outcome.dead.append(
            DeadLetter(pending.message_key, item["code"], item["reason"], record=pending.raw)
        )
    return [p for i, p in enumerate(chunk) if i not in out]
