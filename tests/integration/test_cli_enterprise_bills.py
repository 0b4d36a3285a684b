"""`cloudbill bill ... --member`: an enterprise master's view of one member's own records;
another customer's id is one readable error line and a non-zero exit (issue 18, item 4)."""

from __future__ import annotations

from pathlib import Path

from cloudbill.cli import context as cli_context

from ..enterprise_fixtures import associate
from .test_cli import cli_db, new_customer, run, run_error, run_json  # noqa: F401 - fixture

MONTH = "2026-03"


def test_bills_take_a_member(cli_db: Path) -> None:  # noqa: F811 - the fixture
    master, member, other = new_customer("master"), new_customer("member"), new_customer("other")
    container = cli_context.container()
    associate(container, master, member, "unified", at=container.now())
    for command in (("summary", master, MONTH), ("trend", master), ("fees", master)):
        run_json("bill", *command, "--member", member)
        line = run_error("bill", *command, "--member", other, code="CUSTOMER_NOT_FOUND")
        assert other in line
    run("bill", "export", master, MONTH, "--member", member)
    run_error("bill", "export", master, MONTH, "--member", other, code="CUSTOMER_NOT_FOUND")
    run_error("bill", "fees", member, "--member", master, code="CUSTOMER_NOT_FOUND")
