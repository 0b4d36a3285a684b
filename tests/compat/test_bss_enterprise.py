"""Enterprise accounts through the real huaweicloudsdkbssintl client: ListEnterpriseSubCustomers
lists a master's members (fields and status codes as SubCustomerInfoV2 models them), nobody
else sees them, a member that left is no longer listed; CreateEnterpriseProjectAuth is refused
(cloudbill has no enterprise projects) and changes nothing."""

from __future__ import annotations

from typing import Any

import pytest
from huaweicloudsdkbssintl.v2 import (
    CreateEnterpriseProjectAuthRequest,
    ListEnterpriseSubCustomersRequest,
)
from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException

from cloudbill.bootstrap import Container
from cloudbill.enterprise import service as enterprise

from ..helpers import new_customer, snapshot
from .conftest import issue_key, sdk_client


def client_of(container: Container, bss: str, customer_id: str) -> Any:
    key = issue_key(container, customer_id)
    return sdk_client(bss, key.key.id, key.secret, customer_id)


def test_list_enterprise_sub_customers(container: Container, bss: str) -> None:
    hq = new_customer(container, "hq")
    web, data, old = (new_customer(container, n) for n in ("team-web", "team-data", "old-team"))
    for member in (web, old):
        container.write(
            lambda conn, now, m=member: enterprise.associate(
                conn, master_id=hq.id, member_id=m.id, mode="unified", now=now
            )
        )
    container.write(
        lambda conn, now: enterprise.invite(
            conn, master_id=hq.id, member_id=data.id, mode="independent", now=now
        )
    )
    gone = container.read(lambda conn, _n: enterprise.of_member(conn, old.id))
    container.write(
        lambda conn, now: enterprise.disassociate(conn, association_id=gone.id, now=now)
    )
    master = client_of(container, bss, hq.id)

    listed = master.list_enterprise_sub_customers(ListEnterpriseSubCustomersRequest())
    assert listed.status_code == 200 and listed.total_count == 2
    rows = {(s.id, s.name, s.display_name, s.status) for s in listed.sub_customer_infos}
    assert rows == {(web.id, "team-web", "team-web", 1), (data.id, "team-data", "team-data", 102)}
    assert all(s.org_id is None and s.org_name is None for s in listed.sub_customer_infos)

    page = master.list_enterprise_sub_customers(
        ListEnterpriseSubCustomersRequest(offset=1, limit=1)
    )
    # the second of the full list's order (newest first; made at the same instant, by id)
    second = listed.sub_customer_infos[1].id
    assert page.total_count == 2 and [s.id for s in page.sub_customer_infos] == [second]
    exact = master.list_enterprise_sub_customers(
        ListEnterpriseSubCustomersRequest(sub_customer_account_name="team-web")
    )
    assert [s.id for s in exact.sub_customer_infos] == [web.id]
    fuzzy = master.list_enterprise_sub_customers(
        ListEnterpriseSubCustomersRequest(sub_customer_display_name="data", fuzzy_query=1)
    )
    assert [s.id for s in fuzzy.sub_customer_infos] == [data.id]
    assert (
        master.list_enterprise_sub_customers(
            ListEnterpriseSubCustomersRequest(sub_customer_account_name="data")
        ).total_count
        == 0
    )
    assert (
        master.list_enterprise_sub_customers(
            ListEnterpriseSubCustomersRequest(org_id="org-1")
        ).total_count
        == 0
    )

    # a member, the member that left and an outsider see no members
    for other in (web, old, new_customer(container, "outsider")):
        seen = client_of(container, bss, other.id).list_enterprise_sub_customers(
            ListEnterpriseSubCustomersRequest()
        )
        assert (seen.total_count, seen.sub_customer_infos) == (0, [])

    with pytest.raises(ClientRequestException) as caught:
        master.list_enterprise_sub_customers(ListEnterpriseSubCustomersRequest(limit=101))
    assert (caught.value.status_code, caught.value.error_code) == (400, "CBC.0100")


def test_enterprise_project_authority_is_refused(container: Container, bss: str) -> None:
    hq = new_customer(container, "hq")
    master = client_of(container, bss, hq.id)
    before = snapshot(container)
    with pytest.raises(ClientRequestException) as caught:
        master.create_enterprise_project_auth(CreateEnterpriseProjectAuthRequest())
    assert (caught.value.status_code, caught.value.error_code) == (403, "CBC.0150")
    assert "ENTERPRISE_NOT_SUPPORTED" in caught.value.error_msg
    assert snapshot(container) == before
