"""Pure resource rules."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime, timedelta

from ..catalog.index import CatalogIndex, SpecRef
from ..catalog.model import BillingMode
from ..kernel.clock import ensure_utc
from ..kernel.errors import CloudbillError, ErrorCode
from ..kernel.ids import is_valid_id
from ..kernel.limits import NAME_MAX_CHARS, USAGE_HORIZON_DAYS
from .model import TRANSITIONS, ResourceInput, ResourceStatus

_REGION_RE = re.compile(r"^[a-z0-9][a-z0-9\-]{0,63}$")


def _bad(message: str) -> CloudbillError:
    return CloudbillError(ErrorCode.INVALID_ARGUMENT, message)


def check_transition(current: ResourceStatus, target: ResourceStatus) -> None:
    if target not in TRANSITIONS[current]:
        raise CloudbillError(
            ErrorCode.INVALID_STATE, f"a {current} resource cannot become {target}"
        )


def check_input(
    data: ResourceInput,
    catalog: CatalogIndex,
    currency: str,
    *,
    now: datetime,
    horizon: timedelta = timedelta(days=USAGE_HORIZON_DAYS),
) -> tuple[SpecRef, BillingMode, ResourceInput]:
    if data.id is not None and not is_valid_id(data.id):
        raise _bad("resource id: 1-128 letters, digits and _ . : - (starting with a letter/digit)")
    if not isinstance(data.name, str) or not data.name.strip() or len(data.name) > NAME_MAX_CHARS:
        raise _bad(f"resource name must be 1-{NAME_MAX_CHARS} characters")
    if not isinstance(data.region, str) or not _REGION_RE.match(data.region):
        raise _bad(
            f"region {data.region!r}: lowercase letters, digits and '-', like ap-southeast-1"
        )
    try:
        mode = BillingMode(data.billing_mode)
    except ValueError:
        raise _bad("billing mode must be pay_per_use or yearly_monthly") from None
    ref = catalog.spec(data.resource_type, data.spec)
    if mode not in ref.resource_type.billing_modes:
        raise _bad(f"{ref.resource_type.code} is not sold {mode}")
    prices = ref.spec.prices.get(currency)
    priced = prices is not None and (
        bool(prices.pay_per_use) if mode is BillingMode.PAY_PER_USE else prices.monthly is not None
    )
    if not priced:
        raise CloudbillError(
            ErrorCode.CATALOG_ITEM_NOT_FOUND,
            f"{ref.spec.code} has no {mode} price in {currency}",
        )
    if mode is BillingMode.YEARLY_MONTHLY:
        if data.expire_at is not None:
            data = replace(data, expire_at=ensure_utc(data.expire_at))  # naive = UTC
        if data.expire_at is None:
            raise _bad("a yearly/monthly resource needs its expiry (expire_at)")
        if data.expire_at <= now:
            raise _bad("expire_at must be in the future")
    elif data.expire_at is not None:
        raise _bad("a pay-per-use resource has no expiry")
    return ref, mode, _with_creation(data, mode, now=now, horizon=horizon)


def _with_creation(
    data: ResourceInput, mode: BillingMode, *, now: datetime, horizon: timedelta
) -> ResourceInput:
    """`created_at` checked (default: now). A pay-per-use resource may have been created
    before it is registered, as far back as usage is accepted; a yearly/monthly one starts
    when its subscription does."""
    if data.created_at is None:
        return replace(data, created_at=now)
    created = ensure_utc(data.created_at)
    if created > now:
        raise _bad("created_at cannot be in the future")
    if created < now and mode is not BillingMode.PAY_PER_USE:
        raise _bad("only a pay-per-use resource can be registered as created earlier")
    if created < now - horizon:
        raise _bad(
            f"created_at: at most {horizon.days} days ago, as for usage "
            "(CLOUDBILL_USAGE_HORIZON_DAYS)"
        )
    return replace(data, created_at=created)
