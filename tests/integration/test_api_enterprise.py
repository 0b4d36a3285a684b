"""Enterprise accounts through the APIs: the operator associates and disassociates, a master
invites and allocates, members accept; no member sees another member's data, and a member that
left is hidden from its old master. Concurrent double invitations and double acceptances end
in exactly one association (both databases; PostgreSQL exercises the row locks and the
partial unique index)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from fastapi.testclient import TestClient

from cloudbill.bootstrap import Container
from cloudbill.customers import service as customers
from cloudbill.enterprise import repo as enterprise_repo
from cloudbill.enterprise import service as enterprise
from cloudbill.enterprise.model import AssociationStatus
from cloudbill.kernel.errors import CloudbillError, ErrorCode
from tests.helpers import assert_books_balance, new_customer, snapshot
from tests.integration.customer_world import CustomerApi, issue_key, unthrottled_client

OPERATOR = {"Authorization": "Bearer test-token"}
OP = "/operator/v1"
THREADS = 8


def api_of(client: TestClient, container: Container, customer_id: str) -> CustomerApi:
    issued = issue_key(container, customer_id)
    return CustomerApi(client, (issued.key.id, issued.secret))


def operator(client: TestClient, method: str, path: str, expect: int = 200, **kw):  # type: ignore[no-untyped-def]
    response = client.request(method, OP + path, headers=OPERATOR, **kw)
    assert response.status_code == expect, (path, response.text)
    return response.json()


def test_members_see_only_their_own_and_the_old_master_loses_sight(container: Container) -> None:
    client = unthrottled_client(container)
    hq, a, b = (new_customer(container, n) for n in ("hq", "team-a", "team-b"))
    container.write(
        lambda conn, now: customers.topup(conn, hq.id, "100.00", reference="t", now=now)
    )
    master, api_a, api_b = (api_of(client, container, c.id) for c in (hq, a, b))
    # the operator associates team-a at once; team-b is invited by the master and accepts
    to_a = operator(
        client,
        "POST",
        "/enterprise/associations",
        201,
        json={"master_id": hq.id, "member_id": a.id, "mode": "independent"},
    )
    assert to_a["status"] == "active"
    invited = master.post("/enterprise/members", {"member_id": b.id, "mode": "independent"}, 201)
    # an invitee's figures are not the inviting master's to see until it accepts
    (pending,) = [m for m in master.get("/enterprise/members")["items"] if m["member_id"] == b.id]
    assert pending["status"] == "invited" and pending["cash_balance"] is None
    assert api_b.get("/enterprise/association")["association"]["id"] == invited["id"]
    assert api_b.post(f"/enterprise/association/{invited['id']}/accept")["status"] == "active"
    listed = master.get("/enterprise/members")["items"]
    assert {(m["member_id"], m["status"], m["mode"]) for m in listed} == {
        (a.id, "active", "independent"),
        (b.id, "active", "independent"),
    }
    move = {"kind": "cash", "amount": "30.00", "request_id": "to-a"}
    master.post(f"/enterprise/members/{to_a['id']}/allocations", move, 201)
    balances = {
        m["member_id"]: m["cash_balance"] for m in master.get("/enterprise/members")["items"]
    }
    assert balances == {a.id: "30.00", b.id: "0.00"}
    # each member sees its own movements only, and nothing of the other's association
    assert [m["member_id"] for m in api_a.get("/enterprise/allocations")["items"]] == [a.id]
    assert api_b.get("/enterprise/allocations")["total"] == 0
    before = snapshot(container)
    for path in (f"/enterprise/members/{to_a['id']}/controls",):
        api_b.refused("GET", path, 404, "ENTERPRISE_ASSOCIATION_NOT_FOUND")
    api_b.refused(
        "POST",
        f"/enterprise/members/{to_a['id']}/allocations",
        404,
        "ENTERPRISE_ASSOCIATION_NOT_FOUND",
        json={**move, "request_id": "steal"},
    )
    # a member cannot allocate to itself from its master's funds, nor list members
    api_a.refused(
        "POST",
        f"/enterprise/members/{to_a['id']}/allocations",
        403,
        "FORBIDDEN",
        json={**move, "request_id": "self"},
    )
    assert api_a.get("/enterprise/members")["total"] == 0
    assert snapshot(container) == before
    # team-b leaves (nothing left on it): gone from the master's list and its controls
    operator(client, "POST", f"/enterprise/associations/{invited['id']}/disassociate")
    assert [m["member_id"] for m in master.get("/enterprise/members")["items"]] == [a.id]
    master.refused("GET", f"/enterprise/members/{invited['id']}/controls", 409, "INVALID_STATE")
    with container.db.read() as conn:
        assert not enterprise_repo.sees(conn, hq.id, b.id)
        assert enterprise_repo.sees(conn, hq.id, a.id)
    # team-a still holds money: the operator's disassociation is refused, nothing changes
    before = snapshot(container)
    refused = client.post(
        f"{OP}/enterprise/associations/{to_a['id']}/disassociate", headers=OPERATOR
    )
    assert (refused.status_code, refused.json()["error"]["code"]) == (
        409,
        "ENTERPRISE_MEMBER_HAS_FUNDS",
    )
    assert snapshot(container) == before
    listed = operator(client, "GET", f"/enterprise/associations?master_id={hq.id}")
    assert {i["status"] for i in listed["items"]} == {"active", "ended"}
    history = operator(client, "GET", f"/enterprise/allocations?customer_id={hq.id}")
    assert history["total"] == 1 and history["items"][0]["amount"] == "30.00"
    assert_books_balance(container)


def test_budget_and_alert_through_the_api(container: Container) -> None:
    client = unthrottled_client(container)
    hq, a = new_customer(container, "hq"), new_customer(container, "team-a")
    master = api_of(client, container, hq.id)
    aid = operator(
        client,
        "POST",
        "/enterprise/associations",
        201,
        json={"master_id": hq.id, "member_id": a.id, "mode": "unified"},
    )["id"]
    shown = master.put(
        f"/enterprise/members/{aid}/controls",
        {"budget": "250.00", "alert_enabled": True, "alert_threshold": "20.00"},
    )
    assert shown["budget"] == "250.00" and shown["spent_this_month"] == "0.00"
    assert shown["balance_alert"]["enabled"] is True
    master.refused(
        "PUT", f"/enterprise/members/{aid}/controls", 400, "INVALID_AMOUNT", json={"budget": "-1"}
    )
    master.refused(
        "PUT",
        f"/enterprise/members/{aid}/controls",
        400,
        "INVALID_ARGUMENT",
        json={"alert_threshold": "5"},
    )
    cleared = master.put(f"/enterprise/members/{aid}/controls", {"budget": None})
    assert cleared["budget"] is None and cleared["balance_alert"]["enabled"] is True


def test_many_masters_invite_one_customer_at_once(container: Container) -> None:
    member = new_customer(container, "wanted")
    masters = [new_customer(container, f"hq-{n}").id for n in range(THREADS)]

    def attempt(master_id: str) -> str:
        try:
            container.write(
                lambda conn, now: enterprise.invite(
                    conn, master_id=master_id, member_id=member.id, mode="unified", now=now
                )
            )
            return "invited"
        except CloudbillError as exc:
            return str(exc.code)

    with ThreadPoolExecutor(THREADS) as pool:
        outcomes = list(pool.map(attempt, masters))
    assert outcomes.count("invited") == 1, outcomes
    assert set(outcomes) - {"invited"} <= {str(ErrorCode.ENTERPRISE_MEMBER_TAKEN)}, outcomes
    _live, total = container.read(
        lambda conn, _n: enterprise_repo.list_associations(
            conn, member_id=member.id, statuses=[AssociationStatus.INVITED]
        )
    )
    assert total == 1


def test_one_invitation_accepted_many_times_at_once(container: Container) -> None:
    hq, member = new_customer(container, "hq"), new_customer(container, "team-a")
    invited = container.write(
        lambda conn, now: enterprise.invite(
            conn, master_id=hq.id, member_id=member.id, mode="independent", now=now
        )
    )

    def attempt(_n: int) -> str:
        try:
            container.write(
                lambda conn, now: enterprise.accept(
                    conn, member_id=member.id, association_id=invited.id, now=now
                )
            )
            return "accepted"
        except CloudbillError as exc:
            return str(exc.code)

    with ThreadPoolExecutor(THREADS) as pool:
        outcomes = list(pool.map(attempt, range(THREADS * 2)))
    assert outcomes.count("accepted") == 1, outcomes
    assert set(outcomes) - {"accepted"} == {str(ErrorCode.INVALID_STATE)}
    with container.db.read() as conn:
        done = enterprise_repo.get(conn, invited.id)
        audit = conn.exec_driver_sql(
            "SELECT count(*) FROM audit_event WHERE action = 'enterprise.accepted'"
        ).scalar_one()
    assert done is not None and done.status is AssociationStatus.ACTIVE
    assert audit == 2  # one line on each side, from the one acceptance


def test_allocated_cash_is_not_withdrawable_and_recall_all_takes_it_back(
    container: Container,
) -> None:
    """Huawei: the cash a master allocated cannot be withdrawn by the member; the master
    recalls it. The member's withdrawable figure leaves it out; "all" recalls the whole rest."""
    client = unthrottled_client(container)
    hq, a = new_customer(container, "hq"), new_customer(container, "team-a")
    container.write(
        lambda conn, now: customers.topup(conn, hq.id, "100.00", reference="t", now=now)
    )
    container.write(lambda conn, now: customers.topup(conn, a.id, "5.00", reference="u", now=now))
    master, api_a = api_of(client, container, hq.id), api_of(client, container, a.id)
    aid = operator(
        client, "POST", "/enterprise/associations", 201,
        json={"master_id": hq.id, "member_id": a.id, "mode": "independent"},
    )["id"]  # fmt: skip
    move = {"kind": "cash", "amount": "30.00", "request_id": "r1"}
    master.post(f"/enterprise/members/{aid}/allocations", move, 201)
    funds = api_a.get("/account/overview")
    assert (funds["cash_balance"], funds["withdrawable"]) == ("35.00", "5.00")
    before = snapshot(container)
    refused = client.post(
        f"{OP}/customers/{a.id}/withdrawals", headers=OPERATOR,
        json={"amount": "6.00", "reference": "out-1"},
    )  # fmt: skip
    assert (refused.status_code, refused.json()["error"]["code"]) == (
        409,
        "ENTERPRISE_ALLOCATED_HELD",
    )
    assert snapshot(container) == before
    operator(client, "POST", f"/customers/{a.id}/withdrawals", 201,
             json={"amount": "5.00", "reference": "out-2"})  # fmt: skip
    back = {"kind": "cash", "amount": "all", "request_id": "r2"}
    assert master.post(f"/enterprise/members/{aid}/recalls", back, 201)["amount"] == "30.00"
    assert api_a.get("/account/overview")["cash_balance"] == "0.00"
    operator(client, "POST", f"/enterprise/associations/{aid}/disassociate")
    assert_books_balance(container)
