"""Schemathesis over the customer API's own OpenAPI document: no generated request, valid or
invalid, may make the server fail (5xx), and valid ones must answer what the document declares.

The caller is a seeded customer who owns usage, a package, coupons, orders and a subscription;
besides free-form ids, path parameters are also drawn from that customer's real ids so the
fuzzer reaches real objects. A second key of theirs is the one the access-key routes may
disable or delete, so the calling key survives the run. Examples per operation are bounded so a
database takes well under two minutes.
"""

from __future__ import annotations

import base64

import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from cloudbill.bootstrap import Container
from cloudbill.enterprise import service as enterprise
from tests.helpers import assert_books_balance, new_customer
from tests.integration.customer_world import (
    PREFIX,
    issue_key,
    seed,
    unthrottled_client,
)

EXAMPLES_PER_OPERATION = 20
# The fuzz asks whether a request can fail, not how fast it answers: a shared CI machine can
# stall a request past schemathesis' 10 s default; a request that hangs still fails here.
REQUEST_TIMEOUT_S = 60
SERVER_CHECKS = [not_a_server_error]
DOCUMENT_CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def _real_ids(container: Container) -> tuple[dict[str, list[str]], str]:
    """Path parameter values the customer owns, and the Basic authorization of the caller."""
    world = seed(container, "fuzzed", "neighbour")
    me, neighbour = world["fuzzed"], world["neighbour"]
    spare_key = issue_key(container, me.customer_id)
    ids = {
        "order_id": [me.paid_order, me.pending_order, neighbour.pending_order],
        "resource_id": [me.usage_resource, me.subscribed_resource, neighbour.usage_resource],
        "package_id": [me.package, neighbour.package],
        "coupon_id": [me.spent_coupon, me.spare_coupon, neighbour.spare_coupon],
        "notice_id": [str(me.notice), str(neighbour.notice)],
        "access_key": [spare_key.key.id, neighbour.key.key.id],
        "month": ["2026-03", "2026-02"],
        "code": ["ecs", "evs"],
        "invoice_id": [
            me.invoice,  # the world's customers each requested one for their paid order
            neighbour.invoice,
        ],
        # the caller's own association (as master) and the neighbour's
        "association_id": [*_associations(container, me.customer_id, neighbour.customer_id), "x"],
    }
    ak, sk = me.auth
    return ids, "Basic " + base64.b64encode(f"{ak}:{sk}".encode()).decode()


def _associations(container: Container, *masters: str) -> list[str]:
    """For each master, an active association with a new independent member: its id."""
    made = []
    for n, master_id in enumerate(masters):
        member = new_customer(container, f"fuzz-member-{n}")
        made.append(
            container.write(
                lambda conn, now, m=master_id, s=member.id: enterprise.associate(
                    conn, master_id=m, member_id=s, mode="independent", now=now
                )
            ).id
        )
    return made


def test_no_request_makes_the_customer_api_fail(container: Container) -> None:
    ids, authorization = _real_ids(container)
    app = unthrottled_client(container).app
    schema = schemathesis.openapi.from_asgi(PREFIX + "/openapi.json", app)
    headers = {"Authorization": authorization}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 35, [op.label for op in operations]

    for operation in operations:
        names = [p.name for p in operation.path_parameters]
        real = st.fixed_dictionaries({name: st.sampled_from(ids[name]) for name in names})
        strategies = [
            (operation.as_strategy(GenerationMode.POSITIVE), DOCUMENT_CHECKS),
            (operation.as_strategy(GenerationMode.NEGATIVE), SERVER_CHECKS),
        ]
        if names:
            on_real_objects = real.flatmap(
                lambda path: operation.as_strategy(path_parameters=path)  # noqa: B023
            )
            strategies.append((on_real_objects, DOCUMENT_CHECKS))
        for strategy, checks in strategies:
            _run(strategy, checks, headers)
    assert_books_balance(container)


def _run(strategy, checks, headers) -> None:  # type: ignore[no-untyped-def]
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def check(case) -> None:  # type: ignore[no-untyped-def]
        case.call_and_validate(headers=headers, checks=checks, timeout=REQUEST_TIMEOUT_S)

    check()
