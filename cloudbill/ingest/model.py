"""Ingestion data."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from ..resources.model import Terms


@dataclass(frozen=True, slots=True)
class UsageInput:
    """One metered quantity as sent: values are checked by rules.validate, not trusted."""

    record_id: object
    resource_id: object
    usage_type: object
    quantity: object
    start: object
    end: object
    unit: object = None  # default: the pricing unit of the resource's spec


@dataclass(frozen=True, slots=True)
class ResourceFacts:
    """What validation needs to know about a resource (loaded in bulk)."""

    resource_id: str
    customer_id: str
    resource_type: str
    spec: str
    billing_mode: str
    status: str
    currency: str
    created_at: datetime  # usage before it is refused
    terms_since: datetime | None  # its billing mode or spec last changed (None: never)
    # Loaded only for the records that need them: the terms history, when a record starts
    # before the last change; when a frozen or released resource stopped running.
    history: tuple[Terms, ...] = ()
    stopped_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Rejection:
    index: int  # position in the batch or file (0-based)
    record_id: str | None
    code: str
    reason: str


@dataclass
class IngestResult:
    accepted: int = 0
    duplicates: int = 0
    rejected_count: int = 0
    rejected: list[Rejection] = field(default_factory=list)  # the first few, with reasons

    def as_dict(self) -> dict[str, object]:
        return {
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "rejected_count": self.rejected_count,
            "rejected": [
                {"index": r.index, "record_id": r.record_id, "code": r.code, "reason": r.reason}
                for r in self.rejected
            ],
        }


@dataclass(frozen=True, slots=True)
class ValidRecord:
    record_id: str
    payload_hash: str
    customer_id: str
    resource_id: str
    usage_type: str
    quantity: str
    unit: str
    pricing_unit: str
    quantity_e10: int
    start_at: datetime
    end_at: datetime
    first_hour: datetime
    last_hour: datetime
    spec: str | None = None  # the resource's spec during the interval: the price it is rated at
