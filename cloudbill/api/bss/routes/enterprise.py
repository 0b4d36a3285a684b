"""Enterprise accounts (appendix P of docs/bss-api-map.md): the master's member accounts, and
the enterprise-project authorization cloudbill has no meaning for."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request

from ....customers import service as customers
from ....customers.model import Customer
from ....enterprise import service as enterprise
from ....enterprise.model import Association, AssociationStatus
from ....kernel.errors import CloudbillError, ErrorCode
from ..errors import bad_parameter
from ..jsonnum import ExactRoute
from .common import Caller, Offset, read

router = APIRouter(route_class=ExactRoute)

# SubCustomerInfoV2.status: 1 normal, 2 creating, 3 closing, 4 closed, 101 registering,
# 102 waiting for activation. An accepted member is normal; an invitation not yet answered
# waits for the member's activation. Ended associations are not listed: after
# disassociation the old master sees nothing of the member.
STATUS_CODE = {AssociationStatus.ACTIVE: 1, AssociationStatus.INVITED: 102}
SUB_CUSTOMERS_LIMIT_MAX = 100  # Huawei: limit 1-100, default 10


def _matches(value: str, wanted: str | None, fuzzy: bool) -> bool:
    if wanted is None:
        return True
    return wanted in value if fuzzy else value == wanted


@router.get("/v2/enterprises/multi-accounts/sub-customers")
def list_enterprise_sub_customers(
    request: Request,
    sub_customer_account_name: str | None = Query(None, max_length=64),
    sub_customer_display_name: str | None = Query(None, max_length=64),
    fuzzy_query: int = Query(0),
    offset: int = Offset,
    limit: int = Query(10),
    org_id: str | None = Query(None, max_length=64),
    customer: Customer = Caller,
) -> dict[str, Any]:
    """The caller's member accounts (a customer that is no master has none). cloudbill has no
    organization units: `org_id`/`org_name` are null, and a given `org_id` matches nothing."""
    if fuzzy_query not in (0, 1):
        raise bad_parameter("fuzzy_query: 0 or 1")
    if not 1 <= limit <= SUB_CUSTOMERS_LIMIT_MAX:
        raise bad_parameter(f"limit: 1-{SUB_CUSTOMERS_LIMIT_MAX}")
    for name, value in (("sub_customer_account_name", sub_customer_account_name),
                        ("sub_customer_display_name", sub_customer_display_name)):  # fmt: skip
        if value is not None and " " in value:
            raise bad_parameter(f"{name}: no spaces")

    def work(conn, _now):  # type: ignore[no-untyped-def]
        rows: list[tuple[Association, Customer]] = []
        page, start = 1000, 0
        while True:  # every live association of the master (bounded pages), then filtered
            found, total = enterprise.list_for_master(conn, customer.id, limit=page, offset=start)
            rows += [(a, _member(conn, a.member_id)) for a in found]
            start += page
            if start >= total:
                return rows

    fuzzy = fuzzy_query == 1
    chosen = [
        (a, m)
        for a, m in read(request, work)
        if org_id in (None, "")
        and _matches(m.name, sub_customer_account_name or None, fuzzy)
        and _matches(m.name, sub_customer_display_name or None, fuzzy)
    ]
    chosen.sort(key=lambda pair: (pair[0].created_at, pair[0].id))
    return {
        "total_count": len(chosen),
        "sub_customer_infos": [
            {
                "id": m.id,
                "name": m.name,
                "display_name": m.name,
                "status": STATUS_CODE[a.status],
                "org_id": None,
                "org_name": None,
            }
            for a, m in chosen[offset : offset + limit]
        ],
    }


def _member(conn, member_id: str) -> Customer:  # type: ignore[no-untyped-def]
    return customers.get(conn, member_id)


@router.post("/v2/enterprises/enterprise-projects/authority")
def create_enterprise_project_auth(customer: Customer = Caller) -> None:
    """Huawei: switches on enterprise projects (EPS) in the customer's billing, so bills can be
    split by enterprise project. cloudbill keeps no enterprise projects; grouping accounts is
    done with enterprise master and member accounts. A clear refusal, nothing changed."""
    raise CloudbillError(
        ErrorCode.ENTERPRISE_NOT_SUPPORTED,
        "cloudbill has no enterprise projects to authorize; group accounts as an enterprise "
        "master with member accounts instead (customer API /customer/v1/enterprise)",
        customer_id=customer.id,
    )
