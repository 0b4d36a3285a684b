"""`cloudbill enterprise …`: associate, list, allocate and recall, budget, disassociate; every
refusal one `error: CODE: …` line, a non-zero exit, and nothing changed."""

from __future__ import annotations

from pathlib import Path

from cloudbill.cli import context as cli_context
from tests.helpers import snapshot

from .test_cli import cli_db, new_customer, run, run_error, run_json

__all__ = ["cli_db"]  # the fixture, used by name


def unchanged(call) -> None:  # type: ignore[no-untyped-def]
    before = snapshot(cli_context.container())
    call()
    assert snapshot(cli_context.container()) == before


def test_enterprise_commands(cli_db: Path) -> None:
    hq, team = new_customer("hq"), new_customer("team-a")
    run("topup", hq, "100.00", "--reference", "t1")
    done = run_json("enterprise", "associate", "hq", "team-a", "--mode", "independent")
    aid = done["id"]
    assert (done["master_id"], done["member_id"], done["status"]) == (hq, team, "active")
    unchanged(lambda: run_error("enterprise", "associate", "team-a", "hq", "--mode", "unified",
                                code="ENTERPRISE_MASTER_IS_MEMBER"))  # fmt: skip
    unchanged(lambda: run_error("enterprise", "associate", "hq", "nobody", "--mode", "unified",
                                code="CUSTOMER_NOT_FOUND"))  # fmt: skip
    unchanged(lambda: run_error("enterprise", "associate", "hq", "team-a", "--mode", "both",
                                code="INVALID_ARGUMENT"))  # fmt: skip
    moved = run_json("enterprise", "allocate", aid, "cash", "40.00", "--request-id", "a1")
    assert (moved["amount"], moved["direction"], moved["replayed"]) == ("40.00", "allocate", False)
    assert run_json("enterprise", "allocate", aid, "cash", "40.00", "--request-id", "a1")[
        "replayed"
    ]
    line = run_error("enterprise", "allocate", aid, "cash", "60.01", "--request-id", "a2",
                     code="ENTERPRISE_OVER_ALLOCATABLE")  # fmt: skip
    assert "60.00" in line
    members = run_json("enterprise", "members", "hq")["items"]
    assert [(m["member_id"], m["cash_balance"]) for m in members] == [(team, "40.00")]
    shown = run_json("enterprise", "budget", aid, "--budget", "300.00")
    assert shown["budget"] == "300.00"
    assert run_json("enterprise", "budget", aid)["budget"] == "300.00"
    unchanged(lambda: run_error("enterprise", "disassociate", aid,
                                code="ENTERPRISE_MEMBER_HAS_FUNDS"))  # fmt: skip
    run_json("enterprise", "recall", aid, "cash", "40.00", "--request-id", "b1")
    history = run_json("enterprise", "allocations", "team-a")["items"]
    assert [h["direction"] for h in history] == ["recall", "allocate"]
    assert run_json("enterprise", "disassociate", aid)["status"] == "ended"
    assert run_json("enterprise", "members", "hq")["items"] == []
    listed = run_json("enterprise", "list", "--master", "hq", "--status", "ended")["items"]
    assert [a["id"] for a in listed] == [aid]
    run_error("enterprise", "list", "--status", "gone", code="INVALID_ARGUMENT")
    run_error("enterprise", "cancel", aid, code="INVALID_STATE")
    run("verify")  # the books balance after the allocation and the recall
