"""Schemathesis over the operator API's OpenAPI document: no generated request, valid or not,
may make the server fail (5xx). Path parameters are drawn from free-form values and from the
ids of a seeded world (customers, resources, orders, packages, coupons, notices, keys), so the
fuzzer reaches real objects too.

Moving the clock is left out (an advance of ten years would make the next settlement a long
catch-up), and so is running settlement by hand: their refusals are tested elsewhere."""

from __future__ import annotations

import contextlib

import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

from cloudbill.api.app import create_app
from cloudbill.bootstrap import Container
from cloudbill.enterprise import service as enterprise
from cloudbill.users import service as users
from cloudbill.users.model import UserKind
from tests.helpers import assert_books_balance, new_customer
from tests.integration.customer_world import seed

EXAMPLES_PER_OPERATION = 10
# The fuzz asks whether a request can fail, not how fast it answers: a shared CI machine can
# stall a request past schemathesis' 10 s default; a request that hangs still fails here.
REQUEST_TIMEOUT_S = 60
LEFT_OUT = {
    ("POST", "/operator/v1/clock/advance"),
    ("POST", "/operator/v1/clock/simulate"),
    ("POST", "/operator/v1/settlements/run-due"),
}


def _real_ids(container: Container) -> dict[str, list[str]]:
    world = seed(container, "fuzzed", "neighbour")
    me, other = world["fuzzed"], world["neighbour"]
    wall = container.wall.now()
    person = container.write(
        lambda conn, _now: users.create(
            conn, kind=UserKind.CUSTOMER, customer_id=me.customer_id, email="fuzz@x.example",
            actor="test", now=wall,
        )
    ).user  # fmt: skip
    return {
        "user_id": [person.id, "no-such-user"],
        "customer_id": [me.customer_id, other.customer_id],
        "order_id": [me.paid_order, me.pending_order, other.pending_order],
        "resource_id": [me.usage_resource, me.subscribed_resource, other.usage_resource],
        "package_id": [me.package, other.package],
        "coupon_id": [me.spent_coupon, me.spare_coupon],
        "notice_id": [str(me.notice), str(other.notice)],
        "access_key": [me.key.key.id, other.key.key.id],
        "record_id": ["fuzzed-u1", "neighbour-u2", "no-such-record"],
        "month": ["2026-03", "2026-02"],
        "code": ["ecs", "evs"],
        "version": ["2026.11-default", "no-such-version"],
        "invoice_id": [me.invoice, "no-such"],
        "association_id": [*_associations(container, me.customer_id, other.customer_id), "x"],
    }


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


def test_no_request_makes_the_operator_api_fail(container: Container) -> None:
    ids = _real_ids(container)
    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(container))
    headers = {"Authorization": "Bearer test-token"}
    operations = [
        op
        for op in (result.ok() for result in schema.get_all_operations())
        if (op.method.upper(), op.path) not in LEFT_OUT
    ]
    assert len(operations) >= 60, [op.label for op in operations]
    for operation in operations:
        names = [p.name for p in operation.path_parameters]
        strategies = [
            operation.as_strategy(GenerationMode.POSITIVE),
            operation.as_strategy(GenerationMode.NEGATIVE),
        ]
        if names:
            real = st.fixed_dictionaries({name: st.sampled_from(ids[name]) for name in names})
            strategies.append(
                real.flatmap(lambda path: operation.as_strategy(path_parameters=path))  # noqa: B023
            )
        for strategy in strategies:
            _run(strategy, headers)
    assert_books_balance(container)


def _run(strategy, headers) -> None:  # type: ignore[no-untyped-def]
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def check(case) -> None:  # type: ignore[no-untyped-def]
        case.call_and_validate(
            headers=headers, checks=[not_a_server_error], timeout=REQUEST_TIMEOUT_S
        )

    # Nothing to make wrong: an operation without parameters has no negative case.
    with contextlib.suppress(Unsatisfiable):
        check()
