"""Enterprise accounts in a real browser: a master invites a customer (a refused invitation
says why beside the customer id), the customer accepts from its own Billing Center, the master
allocates cash (too much: refused beside the amount, nothing moved; then within bounds), and
the operator's association list refuses a disassociation beside the row while the member
holds the allocated cash. Figures are checked against the engine."""

from __future__ import annotations

from typing import Any

from cloudbill.customers import service as customers
from cloudbill.demo import OPERATOR_EMAIL
from cloudbill.enterprise import repo as enterprise_repo
from cloudbill.enterprise.model import AssociationStatus
from cloudbill.kernel.money import Money

from .test_console import WIDE, Demo, _sign_in, demo

__all__ = ["demo"]  # the fixture, used by name


def _submit(page: Any, selector: str) -> None:
    with page.expect_navigation():
        page.click(selector)


def _cash(demo: Demo, customer_id: str) -> int:
    return demo.c.read(
        lambda conn, _now: customers.overview(conn, customers.get(conn, customer_id))
    ).cash_balance_units


def test_invite_accept_allocate_and_the_operators_list(browser: Any, demo: Demo) -> None:
    acme, bluebird = demo.customer("acme-healthy"), demo.customer("bluebird-low-balance")
    master = browser.new_context(viewport=WIDE).new_page()
    _sign_in(master, demo, "billing@acme.example")
    master.goto(demo.base + "/console/enterprise")
    # inviting itself is refused, beside the customer id field
    master.fill("#member_id", acme)
    master.select_option("#mode", "independent")
    _submit(master, "[data-testid=invite-form] button[type=submit]")
    assert "ENTERPRISE_SELF" in master.locator("#err-member_id").inner_text()
    master.fill("#member_id", bluebird)
    master.select_option("#mode", "independent")
    _submit(master, "[data-testid=invite-form] button[type=submit]")
    row = master.locator(f"[data-member='{bluebird}']")
    assert "invited" in row.inner_text()
    master.screenshot(path=str(demo.shots / "enterprise-invited.png"), full_page=True)

    member = browser.new_context(viewport=WIDE).new_page()
    _sign_in(member, demo, "ops@bluebird.example")
    member.goto(demo.base + "/console/enterprise")
    assert acme in member.locator("[data-testid=my-association]").inner_text()
    _submit(member, "[data-testid=my-association] button[data-action=accept]")
    assert "active" in member.locator("[data-testid=my-status]").inner_text()
    member.screenshot(path=str(demo.shots / "enterprise-member.png"), full_page=True)

    before = (_cash(demo, acme), _cash(demo, bluebird))
    master.goto(demo.base + "/console/enterprise")
    too_much = Money(before[0] + 10**6, "USD").to_text()  # a cent more than the balance
    master.select_option("#direction", "allocate")
    master.select_option("#kind", "cash")
    master.fill("#amount", too_much)
    _submit(master, "[data-testid=move-form] button[type=submit]")
    assert "ENTERPRISE_OVER_ALLOCATABLE" in master.locator("#err-amount").inner_text()
    assert master.locator("#amount").input_value() == too_much  # sent back for correction
    assert (_cash(demo, acme), _cash(demo, bluebird)) == before
    master.fill("#amount", "5.00")
    _submit(master, "[data-testid=move-form] button[type=submit]")
    assert "Allocated" in master.locator(".notice.done").inner_text()
    assert (_cash(demo, acme), _cash(demo, bluebird)) == (
        before[0] - 5 * 10**8,
        before[1] + 5 * 10**8,
    )
    now_held = Money(before[1] + 5 * 10**8, "USD").to_text()
    assert now_held in master.locator(f"[data-member='{bluebird}']").inner_text()
    assert master.locator("[data-testid=moves] tbody tr").count() == 1
    master.screenshot(path=str(demo.shots / "enterprise-allocated.png"), full_page=True)

    operator = browser.new_context(viewport=WIDE).new_page()
    _sign_in(operator, demo, OPERATOR_EMAIL, operator=True)
    operator.goto(demo.base + "/operator/console/enterprise")
    association = demo.c.read(lambda conn, _now: enterprise_repo.live_of_member(conn, bluebird))
    assert association is not None and association.status is AssociationStatus.ACTIVE
    line = operator.locator(f"[data-association='{association.id}']")
    assert acme in line.inner_text() and "active" in line.inner_text()
    _submit(operator, f"[data-association='{association.id}'] button[data-action=disassociate]")
    error = operator.locator(f"#err-association-{association.id}").inner_text()
    assert "ENTERPRISE_MEMBER_HAS_FUNDS" in error
    operator.screenshot(path=str(demo.shots / "operator-enterprise.png"), full_page=True)
    still = demo.c.read(lambda conn, _now: enterprise_repo.get(conn, association.id))
    assert still is not None and still.status is AssociationStatus.ACTIVE
