"""Pure lifecycle decisions for pay-per-use resources of a customer in (or out of) arrears.

The state machine is a table of (state, condition, effect), evaluated worst-first. Deadlines are
anchored to when a state began: grace begins when the customer went into arrears, retention when
the grace period ended. A catch-up after downtime is deterministic: each transition is dated at
its deadline, not at the time the job happened to run, and a resource may pass several states in
one evaluation (grace -> frozen -> released).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from ..resources.model import ResourceStatus
from .policy import PolicyRow

NORMAL, GRACE, FROZEN, RELEASED = (
    ResourceStatus.NORMAL,
    ResourceStatus.GRACE,
    ResourceStatus.FROZEN,
    ResourceStatus.RELEASED,
)


@dataclass(frozen=True, slots=True)
class ResourceFacts:
    resource_id: str
    status: ResourceStatus
    status_since: datetime
    billing_mode: str


@dataclass(frozen=True, slots=True)
class Transition:
    resource_id: str
    from_status: ResourceStatus
    to_status: ResourceStatus
    at: datetime
    reason: str
    event: str  # the provider event it emits


def decide(
    resource: ResourceFacts,
    *,
    arrears_since: datetime | None,
    periods: PolicyRow,
    now: datetime,
) -> list[Transition]:
    """Every transition due for `resource` by `now`, in order (possibly none)."""
    if resource.billing_mode != "pay_per_use" or resource.status is RELEASED:
        return []  # yearly/monthly resources keep running in arrears; released is terminal
    if arrears_since is None:
        if resource.status in (GRACE, FROZEN):
            return [
                Transition(
                    resource.resource_id,
                    resource.status,
                    NORMAL,
                    now,
                    "debt paid: arrears cleared",
                    "resource.unfrozen",
                )
            ]
        return []
    grace = timedelta(days=periods.grace_days)
    retention = timedelta(days=periods.retention_days)
    steps: list[Transition] = []
    status, since = resource.status, resource.status_since
    if status is NORMAL:
        # The grace period started when the customer went into arrears (or, for a resource
        # registered later, which arrears forbids, when it was registered).
        start = max(arrears_since, since)
        if start > now:
            return []
        steps.append(
            Transition(
                resource.resource_id,
                NORMAL,
                GRACE,
                start,
                "customer in arrears: grace period",
                "resource.grace_started",
            )
        )
        status, since = GRACE, start
    if status is GRACE and since + grace <= now:
        at = since + grace
        steps.append(
            Transition(
                resource.resource_id,
                GRACE,
                FROZEN,
                at,
                "grace period ended in arrears: frozen",
                "resource.frozen",
            )
        )
        status, since = FROZEN, at
    if status is FROZEN and since + retention <= now:
        steps.append(
            Transition(
                resource.resource_id,
                FROZEN,
                RELEASED,
                since + retention,
                "retention period ended in arrears: released",
                "resource.released",
            )
        )
    return steps


@dataclass(frozen=True, slots=True)
class Deadline:
    """Where the lifecycle will next act on a resource in grace or frozen, and after that."""

    resource_id: str
    status: ResourceStatus
    freeze_at: datetime | None  # grace: when it will be frozen
    release_at: datetime  # when it will be released


def deadline(resource: ResourceFacts, periods: PolicyRow) -> Deadline | None:
    """The dates `decide` will act on, unless the debt is paid first (None: not on the way)."""
    if resource.billing_mode != "pay_per_use":
        return None
    grace = timedelta(days=periods.grace_days)
    retention = timedelta(days=periods.retention_days)
    if resource.status is GRACE:
        freeze = resource.status_since + grace
        return Deadline(resource.resource_id, GRACE, freeze, freeze + retention)
    if resource.status is FROZEN:
        return Deadline(resource.resource_id, FROZEN, None, resource.status_since + retention)
    return None
