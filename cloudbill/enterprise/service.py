"""Association use cases: a master invites a customer, the customer accepts or declines, the
master cancels its invitation, the operator associates directly or disassociates. Each runs in
the caller's one transaction; a refusal raises a stable code and changes nothing."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from ..customers import repo as customer_repo
from ..customers import rules as customer_rules
from ..customers import service as customers
from ..customers.model import Customer, Overview
from ..kernel.errors import CloudbillError, ErrorCode
from ..kernel.ids import new_id
from ..notify.outbox import Event, emit_many
from . import allocation, repo, rules
from .access import get, lock_pair
from .model import LIVE_STATUSES, Association, AssociationStatus, InvitedBy

OPERATOR = "operator"


def _is_member(conn: Connection, customer_id: str) -> bool:
    """An active member (an invitation it has not accepted does not count: anyone can invite
    anyone, and that must not stop a master from inviting its own members)."""
    live = repo.live_of_member(conn, customer_id)
    return live is not None and live.status is AssociationStatus.ACTIVE


def _check(
    conn: Connection, master: Customer, member: Customer, by: InvitedBy, now: datetime
) -> None:
    """A master's invitation checks only the inviter's side (rules.check_inviter); the
    operator, who may see everything, checks the invitee's conditions at once too."""
    customer_rules.check_not_frozen(master)
    master_is_member = _is_member(conn, master.id)
    if by is InvitedBy.OPERATOR:
        customer_rules.check_not_frozen(member)
        rules.check_association(
            master,
            member,
            master_is_member=master_is_member,
            member_is_master=repo.is_live_master(conn, member.id),
            member_live=repo.live_of_member(conn, member.id),
            member_figures=customers.overview(conn, member, now),
        )
    else:
        rules.check_inviter(master, member, master_is_member=master_is_member)


def _create(
    conn: Connection,
    *,
    master_id: str,
    member_id: str,
    mode: object,
    by: InvitedBy,
    now: datetime,
) -> Association:
    accounting = rules.check_mode(mode)
    master, member = lock_pair(conn, master_id, member_id)
    _check(conn, master, member, by, now)
    active = by is InvitedBy.OPERATOR  # the operator's association needs no acceptance
    values = {
        "id": new_id(),
        "master_id": master.id,
        "member_id": member.id,
        "mode": str(accounting),
        "status": str(AssociationStatus.ACTIVE if active else AssociationStatus.INVITED),
        "invited_by": str(by),
        "created_at": now,
        "accepted_at": now if active else None,
        "ended_at": None,
        "updated_at": now,
    }
    try:
        with conn.begin_nested():
            repo.insert_association(conn, values)
    except IntegrityError:
        # A concurrent invitation of the same member won the partial unique index.
        raise CloudbillError(
            ErrorCode.ENTERPRISE_MEMBER_TAKEN,
            f"customer {member.id} was invited or associated by a concurrent request",
        ) from None
    association = get(conn, str(values["id"]))
    action = "associated" if active else "invited"
    _record(conn, association, action, actor=OPERATOR if active else master.id, now=now)
    return association


def invite(
    conn: Connection, *, master_id: str, member_id: str, mode: object, now: datetime
) -> Association:
    """The master invites a customer to be its member, in `mode` accounting."""
    return _create(
        conn, master_id=master_id, member_id=member_id, mode=mode, by=InvitedBy.MASTER, now=now
    )


def associate(
    conn: Connection, *, master_id: str, member_id: str, mode: object, now: datetime
) -> Association:
    """The operator associates a member directly: active at once."""
    return _create(
        conn, master_id=master_id, member_id=member_id, mode=mode, by=InvitedBy.OPERATOR, now=now
    )


def _move(
    conn: Connection,
    association: Association,
    expected: tuple[AssociationStatus, ...],
    status: AssociationStatus,
    now: datetime,
    **values: object,
) -> Association:
    rules.check_transition(association, expected)
    if not repo.transition(conn, association.id, expected, status, updated_at=now, **values):
        # Another request moved it between our read and our write: say what it is now.
        rules.check_transition(get(conn, association.id), expected)
    return get(conn, association.id)


def accept(conn: Connection, *, member_id: str, association_id: str, now: datetime) -> Association:
    """The member accepts; the conditions are checked again, as they may have changed."""
    association = get(conn, association_id, party=member_id)
    if association.member_id != member_id:
        raise CloudbillError(ErrorCode.FORBIDDEN, "only the invited customer can accept")
    rules.check_transition(association, (AssociationStatus.INVITED,))
    master, member = lock_pair(conn, association.master_id, association.member_id)
    # Every condition of the invitee is checked here, not at invitation (rules.check_inviter).
    customer_rules.check_not_frozen(member)
    customer_rules.check_not_frozen(master)
    if _is_member(conn, master.id):
        raise CloudbillError(
            ErrorCode.ENTERPRISE_MASTER_IS_MEMBER, "the inviting account has become a member"
        )
    rules.check_invitee(
        master,
        member,
        member_is_master=repo.is_live_master(conn, member.id),
        member_live=None,  # its one live association is this invitation
        member_figures=customers.overview(conn, member, now),
    )
    done = _move(
        conn, association, (AssociationStatus.INVITED,), AssociationStatus.ACTIVE, now,
        accepted_at=now,
    )  # fmt: skip
    _record(conn, done, "accepted", actor=member_id, now=now)
    return done


def decline(conn: Connection, *, member_id: str, association_id: str, now: datetime) -> Association:
    association = get(conn, association_id, party=member_id)
    if association.member_id != member_id:
        raise CloudbillError(ErrorCode.FORBIDDEN, "only the invited customer can decline")
    done = _move(conn, association, (AssociationStatus.INVITED,), AssociationStatus.DECLINED, now)
    _record(conn, done, "declined", actor=member_id, now=now)
    return done


def cancel(
    conn: Connection, *, association_id: str, now: datetime, master_id: str | None = None
) -> Association:
    """The master (or, with `master_id` None, the operator) withdraws an invitation."""
    association = get(conn, association_id, party=master_id)
    if master_id is not None and association.master_id != master_id:
        raise CloudbillError(ErrorCode.FORBIDDEN, "only the inviting master can cancel")
    done = _move(conn, association, (AssociationStatus.INVITED,), AssociationStatus.CANCELLED, now)
    _record(conn, done, "cancelled", actor=master_id or OPERATOR, now=now)
    return done


def disassociate(
    conn: Connection, *, association_id: str, now: datetime, master_id: str | None = None
) -> Association:
    """End an active association (the operator, or the master with `master_id`), once the
    member has nothing of value or owed left (rules.check_disassociation)."""
    association = get(conn, association_id, party=master_id)
    if master_id is not None and association.master_id != master_id:
        raise CloudbillError(ErrorCode.FORBIDDEN, "only the master can remove a member")
    rules.check_transition(association, (AssociationStatus.ACTIVE,))
    master, member = lock_pair(conn, association.master_id, association.member_id)
    # Read again under the pair's locks (an allocation or another request may have run).
    association = get(conn, association.id)
    rules.check_transition(association, (AssociationStatus.ACTIVE,))
    rules.check_disassociation(
        association,
        customers.overview(conn, member, now),
        member.credit_limit_units,
        customers.overview(conn, master, now),
        member_orders_pending=repo.pending_orders_of(conn, member.id),
    )
    # Less than a cent may be left (a recall names whole cents): the master's part goes back.
    allocation.return_sub_cent_rest(conn, association, master, member, now)
    done = _move(
        conn, association, (AssociationStatus.ACTIVE,), AssociationStatus.ENDED, now, ended_at=now
    )
    _record(conn, done, "ended", actor=master_id or OPERATOR, now=now)
    return done


def _record(
    conn: Connection, association: Association, change: str, *, actor: str, now: datetime
) -> None:
    """An audit line on both customers and one event to each (customer notices, webhooks)."""
    details = {
        "association_id": association.id,
        "master_id": association.master_id,
        "member_id": association.member_id,
        "mode": str(association.mode),
        "status": str(association.status),
    }
    for customer_id in (association.master_id, association.member_id):
        customer_repo.add_audit(
            conn, at=now, actor=actor, customer_id=customer_id,
            action=f"enterprise.{change}", details=details,
        )  # fmt: skip
    payload = {**details, "change": change, "at": now.isoformat()}
    emit_many(
        conn,
        [
            Event(
                "customer.enterprise_association",
                customer_id,
                {**payload, "role": role},
                dedupe_key=f"customer.enterprise_association:{association.id}:{change}:{role}",
            )
            for customer_id, role in (
                (association.master_id, "master"),
                (association.member_id, "member"),
            )
        ],
        now=now,
    )


def list_for_master(
    conn: Connection, master_id: str, *, live_only: bool = True, limit: int, offset: int
) -> tuple[list[Association], int]:
    customers.get(conn, master_id)
    statuses = LIVE_STATUSES if live_only else None
    return repo.list_associations(
        conn, master_id=master_id, statuses=statuses, limit=limit, offset=offset
    )


def of_member(conn: Connection, member_id: str) -> Association | None:
    """The member's invitation or association in force, if any."""
    customers.get(conn, member_id)
    return repo.live_of_member(conn, member_id)


def is_master(conn: Connection, customer_id: str) -> bool:
    return repo.is_live_master(conn, customer_id)


def members_of(
    conn: Connection, master_id: str, *, limit: int, offset: int
) -> tuple[list[tuple[Association, Customer, Overview | None]], int]:
    """The master's members list: each live association with the member's figures (cash,
    credit, coupons, arrears) once it is active; an invitation not yet accepted shows none of
    the invitee's figures. Ended ones are gone from it: the old master sees nothing more of
    that member."""
    customers.check_page(limit, offset)
    rows, total = list_for_master(conn, master_id, limit=limit, offset=offset)
    people = {a.member_id: customers.get(conn, a.member_id) for a in rows}
    active = [people[a.member_id] for a in rows if a.status is AssociationStatus.ACTIVE]
    figures = customers.overviews(conn, active)
    return [(a, people[a.member_id], figures.get(a.member_id)) for a in rows], total


def members_page(
    conn: Connection,
    master_id: str,
    *,
    names: list[tuple[str, bool]],
    limit: int,
    offset: int,
) -> tuple[list[tuple[Association, str]], int]:
    """The master's live associations with the member's name, oldest first, `names` filters
    ((wanted, fuzzy) pairs) and paging done in the database (BSS ListEnterpriseSubCustomers)."""
    if offset < 0:
        raise CloudbillError(ErrorCode.INVALID_ARGUMENT, "offset must be >= 0")
    return repo.members_page(conn, master_id, names=names, limit=limit, offset=offset)


def list_associations(
    conn: Connection,
    *,
    master_id: str | None = None,
    member_id: str | None = None,
    status: object = None,
    limit: int,
    offset: int,
) -> tuple[list[Association], int]:
    """The operator's list, newest first, filtered by master, member or status."""
    customers.check_page(limit, offset)
    statuses = None
    if status is not None:
        try:
            statuses = [AssociationStatus(str(status))]
        except ValueError:
            raise CloudbillError(
                ErrorCode.INVALID_ARGUMENT,
                "status: " + ", ".join(s.value for s in AssociationStatus),
            ) from None
    return repo.list_associations(
        conn, master_id=master_id, member_id=member_id, statuses=statuses,
        limit=limit, offset=offset,
    )  # fmt: skip
