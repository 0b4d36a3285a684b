"""The usage batch route parses its body itself (orjson, plain records to the columnar check);
every body it does not take as it is gets the answer FastAPI's declared `UsageBatch` model
gives. Here each malformed body is posted to the route and to a reference route declared the
plain FastAPI way, and the answers (status and body) must be the same."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from fastapi import APIRouter, Depends, FastAPI
from fastapi.testclient import TestClient

from cloudbill.api.app import create_app
from cloudbill.api.deps import require_operator
from cloudbill.api.errors import install_error_handlers
from cloudbill.api.operator.usage import UsageBatch
from cloudbill.kernel.periods import HOUR
from cloudbill.resources import service as resources
from cloudbill.resources.model import ResourceInput

from ..helpers import created_before, new_customer

AUTH = {"Authorization": "Bearer test-token"}
PATH = "/operator/v1/usage-records"
GOOD = {"record_id": "r1", "resource_id": "nope", "usage_type": "duration", "quantity": "1",
        "start": "2026-03-16T07:00:00Z", "end": "2026-03-16T08:00:00Z"}  # fmt: skip


def _reference(container) -> TestClient:  # type: ignore[no-untyped-def]
    """The route as FastAPI declares it: the model validates the body; answers 200 {} then."""
    app = create_app(container)
    router = APIRouter(dependencies=[Depends(require_operator)])

    @router.post("/reference")
    def reference(body: UsageBatch) -> dict[str, Any]:
        return {}

    reference_app = FastAPI()
    reference_app.state = app.state
    install_error_handlers(reference_app)
    reference_app.include_router(router)
    return TestClient(reference_app, headers=AUTH)


BODIES: list[tuple[bytes, dict[str, str]]] = [
    (b"", {"content-type": "application/json"}),
    (b"\xff\xfe not utf-8", {"content-type": "application/json"}),
    (b"{not json", {"content-type": "application/json"}),
    (b'{"records": []}', {"content-type": "application/json"}),
    (b'{"records": [1]}', {"content-type": "application/json"}),
    (b'{"records": [{}]}', {"content-type": "application/json"}),
    (b'{"records": {}}', {"content-type": "application/json"}),
    (b"[]", {"content-type": "application/json"}),
    (b'{"records": [], "extra": 1}', {"content-type": "application/json"}),
    (b'{"records": [{"record_id": 5}]}', {"content-type": "application/json"}),
    (b'{"records": []}', {"content-type": "text/plain"}),
    (b'{"records": []}', {}),
    (b'{"a": NaN}', {"content-type": "application/json"}),
    (b'{"a": 123456789012345678901234567890}', {"content-type": "application/json"}),
]
for change in ({"start": "2026-02-30T07:00:00Z"}, {"start": "2026-03-16T24:00:00Z"},
               {"start": "yesterday"}, {"unit": 5}, {"extra": "x"}, {"record_id": "x" * 129},
               {"usage_type": "u" * 65}, {"unit": "u" * 33}, {"end": 1773644400}):  # fmt: skip
    BODIES.append((json.dumps({"records": [{**GOOD, **change}]}).encode(),
                   {"content-type": "application/json"}))  # fmt: skip


@pytest.mark.parametrize(("body", "headers"), BODIES)
def test_a_refused_body_gets_the_declared_models_answer(container, body, headers) -> None:  # type: ignore[no-untyped-def]
    ours = TestClient(create_app(container), headers=AUTH).post(PATH, content=body, headers=headers)
    theirs = _reference(container).post("/reference", content=body, headers=headers)
    if theirs.status_code == 200:  # the model takes it: ingestion refuses the unknown resource
        assert ours.json()["error"]["code"] == "USAGE_REJECTED", ours.text
        return
    assert ours.status_code == theirs.status_code, (ours.text, theirs.text)
    mine, reference = ours.json(), theirs.json()
    for answer in (mine, reference):
        answer.get("error", {}).pop("request_id", None)
    assert mine == reference


def test_a_quantity_past_64_bits_is_refused_as_too_large_not_as_a_float(container) -> None:  # type: ignore[no-untyped-def]
    # orjson reads such an integer as a float; the route must read it as json does.
    customer = new_customer(container)
    vm = ResourceInput(
        customer_id=customer.id, resource_type="hws.resource.type.vm", spec="s6.large.2",
        billing_mode="pay_per_use", region="ap-southeast-1", name="vm-1", id="vm-1",
    )  # fmt: skip
    container.write(lambda conn, now: resources.register(conn, created_before(vm, now), now=now))
    start = container.read(lambda _conn, now: now - timedelta(hours=2))
    record = {**GOOD, "resource_id": "vm-1", "quantity": 1, "start": start.isoformat(),
              "end": (start + HOUR).isoformat()}  # fmt: skip
    body = json.dumps({"records": [record]})
    body = body.replace('"quantity": 1,', '"quantity": 123456789012345678901234567890,')
    ours = TestClient(create_app(container), headers=AUTH).post(
        PATH, content=body.encode(), headers={"content-type": "application/json"}
    )
    reasons = [r["reason"] for r in ours.json()["error"]["details"]["rejected"]]
    assert len(reasons) == 1 and "float" not in reasons[0], ours.text
