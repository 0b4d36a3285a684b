"""Resource use cases: register, list, show, change a pay-per-use spec, release, change
status."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import Connection

from ..catalog import service as catalog_service
from ..catalog.model import BillingMode
from ..customers import rules as customer_rules
from ..customers import service as customers
from ..customers.model import Customer
from ..expenditure.model import Attribution
from ..kernel.errors import CloudbillError, ErrorCode
from ..kernel.ids import is_valid_id, new_id
from ..kernel.limits import PAGE_SIZE_DEFAULT, USAGE_HORIZON_DAYS
from . import repo, rules
from .model import Resource, ResourceInput, ResourceStatus, StatusChange, Terms


def get(conn: Connection, resource_id: str, *, customer_id: str | None = None) -> Resource:
    """A resource; with `customer_id`, only if that customer owns it (others' look absent)."""
    found = repo.get(conn, resource_id) if is_valid_id(resource_id) else None
    if found is None or (customer_id is not None and found.customer_id != customer_id):
        raise CloudbillError(ErrorCode.RESOURCE_NOT_FOUND, f"no resource {resource_id!r}")
    return found


def attribution(
    conn: Connection,
    customer_id: str,
    *,
    resource_id: str | None = None,
    service: str | None = None,
    billing_mode: str | None = None,
) -> Attribution:
    """What an operator's adjustment is for: one of the customer's resources (its service,
    type, spec, region and billing mode), or a catalog service (with a billing mode if named),
    or nothing named. A service or mode given with a resource must be the resource's."""
    customers.get(conn, customer_id)  # an unknown customer is that, whatever else is named
    mode = None
    if billing_mode is not None:
        try:
            mode = str(BillingMode(billing_mode))
        except ValueError:
            raise CloudbillError(
                ErrorCode.INVALID_ARGUMENT, "billing mode must be pay_per_use or yearly_monthly"
            ) from None
    if resource_id is not None:
        r = get(conn, resource_id, customer_id=customer_id)
        for name, given, own in (
            ("service", service, r.service),
            ("billing mode", mode, str(r.billing_mode)),
        ):
            if given is not None and given != own:
                raise CloudbillError(
                    ErrorCode.INVALID_ARGUMENT, f"resource {r.id} has {name} {own}, not {given}"
                )
        return Attribution(r.id, r.service, r.resource_type, r.spec, r.region, str(r.billing_mode))
    if service is not None:
        catalog_service.active(conn).service(service)  # CATALOG_ITEM_NOT_FOUND if unknown
        return Attribution(service=service, billing_mode=mode or "")
    return Attribution(billing_mode=mode or "")


def register(
    conn: Connection,
    data: ResourceInput,
    *,
    now: datetime,
    horizon: timedelta = timedelta(days=USAGE_HORIZON_DAYS),
) -> tuple[Resource, bool]:
    """Register a resource; (resource, created). Re-registering the same id and data is a no-op.

    A pay-per-use resource is fee-incurring: refused while the customer is in arrears or frozen.
    `horizon`: how far back its `created_at` may lie (the usage horizon).
    """
    customer = customers.get(conn, data.customer_id, lock=True)
    catalog = catalog_service.active(conn)
    given_creation = data.created_at is not None
    ref, mode, data = rules.check_input(data, catalog, customer.currency, now=now, horizon=horizon)
    assert data.created_at is not None
    if data.id is not None:
        existing = repo.get(conn, data.id)
        if existing is not None:
            same = (
                existing.customer_id == customer.id
                and existing.resource_type == data.resource_type
                and existing.spec == data.spec
                and existing.billing_mode == mode
                and existing.region == data.region
                and existing.name == data.name.strip()
                and existing.parent_id == data.parent_id
                and (not given_creation or existing.created_at == data.created_at)
            )
            if not same:
                raise CloudbillError(
                    ErrorCode.ALREADY_EXISTS, f"resource {data.id!r} exists with other data"
                )
            return existing, False
    if data.parent_id is not None:
        parent = get(conn, data.parent_id, customer_id=customer.id)
        if parent.status is ResourceStatus.RELEASED:
            raise CloudbillError(ErrorCode.INVALID_STATE, f"parent {parent.id} is released")
    if mode is BillingMode.PAY_PER_USE:
        customers.check_fee_allowed(conn, customer)
    else:
        customer_rules.check_not_frozen(customer)
    resource_id = data.id or new_id()
    repo.insert_resource(
        conn,
        {
            "id": resource_id,
            "customer_id": customer.id,
            "service": ref.service.code,
            "resource_type": ref.resource_type.code,
            "spec": ref.spec.code,
            "billing_mode": str(mode),
            "region": data.region,
            "name": data.name.strip(),
            "parent_id": data.parent_id,
            "status": str(ResourceStatus.NORMAL),
            "status_since": data.created_at,
            "created_at": data.created_at,
            "expire_at": data.expire_at,
        },
    )
    repo.add_history(
        conn,
        StatusChange(resource_id, None, ResourceStatus.NORMAL, data.created_at, "registered"),
    )
    if mode is BillingMode.YEARLY_MONTHLY:
        _subscription_for_registered(conn, resource_id, customer, data.expire_at, now)
    return get(conn, resource_id), True


# The subscriptions stage (above this one) starts the subscription of a yearly/monthly resource
# registered with its expiry; bootstrap wires it. (resource id, customer, expire_at, now)
RegisteredHandler = Callable[[Connection, str, Customer, datetime, datetime], None]
_registered_handlers: list[RegisteredHandler] = []


def on_yearly_monthly_registered(handler: RegisteredHandler) -> None:
    if handler not in _registered_handlers:
        _registered_handlers.append(handler)


def _subscription_for_registered(conn, resource_id, customer, expire_at, now) -> None:  # type: ignore[no-untyped-def]
    assert _registered_handlers, "bootstrap.wire() connects the subscriptions stage"
    for handler in _registered_handlers:
        handler(conn, resource_id, customer, expire_at, now)


def change_status(
    conn: Connection, resource_id: str, target: ResourceStatus, *, reason: str, now: datetime
) -> Resource:
    current = repo.get(conn, resource_id, lock=True)
    if current is None:
        raise CloudbillError(ErrorCode.RESOURCE_NOT_FOUND, f"no resource {resource_id!r}")
    if current.status is target:
        return current
    rules.check_transition(current.status, target)
    repo.set_status(conn, StatusChange(resource_id, current.status, target, now, reason))
    return get(conn, resource_id)


def change_spec(conn: Connection, resource_id: str, spec: object, *, now: datetime) -> Resource:
    """A pay-per-use resource's new spec, from now on: its usage up to now is priced at the old
    spec and after it at the new one, whenever it arrives (resource_terms; a record spanning
    the instant is refused, its two parts are priced apart). A yearly/monthly resource changes
    its spec by an order instead (orders/change.py): the rest of its term is paid or refunded."""
    current = repo.get(conn, resource_id, lock=True) if is_valid_id(resource_id) else None
    if current is None:
        raise CloudbillError(ErrorCode.RESOURCE_NOT_FOUND, f"no resource {resource_id!r}")
    if not isinstance(spec, str) or not spec.strip():
        raise CloudbillError(ErrorCode.INVALID_ARGUMENT, "name the new spec")
    spec = spec.strip()
    if current.billing_mode is not BillingMode.PAY_PER_USE:
        raise CloudbillError(
            ErrorCode.INVALID_STATE,
            f"resource {current.id} is yearly/monthly: change its spec with a change order",
        )
    if current.status in (ResourceStatus.FROZEN, ResourceStatus.RELEASED):
        raise CloudbillError(ErrorCode.INVALID_STATE, f"resource {current.id} is {current.status}")
    if spec == current.spec:
        raise CloudbillError(
            ErrorCode.INVALID_ARGUMENT, f"resource {current.id} already has spec {spec}"
        )
    customer = customers.get(conn, current.customer_id, lock=True)
    customers.check_fee_allowed(conn, customer)
    ref = catalog_service.active(conn).spec(current.resource_type, spec)
    prices = ref.spec.prices.get(customer.currency)
    if prices is None or not prices.pay_per_use:
        raise CloudbillError(
            ErrorCode.CATALOG_ITEM_NOT_FOUND,
            f"{spec} has no pay-per-use price in {customer.currency} in the active catalog",
        )
    repo.change_terms(conn, current.id, at=now, spec=spec)
    return get(conn, current.id)


def release(conn: Connection, resource_id: str, *, reason: str, now: datetime) -> Resource:
    """Delete a resource for good (the customer or provider removed it). Terminal."""
    return change_status(conn, resource_id, ResourceStatus.RELEASED, reason=reason, now=now)


def list_resources(
    conn: Connection,
    *,
    customer_id: str | None = None,
    status: str | None = None,
    billing_mode: str | None = None,
    service: str | None = None,
    parent_id: str | None = None,
    limit: int = PAGE_SIZE_DEFAULT,
    offset: int = 0,
) -> tuple[list[Resource], int]:
    customers.check_page(limit, offset)
    try:
        status = str(ResourceStatus(status)) if status is not None else None
        billing_mode = str(BillingMode(billing_mode)) if billing_mode is not None else None
    except ValueError as exc:
        raise CloudbillError(ErrorCode.INVALID_ARGUMENT, str(exc)) from None
    if customer_id is not None:
        customers.get(conn, customer_id)
    return repo.list_resources(
        conn,
        filters={
            "customer_id": customer_id,
            "status": status,
            "billing_mode": billing_mode,
            "service": service,
            "parent_id": parent_id,
        },
        limit=limit,
        offset=offset,
    )


def terms(conn: Connection, resource_id: str) -> list[Terms]:
    """Its billing mode and spec and from when, oldest first (empty: never changed)."""
    return repo.terms_history(conn, [resource_id]).get(resource_id, [])


def history(conn: Connection, resource_id: str) -> list[StatusChange]:
    get(conn, resource_id)
    return repo.history(conn, resource_id)
