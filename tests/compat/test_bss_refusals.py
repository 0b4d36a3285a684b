"""What the BSS listener refuses, in Huawei's shape (`error_code`, `error_msg`, X-Request-Id),
seen through the real SDK: wrong SK, stale X-Sdk-Date, unknown or disabled AK, another domain,
malformed parameters, the rate limit; and another customer's ids answer as if they did not exist."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from huaweicloudsdkbssintl.v2 import (
    ListCustomerselfResourceRecordDetailsRequest,
    ListCustomerselfResourceRecordsRequest,
    ListFreeResourceInfosReq,
    ListFreeResourceInfosRequest,
    ListFreeResourcesUsageRecordsRequest,
    ListFreeResourceUsagesReq,
    ListFreeResourceUsagesRequest,
    ListSubCustomerCouponsRequest,
    QueryResRecordsDetailReq,
    ShowCustomerAccountBalancesRequest,
    ShowCustomerMonthlySumRequest,
)
from huaweicloudsdkcore.auth.credentials import GlobalCredentials
from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException
from huaweicloudsdkcore.sdk_request import SdkRequest
from huaweicloudsdkcore.signer import signer as sdk_signer
from huaweicloudsdkcore.signer.signer import Signer

from cloudbill.api.bss import signing
from cloudbill.bootstrap import Container
from cloudbill.credentials import service as credentials

from ..helpers import new_customer
from .conftest import issue_key, sdk_client, start_bss
from .test_bss_sdk import MONTH, world

__all__ = ["world"]  # the fixture, used by name
BALANCES = ShowCustomerAccountBalancesRequest()


def refused(call: Any, status: int, code: str) -> ClientRequestException:
    with pytest.raises(ClientRequestException) as caught:
        call()
    exc = caught.value
    assert (exc.status_code, exc.error_code) == (status, code), (exc.error_code, exc.error_msg)
    assert exc.request_id and exc.error_msg
    return exc


def test_authentication_refusals(
    container: Container, bss: str, world: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    acme = world["customer"]
    key = issue_key(container, acme.id)
    ak, sk = key.key.id, key.secret
    wrong_sk = sdk_client(bss, ak, sk[:-1] + ("x" if sk[-1] != "x" else "y"), acme.id)
    refused(lambda: wrong_sk.show_customer_account_balances(BALANCES), 401, "CBC.0154")
    unknown = sdk_client(bss, "A" * 20, sk, acme.id)
    refused(lambda: unknown.show_customer_account_balances(BALANCES), 401, "CBC.0154")
    other_domain = sdk_client(bss, ak, sk, "0" * 32)
    refused(lambda: other_domain.show_customer_account_balances(BALANCES), 403, "CBC.0151")
    no_domain = sdk_client(bss, ak, sk, None)  # the customer comes from the AK alone
    assert no_domain.show_customer_account_balances(BALANCES).status_code == 200

    good = sdk_client(bss, ak, sk, acme.id)
    container.write(lambda conn, now: credentials.set_enabled(conn, ak, False, now=now))
    refused(lambda: good.show_customer_account_balances(BALANCES), 403, "CBC.0151")
    container.write(lambda conn, now: credentials.set_enabled(conn, ak, True, now=now))
    assert good.show_customer_account_balances(BALANCES).status_code == 200

    class Stale(datetime):
        @classmethod
        def utcnow(cls) -> datetime:  # type: ignore[override]
            return datetime.utcnow() - timedelta(minutes=16)

    monkeypatch.setattr(sdk_signer, "datetime", Stale)
    refused(lambda: good.show_customer_account_balances(BALANCES), 401, "CBC.0154")


def test_malformed_parameters(world: dict[str, Any]) -> None:
    client = world["client"]
    refused(
        lambda: client.show_customer_monthly_sum(ShowCustomerMonthlySumRequest()), 400, "CBC.0100"
    )
    refused(
        lambda: client.show_customer_monthly_sum(
            ShowCustomerMonthlySumRequest(bill_cycle="2026-13")
        ),
        400,
        "CBC.0100",
    )
    refused(
        lambda: client.list_customerself_resource_records(
            ListCustomerselfResourceRecordsRequest(cycle=MONTH, limit=0)
        ),
        400,
        "CBC.0100",
    )
    refused(
        lambda: client.list_customerself_resource_records(
            ListCustomerselfResourceRecordsRequest(cycle=MONTH, statistic_type=9)
        ),
        400,
        "CBC.0100",
    )
    refused(
        lambda: client.list_free_resource_usages(
            ListFreeResourceUsagesRequest(body=ListFreeResourceUsagesReq(free_resource_ids=[]))
        ),
        400,
        "CBC.0100",
    )


def test_rate_limit_per_access_key(container: Container, world: dict[str, Any]) -> None:
    acme = world["customer"]
    server = start_bss(container, bss_rate_per_s=0.001, bss_burst=2)
    try:
        endpoint = f"http://127.0.0.1:{server.port}"
        key = issue_key(container, acme.id)
        client = sdk_client(endpoint, key.key.id, key.secret, acme.id)
        for _ in range(2):
            assert client.show_customer_account_balances(BALANCES).status_code == 200
        # The SDK reads a 429 through urllib3's retry and reports only the status ...
        with pytest.raises(ClientRequestException) as caught:
            client.show_customer_account_balances(BALANCES)
        assert caught.value.status_code == 429
        # ... so the body is checked on a request signed by hand.
        answer = signed_get(endpoint, "/v2/accounts/customer-accounts/balances", key)
        assert answer.status_code == 429 and answer.headers["X-Request-Id"]
        assert answer.json()["error_code"] == "CBC.0250"
        other_key = issue_key(container, new_customer(container, "calm").id)
        assert signed_get(endpoint, "/v2/accounts/customer-accounts/balances", other_key).is_success
    finally:
        server.stop()


def signed_get(endpoint: str, path: str, key: Any) -> httpx.Response:
    """A GET signed with cloudbill's own implementation of SDK-HMAC-SHA256."""
    host = endpoint.removeprefix("http://")
    date = datetime.now(UTC).strftime(signing.DATE_FORMAT)
    headers = {"host": host, "x-sdk-date": date}
    canonical = signing.canonical_request(
        method="GET",
        raw_path=path,
        raw_query="",
        headers=headers,
        signed_headers=("host", "x-sdk-date"),
        body=b"",
    )
    auth = (
        f"SDK-HMAC-SHA256 Access={key.key.id}, SignedHeaders=host;x-sdk-date, "
        f"Signature={signing.signature(key.secret, date, canonical)}"
    )
    return httpx.get(endpoint + path, headers={"X-Sdk-Date": date, "Authorization": auth})


def test_another_customers_ids_answer_as_missing(
    container: Container, bss: str, world: dict[str, Any]
) -> None:
    """Every route, called by `other` with acme's ids, finds nothing of acme's."""
    acme_package, acme_coupon = world["package"], world["coupon"]
    other = new_customer(container, "other")
    key = issue_key(container, other.id)
    client = sdk_client(bss, key.key.id, key.secret, other.id)
    balances = client.show_customer_account_balances(BALANCES)
    assert balances.account_balances[0].amount == 0
    sums = client.show_customer_monthly_sum(ShowCustomerMonthlySumRequest(bill_cycle=MONTH))
    assert sums.total_count == 0 and sums.consume_amount == 0
    records = client.list_customerself_resource_records(
        ListCustomerselfResourceRecordsRequest(cycle=MONTH, resource_id="vm-1")
    )
    assert records.total_count == 0
    detail = client.list_customerself_resource_record_details(
        ListCustomerselfResourceRecordDetailsRequest(
            body=QueryResRecordsDetailReq(cycle=MONTH, res_instance_id="vm-1", statistic_type=3)
        )
    )
    assert detail.total_count == 0
    packages = client.list_free_resource_infos(
        ListFreeResourceInfosRequest(body=ListFreeResourceInfosReq(product_id=acme_package.id))
    )
    assert packages.total_count == 0
    usages = client.list_free_resource_usages(
        ListFreeResourceUsagesRequest(
            body=ListFreeResourceUsagesReq(free_resource_ids=[acme_package.id])
        )
    )
    assert usages.free_resources == []
    used = client.list_free_resources_usage_records(
        ListFreeResourcesUsageRecordsRequest(free_resource_id=acme_package.id)
    )
    assert used.total_count == 0
    coupons = client.list_sub_customer_coupons(
        ListSubCustomerCouponsRequest(coupon_id=acme_coupon.id)
    )
    assert coupons.count == 0


def test_the_signed_query_is_the_query_the_route_reads(
    container: Container, bss: str, world: dict[str, Any]
) -> None:
    """A signature covers one reading of the query: a duplicated key in another order, or a
    `%2B` (plus) swapped for `+` (space), is refused instead of read differently."""
    from .conftest import sign

    key = issue_key(container, world["customer"].id)
    path = "/v2/bills/customer-bills/res-fee-records"
    good = sign(bss, key.key.id, key.secret, "GET", path, {"cycle": MONTH, "region": "a+b"})
    assert "region=a%2Bb" in good.url
    assert good.send().status_code == 200
    swapped = dataclasses.replace(good, url=good.url.replace("a%2Bb", "a+b"))
    assert swapped.send().status_code == 401
    # The SDK's signer over `offset=0&offset=1`; sent as `offset=1&offset=0`, which the
    # route would read as another offset under the same signature: both are refused.
    request = SdkRequest(
        method="GET", schema="http", host=bss.removeprefix("http://"), resource_path=path,
        query_params=[("cycle", MONTH), ("offset", "0"), ("offset", "1")], header_params={},
        body=b"",
    )  # fmt: skip
    Signer(GlobalCredentials(key.key.id, key.secret)).sign(request)
    url = bss + request.uri
    assert "offset=0&offset=1" in url
    for sent in (url, url.replace("offset=0&offset=1", "offset=1&offset=0")):
        response = httpx.get(sent, headers=dict(request.header_params))
        assert response.status_code == 401 and response.json()["error_code"] == "CBC.0154"
