"""Resource data and the legal status transitions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from ..catalog.model import BillingMode


class ResourceStatus(StrEnum):
    NORMAL = "normal"
    GRACE = "grace"  # in arrears or expired: still running, still billed
    FROZEN = "frozen"  # retention period: stopped, no operations, not billed
    RELEASED = "released"  # deleted; terminal


# Huawei's numeric resource status codes (BSS API): 1 normal, 2 grace period, 3 frozen.
HUAWEI_STATUS_CODE = {
    ResourceStatus.NORMAL: 1,
    ResourceStatus.GRACE: 2,
    ResourceStatus.FROZEN: 3,
    ResourceStatus.RELEASED: 5,
}

# from -> the statuses it may move to. `released` is terminal.
TRANSITIONS: dict[ResourceStatus, frozenset[ResourceStatus]] = {
    ResourceStatus.NORMAL: frozenset(
        {ResourceStatus.GRACE, ResourceStatus.FROZEN, ResourceStatus.RELEASED}
    ),
    ResourceStatus.GRACE: frozenset(
        {ResourceStatus.NORMAL, ResourceStatus.FROZEN, ResourceStatus.RELEASED}
    ),
    ResourceStatus.FROZEN: frozenset({ResourceStatus.NORMAL, ResourceStatus.RELEASED}),
    ResourceStatus.RELEASED: frozenset(),
}


@dataclass(frozen=True, slots=True)
class Resource:
    id: str
    customer_id: str
    service: str
    resource_type: str
    spec: str
    billing_mode: BillingMode
    region: str
    name: str
    parent_id: str | None
    status: ResourceStatus
    status_since: datetime
    created_at: datetime
    expire_at: datetime | None
    terms_since: datetime | None = None  # its billing mode or spec last changed (None: never)


@dataclass(frozen=True, slots=True)
class Terms:
    """The billing mode and spec a resource had from `since` on (until the next change)."""

    since: datetime
    billing_mode: str
    spec: str


@dataclass(frozen=True, slots=True)
class ResourceInput:
    customer_id: str
    resource_type: str
    spec: str
    billing_mode: str
    region: str
    name: str
    id: str | None = None
    parent_id: str | None = None
    expire_at: datetime | None = None
    # When the resource came into being, if before its registration (a meter that reports a
    # resource only once it has run): pay-per-use only, never in the future, and within the
    # usage horizon. Usage dated before it is refused.
    created_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class StatusChange:
    resource_id: str
    from_status: ResourceStatus | None
    to_status: ResourceStatus
    at: datetime
    reason: str
