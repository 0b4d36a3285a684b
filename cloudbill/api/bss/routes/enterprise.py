"""Enterprise accounts (appendix P of docs/bss-api-map.md): the master's member accounts, and
the enterprise-project authorization cloudbill has no meaning for."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request

from ....customers.model import Customer
from ....enterprise import service as enterprise
from ....enterprise.model import AssociationStatus
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

    wanted = (sub_customer_account_name, sub_customer_display_name)
    names = [(value, fuzzy_query == 1) for value in wanted if value]
    if org_id not in (None, ""):  # no organization units here: a given one matches nothing
        return {"total_count": 0, "sub_customer_infos": []}
    # Filtered and paged in SQL: a master with many members is never loaded whole.
    chosen, total = read(
        request,
        lambda conn, _now: enterprise.members_page(
            conn, customer.id, names=names, limit=limit, offset=offset
        ),
    )
    return {
        "total_count": total,
        "sub_customer_infos": [
            {
                "id": a.member_id,
                "name": name,
                "display_name": name,
                "status": STATUS_CODE[a.status],
                "org_id": None,
                "org_name": None,
            }
            for a, name in chosen
        ],
    }


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
