"""The SDK's partner, real-name and verification-code operations, called through the real SDK
with a customer's key: each is refused by name with Huawei's 403 CBC.0151 (what Huawei answers a
customer calling a partner's operation), after the signature is checked, and changes nothing."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import huaweicloudsdkbssintl.v2 as sdk
import pytest
from fastapi.testclient import TestClient

from cloudbill.api.bss.app import create_bss_app
from cloudbill.api.bss.routes.not_offered import NOT_OFFERED
from cloudbill.bootstrap import Container

from ..helpers import new_customer, snapshot
from .conftest import issue_key, sdk_client
from .test_bss_refusals import refused


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


@pytest.mark.parametrize("operation", [op for _, _, op, _ in NOT_OFFERED])
def test_the_operation_is_refused_by_name(container: Container, bss: str, operation: str) -> None:
    acme = new_customer(container, "acme")
    key = issue_key(container, acme.id)
    client = sdk_client(bss, key.key.id, key.secret, acme.id)
    request: Any = getattr(sdk, f"{operation}Request")()
    call = getattr(client, _snake(operation))
    before = snapshot(container)
    exc = refused(lambda: call(request), 403, "CBC.0151")
    assert operation in exc.error_msg
    assert snapshot(container) == before
    # the signature is checked first: a wrong secret is an authentication failure
    wrong = sdk_client(bss, key.key.id, key.secret[:-1] + "!", acme.id)
    refused(lambda: getattr(wrong, _snake(operation))(request), 401, "CBC.0154")


def test_every_sdk_operation_is_answered_or_refused_by_name(container: Container) -> None:
    """No SDK operation falls through to "no such BSS operation" (404): each has a route, so
    an unsigned call to it is refused by authentication (401, or 429 once this test's source
    has used its failed-authentication budget)."""
    source = Path(sdk.bssintl_client.__file__).read_text()
    operations = set(re.findall(r'"method": "(\w+)",\s*"resource_path": "([^"]+)"', source))
    assert len(operations) > 50  # the SDK's layout as read here: 55 operations in 3.1.x
    client = TestClient(create_bss_app(container))
    answers = {
        (method, path): client.request(method, re.sub(r"\{\w+\}", "x1", path)).status_code
        for method, path in sorted(operations)
    }
    assert {op: status for op, status in answers.items() if status not in (401, 429)} == {}
