"""The `cloudbill` command line, driven in-process with Typer's CliRunner on a fresh SQLite file.

Every failure must exit non-zero with exactly one line on stderr, `error: CODE: message`, and
change nothing.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner, Result

from cloudbill.catalog.loader import DEFAULT_CATALOG_PATH
from cloudbill.cli import app
from cloudbill.cli import context as cli_context
from tests.helpers import snapshot

VM = "hws.resource.type.vm"
REGION = "ap-southeast-1"
DEFAULT_YAML = DEFAULT_CATALOG_PATH.read_text(encoding="utf-8")
DEFAULT_VERSION = "2026.11-default"
S6_USD_LINE = "USD: {pay_per_use: {duration: {unit: h, price: 0.0781}}, monthly: 39.10}"
ANSI = re.compile(r"\x1b\[[0-9;]*m")

runner = CliRunner()


# -- helpers ---------------------------------------------------------------------------------


class _DecimalLoader(yaml.SafeLoader):
    """Reads YAML floats as exact Decimals from their text (never through a float)."""


_DecimalLoader.add_constructor(
    "tag:yaml.org,2002:float", lambda loader, node: Decimal(loader.construct_scalar(node))
)
CATALOG = yaml.load(DEFAULT_YAML, Loader=_DecimalLoader)


def usd_prices(resource_type: str, spec: str) -> dict[str, Any]:
    for service in CATALOG["services"]:
        for rtype in service["resource_types"]:
            for item in rtype["specs"]:
                if rtype["code"] == resource_type and item["code"] == spec:
                    return item["prices"]["USD"]
    raise AssertionError(f"{resource_type}/{spec} is not in the default catalog")


def discount_percent(discount_id: str) -> Decimal:
    (found,) = [d for d in CATALOG["discounts"] if d["id"] == discount_id]
    return Decimal(str(found["percent"]))


def edited_catalog(version: str, price: str) -> str:
    assert DEFAULT_YAML.count(S6_USD_LINE) == 1
    text = DEFAULT_YAML.replace(f'version: "{DEFAULT_VERSION}"', f'version: "{version}"')
    return text.replace(S6_USD_LINE, S6_USD_LINE.replace("price: 0.0781", f"price: {price}"))


def run(*args: str) -> Result:
    """Run a command that must succeed; stderr must stay empty."""
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, (args, result.exit_code, result.output, result.exception)
    assert result.stderr == "", result.stderr
    return result


def run_json(*args: str) -> Any:
    return json.loads(run(*args, "--json").stdout)


def run_error(*args: str, code: str, exit_code: int = 2) -> str:
    """Run a command that must fail cleanly: one `error: CODE: …` line on stderr, no traceback."""
    result = runner.invoke(app, list(args))
    assert result.exit_code == exit_code, (args, result.exit_code, result.output)
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    lines = ANSI.sub("", result.stderr).strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"error: {code}: "), lines[0]
    assert result.stdout == "", result.stdout
    return lines[0]


def new_customer(name: str = "acme", currency: str = "USD") -> str:
    return run_json("customer", "create", name, "--currency", currency)["id"]


def sql(path: Path, query: str, *params: object) -> list[tuple]:
    """Run one statement on the SQLite file directly (committed, connection closed)."""
    with closing(sqlite3.connect(path)) as raw, raw:
        cursor = raw.execute(query, params)
        return cursor.fetchall() if cursor.description else [(cursor.rowcount,)]


def overview(customer_id: str) -> dict[str, Any]:
    return run_json("customer", "show", customer_id)["overview"]


@pytest.fixture
def cli_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh SQLite file for the CLI, and a fresh cached container around each test."""
    for name in list(os.environ):
        if name.startswith("CLOUDBILL_") and not name.startswith("CLOUDBILL_TEST_"):
            monkeypatch.delenv(name)
    path = tmp_path / "x.sqlite"
    monkeypatch.setenv("CLOUDBILL_DATABASE_URL", f"sqlite:///{path}")
    monkeypatch.chdir(tmp_path)  # no stray .env file is read
    cli_context.container.cache_clear()
    yield path
    if cli_context.container.cache_info().currsize:
        cli_context.container().db.dispose()
    cli_context.container.cache_clear()


@pytest.fixture
def customer(cli_db: Path) -> str:
    """A USD customer with 100.00 cash."""
    cid = new_customer("acme")
    run("topup", cid, "100.00", "--reference", "setup-1")
    return cid


def state() -> dict[str, object]:
    return snapshot(cli_context.container())


# -- system commands -------------------------------------------------------------------------


def test_migrate_creates_the_database(cli_db: Path) -> None:
    assert not cli_db.exists()
    result = run("migrate")
    assert result.stdout.strip() == f"database is up to date: sqlite:///{cli_db}"
    assert cli_db.exists()
    tables = {r[0] for r in sql(cli_db, "SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"customer", "ledger_account", "ledger_entry", "ledger_transaction"} <= tables
    # a second run is a no-op
    assert run("migrate").stdout == result.stdout


def test_the_operator_token_is_kept_only_as_a_digest_and_rotates(cli_db: Path) -> None:
    from fastapi.testclient import TestClient

    from cloudbill.api.app import create_app

    first = run("token", "rotate").stdout.strip()
    assert re.fullmatch(r"[A-Za-z0-9_\-]{40,}", first), first
    second = run("token", "rotate").stdout.strip()
    assert second != first
    keys = {r[0] for r in sql(cli_db, "SELECT key FROM app_setting")}
    assert "operator_token" not in keys and "operator_token_sha256" in keys
    assert first.encode() not in cli_db.read_bytes() and second.encode() not in cli_db.read_bytes()
    client = TestClient(create_app(cli_context.container()))
    url = "/operator/v1/customers"
    assert client.get(url, headers={"Authorization": f"Bearer {second}"}).status_code == 200
    assert client.get(url, headers={"Authorization": f"Bearer {first}"}).status_code == 401
    assert "digest" in run("config", "show").stdout


def test_verify_ok(customer: str) -> None:
    run("customer", "adjust", customer, "150.00", "--reference", "a1", "--reason", "usage")
    result = run("verify")
    assert "ok" in result.stdout
    assert "MISMATCH" not in result.stdout
    report = run_json("verify")
    assert report["ok"] is True and report["problems"] == []
    assert report["transactions"] == 2


def test_verify_detects_tampering(customer: str, cli_db: Path) -> None:
    changed = sql(
        cli_db,
        "UPDATE ledger_account SET balance_units = balance_units + 1 "
        "WHERE customer_id = ? AND kind = 'cash'",
        customer,
    )
    assert changed == [(1,)]
    result = runner.invoke(app, ["verify"])
    assert result.exit_code == 1, result.output
    assert "MISMATCH" in result.stdout
    assert not re.search(r"^ok", ANSI.sub("", result.stdout), re.MULTILINE)
    as_json = runner.invoke(app, ["verify", "--json"])
    assert as_json.exit_code == 1
    report = json.loads(as_json.stdout)
    assert report["ok"] is False and len(report["problems"]) >= 1


# -- customers and money ---------------------------------------------------------------------


def test_customer_create_list_show_update(cli_db: Path) -> None:
    created = run_json(
        "customer", "create", "acme", "--currency", "usd", "--email", "billing@acme.example",
        "--level", "2", "--timezone", "Asia/Singapore",
    )  # fmt: skip
    assert created["name"] == "acme" and created["currency"] == "USD"
    assert created["level"] == 2 and created["timezone"] == "Asia/Singapore"
    assert created["status"] == "active" and created["payment_mode"] == "prepaid"
    post = run_json(
        "customer", "create", "bravo", "--currency", "CNY", "--payment-mode", "postpaid",
        "--credit-limit", "5000.00",
    )  # fmt: skip
    assert post["credit_limit"] == "5000.00"

    listing = run_json("customer", "list")
    assert listing["total"] == 2
    assert sorted(c["name"] for c in listing["items"]) == ["acme", "bravo"]
    assert all("overview" in c for c in listing["items"])
    postpaid = run_json("customer", "list", "--payment-mode", "postpaid")
    assert [c["name"] for c in postpaid["items"]] == ["bravo"]
    page = run_json("customer", "list", "--limit", "1")
    assert page["total"] == 2 and len(page["items"]) == 1

    shown = run_json("customer", "show", post["id"])
    assert shown["overview"]["credit_limit"] == "5000.00"
    assert shown["overview"]["available_credit"] == "5000.00"
    assert shown["overview"]["expenditure_quota"] == "5000.00"

    updated = run_json(
        "customer", "update", created["id"], "--email", "ap@acme.example", "--level", "3",
        "--name", "acme-2",
    )  # fmt: skip
    assert updated["email"] == "ap@acme.example"
    assert updated["level"] == 3 and updated["name"] == "acme-2"
    assert run_json("customer", "show", created["id"])["name"] == "acme-2"

    # the table output (no --json) shows the names too
    assert "acme-2" in run("customer", "list").stdout


def test_topup_and_replay(cli_db: Path) -> None:
    cid = new_customer("acme")
    first = run_json("topup", cid, "100.00", "--reference", "r1")
    assert first["replayed"] is False
    assert first["amount"] == "100.00" and first["cash_credited"] == "100.00"
    before = state()
    again = run_json("topup", cid, "100.00", "--reference", "r1")
    assert again["replayed"] is True
    assert again["transaction_id"] == first["transaction_id"]
    assert state() == before
    run_error("topup", cid, "90.00", "--reference", "r1", code="IDEMPOTENCY_CONFLICT")
    assert state() == before
    assert overview(cid)["cash_balance"] == "100.00"


def test_withdraw_adjust_history(customer: str) -> None:
    out = run_json("withdraw", customer, "30.00", "--reference", "w1")
    assert out["kind"] == "withdrawal" and out["amount"] == "30.00"
    assert overview(customer)["cash_balance"] == "70.00"

    charge = run_json(
        "customer", "adjust", customer, "100.00", "--reference", "a1", "--reason", "usage"
    )
    assert charge["direction"] == "charge"
    assert charge["from_cash"] == "70.00" and charge["to_debt"] == "30.00"
    figures = overview(customer)
    assert figures["debt"] == "30.00" and figures["in_arrears"] is True

    credit = run_json(
        "customer", "adjust", customer, "30.00", "--credit", "--reference", "a2",
        "--reason", "goodwill",
    )  # fmt: skip
    assert credit["direction"] == "credit" and credit["debt_written_off"] == "30.00"
    assert overview(customer)["in_arrears"] is False

    history = run_json("customer", "history", customer)
    assert history["total"] == 5
    assert [(h["kind"], h["account"], h["change"]) for h in history["items"]] == [
        ("adjustment", "debt", "-30.00"),
        ("adjustment", "cash", "-70.00"),
        ("adjustment", "debt", "30.00"),
        ("withdrawal", "cash", "-30.00"),
        ("topup", "cash", "100.00"),
    ]
    assert "withdrawal" in run("customer", "history", customer).stdout


def test_orders_paid_together_share_a_coupon(customer: str) -> None:
    """Huawei's example (https://support.huaweicloud.com/intl/zh-cn/faq-billing/unpaidorder_faq_0000008.html):
    a coupon over orders paid together is shared out, the odd cent on one of them (the last)."""
    buy = ("order", "buy", customer, "--type", VM, "--spec", "s6.small.1", "--region", REGION,
           "--name", "db", "--period", "month", "--count", "1")  # fmt: skip
    ids = [run_json(*buy)["id"] for _ in range(3)]
    coupon = run_json("coupon", "issue", customer, "10.00", "--valid-to", "2099-01-01",
                      "--reference", "ten")  # fmt: skip
    before = state()
    run_error("order", "pay", *ids, "--coupon", coupon["id"], "--coupon", "c2",
              code="INVALID_ARGUMENT")  # fmt: skip  # one cash coupon a payment (Huawei)
    assert state() == before
    paid = run_json("order", "pay", *ids, "--coupon", coupon["id"])["items"]
    assert [o["coupon_amount"] for o in paid] == ["3.33", "3.33", "3.34"]


def test_adjustments_and_orders_are_in_the_bill(customer: str) -> None:
    run(
        "resource", "register", "--customer", customer, "--type", VM, "--spec", "s6.large.2",
        "--region", REGION, "--name", "web-1", "--id", "web-1",
    )  # fmt: skip
    run("customer", "adjust", customer, "2.50", "--reference", "a1", "--reason", "SLA miss",
        "--credit", "--resource", "web-1")  # fmt: skip
    run("customer", "adjust", customer, "4.00", "--reference", "a2", "--reason", "support",
        "--service", "ecs")  # fmt: skip
    order = run_json("order", "buy", customer, "--type", VM, "--spec", "s6.small.1", "--region",
                     REGION, "--name", "db", "--period", "month", "--count", "1")  # fmt: skip
    run_json("order", "pay", order["id"])
    month = run_json("clock", "show")["now"][:7]
    summary = run_json("bill", "summary", customer, month)
    by_type = {line["bill_type"]: line["amount"] for line in summary["by_bill_type"]["lines"]}
    assert by_type == {"compensation": "-2.50", "deduction": "4.00", "new_purchase": "11.60"}
    assert summary["total"]["amount"] == "13.10"
    refunds = run_json("bill", "fees", customer, "--month", month, "--bill-type", "adjustment")
    assert [(f["trade_id"], f["resource_id"], f["service"]) for f in refunds["items"]] == [
        ("a1", "web-1", "ecs"),
        ("a2", "", "ecs"),
    ]
    printed = run("bill", "summary", customer, month).stdout
    assert "new_purchase" in printed and "compensation" in printed
    before = state()
    run_error("customer", "adjust", customer, "1.00", "--reference", "a3", "--reason", "x",
              "--resource", "no-such-vm", code="RESOURCE_NOT_FOUND")  # fmt: skip
    run_error("bill", "fees", customer, "--bill-type", "gift", code="INVALID_ARGUMENT")
    assert state() == before


def test_freeze_and_unfreeze(customer: str) -> None:
    assert run_json("customer", "freeze", customer, "--reason", "fraud check")["status"] == "frozen"
    before = state()
    run_error("withdraw", customer, "1.00", "--reference", "w1", code="CUSTOMER_FROZEN")
    run_error(
        "resource", "register", "--customer", customer, "--type", VM, "--spec", "s6.large.2",
        "--region", REGION, "--name", "web-1", code="CUSTOMER_FROZEN",
    )  # fmt: skip
    assert state() == before
    run_json("topup", customer, "5.00", "--reference", "r2")  # paying is always possible
    assert run_json("customer", "unfreeze", customer)["status"] == "active"
    run_json("withdraw", customer, "1.00", "--reference", "w1")
    assert overview(customer)["cash_balance"] == "104.00"


# -- catalog ---------------------------------------------------------------------------------


def test_catalog_show_and_specs(cli_db: Path) -> None:
    summary = run_json("catalog", "show")
    assert summary["version"] == DEFAULT_VERSION
    assert [s["code"] for s in summary["services"]] == [s["code"] for s in CATALOG["services"]]
    assert DEFAULT_VERSION in run("catalog", "show").stdout

    specs = run_json("catalog", "specs", VM)["items"]
    s6 = next(s for s in specs if s["spec"] == "s6.large.2")
    prices = usd_prices(VM, "s6.large.2")
    assert Decimal(s6["monthly"]) == prices["monthly"]
    assert f"duration: {prices['pay_per_use']['duration']['price']}/h" == s6["pay_per_use"]
    assert "s6.large.2" in run("catalog", "specs", VM).stdout


def test_catalog_price_pay_per_use_and_period(cli_db: Path) -> None:
    prices = usd_prices(VM, "s6.large.2")
    hourly = prices["pay_per_use"]["duration"]["price"]
    quote = run_json("catalog", "price", VM, "s6.large.2", "--quantity", "2")
    assert Decimal(quote["official_amount"]) == 2 * hourly
    assert Decimal(quote["amount"]) == 2 * hourly
    assert Decimal(quote["discount_amount"]) == 0 and quote["unit"] == "h"

    yearly = run_json("catalog", "price", VM, "s6.large.2", "--period", "1year")
    official = 12 * prices["monthly"]
    discount = (official * discount_percent("yearly-purchase") / 100).quantize(
        Decimal("0.01"), rounding=ROUND_HALF_UP
    )
    assert yearly["discount_id"] == "yearly-purchase"
    assert Decimal(yearly["official_amount"]) == official
    assert Decimal(yearly["discount_amount"]) == discount
    assert Decimal(yearly["amount"]) == official - discount

    months = run_json("catalog", "price", VM, "s6.large.2", "--period", "3months")
    assert Decimal(months["official_amount"]) == 3 * prices["monthly"]


def test_catalog_check_and_load(cli_db: Path, tmp_path: Path) -> None:
    edited = tmp_path / "edited.yaml"
    edited.write_text(edited_catalog("2026.12-test", "0.0800"), encoding="utf-8")
    assert run("catalog", "check", str(edited)).stdout.startswith("ok: 2026.12-test (")
    assert run("catalog", "check", str(DEFAULT_CATALOG_PATH)).stdout.startswith(
        f"ok: {DEFAULT_VERSION} ({len(CATALOG['services'])} services)"
    )
    # check loads nothing
    assert [v["version"] for v in run_json("catalog", "versions")["items"]] == [DEFAULT_VERSION]

    loaded = run_json("catalog", "load", str(edited))
    assert loaded["version"] == "2026.12-test" and loaded["created"] is True
    versions = {v["version"]: v["active"] for v in run_json("catalog", "versions")["items"]}
    assert versions == {DEFAULT_VERSION: False, "2026.12-test": True}
    quote = run_json("catalog", "price", VM, "s6.large.2", "--quantity", "2")
    assert Decimal(quote["official_amount"]) == Decimal("0.1600")
    assert run_json("catalog", "load", str(edited))["created"] is False

    # the same version with other content is refused
    clash = tmp_path / "clash.yaml"
    clash.write_text(edited_catalog("2026.12-test", "0.0900"), encoding="utf-8")
    before = state()
    run_error("catalog", "load", str(clash), code="ALREADY_EXISTS")
    assert state() == before


# -- resources -------------------------------------------------------------------------------


def test_resource_register_list_show_release(customer: str) -> None:
    vm = run_json(
        "resource", "register", "--customer", customer, "--type", VM, "--spec", "s6.large.2",
        "--region", REGION, "--name", "web-1", "--id", "vm-1",
    )  # fmt: skip
    assert vm["id"] == "vm-1" and vm["status"] == "normal" and vm["service"] == "ecs"
    yearly = run_json(
        "resource", "register", "--customer", customer, "--type", VM, "--spec", "c7.large.2",
        "--region", REGION, "--name", "db-1", "--billing-mode", "yearly_monthly",
        "--expire-at", "2099-01-01T00:00:00+08:00",
    )  # fmt: skip
    assert yearly["expire_at"] == "2098-12-31T16:00:00Z"

    listing = run_json("resource", "list", "--customer", customer)
    assert listing["total"] == 2
    assert {r["id"] for r in listing["items"]} == {"vm-1", yearly["id"]}
    assert "vm-1" in run("resource", "list").stdout

    released = run_json("resource", "release", "vm-1", "--reason", "deleted")
    assert released["status"] == "released"
    assert run_json("resource", "release", "vm-1")["status"] == "released"  # terminal, no-op
    shown = run_json("resource", "show", "vm-1")
    assert [(h["from"], h["to"], h["reason"]) for h in shown["history"]] == [
        (None, "normal", "registered"),
        ("normal", "released", "deleted"),
    ]
    assert "released" in run("resource", "show", "vm-1").stdout
    assert run_json("resource", "list", "--status", "released")["total"] == 1


# -- clock -----------------------------------------------------------------------------------


def test_clock_system_simulate_advance(cli_db: Path) -> None:
    shown = run_json("clock", "show")
    assert shown["mode"] == "system"
    now = datetime.fromisoformat(shown["now"].replace("Z", "+00:00"))
    assert abs(now - datetime.now(UTC)) < timedelta(minutes=5)
    before = state()
    run_error("clock", "advance", "--days", "1", code="CLOCK_NOT_SIMULATED")
    assert state() == before

    assert run_json("clock", "simulate", "--at", "2026-01-01T00:00:00Z") == {
        "mode": "simulated",
        "now": "2026-01-01T00:00:00Z",
    }
    moved = run_json("clock", "advance", "--days", "16")
    assert moved == {"mode": "simulated", "now": "2026-01-17T00:00:00Z"}
    assert run_json("clock", "show") == moved
    assert "2026-01-17" in run("clock", "show").stdout
    # writes happen at the simulated time
    assert run_json("customer", "create", "acme", "--currency", "USD")["created_at"] == (
        "2026-01-17T00:00:00Z"
    )
    run_error("clock", "advance", code="INVALID_ARGUMENT")
    run_error("clock", "simulate", "--at", "2025-12-31T00:00:00Z", code="INVALID_ARGUMENT")
    assert run_json("clock", "show") == moved


# -- text that looks like Rich markup is shown as typed ---------------------------------------


def test_error_message_with_brackets_is_one_clean_line(cli_db: Path) -> None:
    line = run_error("customer", "show", "[/x]", code="CUSTOMER_NOT_FOUND")
    assert "[/x]" in line


@pytest.mark.parametrize("name", ["[/oops]", "[bold]bravo"])
def test_names_with_brackets_are_shown_literally(cli_db: Path, name: str) -> None:
    created = runner.invoke(app, ["customer", "create", name, "--currency", "USD"])
    assert created.exit_code == 0, created.output
    assert name in created.stdout
    (customer,) = run_json("customer", "list")["items"]
    assert customer["name"] == name
    shown = runner.invoke(app, ["customer", "show", customer["id"]])
    assert shown.exit_code == 0, shown.output
    assert name in shown.stdout
    listing = runner.invoke(app, ["customer", "list"])  # the table of every customer
    assert listing.exit_code == 0, listing.output


# -- errors: one line, a stable code, nothing changed ----------------------------------------

REGISTER = f"resource register --customer {{id}} --type {VM} --region {REGION} --name x"


def case(name: str, command: str, code: str, *marks: Any) -> Any:
    return pytest.param(shlex.split(command), code, id=name, marks=marks)


CLI_ERRORS = [
    # a command line (split like a shell would) and its code; {id}: a USD customer with 100.00
    case("topup-nobody", "topup NOPE 10 --reference x", "CUSTOMER_NOT_FOUND"),
    case("topup-3-decimals", "topup {id} 1.234 --reference x", "TOO_MANY_DECIMALS"),
    case("topup-negative", "topup {id} --reference x -- -5", "INVALID_AMOUNT"),
    case("topup-zero", "topup {id} 0 --reference x", "INVALID_AMOUNT"),
    case("topup-letters", "topup {id} abc --reference x", "INVALID_AMOUNT"),
    case("topup-exponent", "topup {id} 1e3 --reference x", "INVALID_AMOUNT"),
    case("topup-comma", "topup {id} 1,000 --reference x", "INVALID_AMOUNT"),
    case("topup-blank-reference", "topup {id} 10 --reference ' '", "INVALID_ARGUMENT"),
    case("withdraw-too-much", "withdraw {id} 100.01 --reference w", "INSUFFICIENT_BALANCE"),
    case("withdraw-negative", "withdraw {id} --reference w -- -1", "INVALID_AMOUNT"),
    case("adjust-decimals", "customer adjust {id} 1.001 --reference a --reason x",
         "TOO_MANY_DECIMALS"),
    case("unknown-currency", "customer create new --currency XYZ", "UNKNOWN_CURRENCY"),
    case("duplicate-name", "customer create acme --currency USD", "ALREADY_EXISTS"),
    case("bad-email", "customer create new --currency USD --email nope", "INVALID_ARGUMENT"),
    case("bad-timezone", "customer create new --currency USD --timezone Mars/Base",
         "INVALID_ARGUMENT"),
    case("bad-level", "customer create new --currency USD --level 11", "INVALID_ARGUMENT"),
    case("prepaid-credit", "customer create new --currency USD --credit-limit 5",
         "INVALID_ARGUMENT"),
    case("update-timezone", "customer update {id} --timezone Nowhere", "INVALID_ARGUMENT"),
    case("show-nobody", "customer show NOPE", "CUSTOMER_NOT_FOUND"),
    case("freeze-nobody", "customer freeze NOPE", "CUSTOMER_NOT_FOUND"),
    case("history-nobody", "customer history NOPE", "CUSTOMER_NOT_FOUND"),
    case("list-bad-status", "customer list --status gone", "INVALID_ARGUMENT"),
    case("bad-period", f"catalog price {VM} s6.large.2 --period 2weeks", "INVALID_ARGUMENT"),
    case("too-many-years", f"catalog price {VM} s6.large.2 --period 4year", "INVALID_ARGUMENT"),
    case("price-unknown-spec", f"catalog price {VM} s99.huge", "CATALOG_ITEM_NOT_FOUND"),
    case("price-bad-quantity", f"catalog price {VM} s6.large.2 --quantity 1e3",
         "INVALID_AMOUNT"),
    case("price-currency", f"catalog price {VM} s6.large.2 --currency XYZ", "UNKNOWN_CURRENCY"),
    case("specs-unknown-type", "catalog specs hws.resource.type.toaster",
         "CATALOG_ITEM_NOT_FOUND"),
    case("check-bad-yaml", "catalog check {bad_yaml}", "CATALOG_INVALID"),
    case("load-bad-yaml", "catalog load {bad_yaml}", "CATALOG_INVALID"),
    case("check-bad-catalog", "catalog check {bad_catalog}", "CATALOG_INVALID"),
    case("load-bad-catalog", "catalog load {bad_catalog}", "CATALOG_INVALID"),
    case("load-missing-file", "catalog load {missing}", "CATALOG_INVALID"),
    case("activate-unknown", "catalog activate nope", "NOT_FOUND"),
    case("register-unknown-spec", REGISTER + " --spec s99.huge", "CATALOG_ITEM_NOT_FOUND"),
    case("register-yearly-no-expiry",
         REGISTER + " --spec s6.large.2 --billing-mode yearly_monthly", "INVALID_ARGUMENT"),
    case("register-bad-expiry",
         REGISTER + " --spec s6.large.2 --billing-mode yearly_monthly --expire-at soon",
         "INVALID_ARGUMENT"),
    case("register-nobody", REGISTER.replace("{id}", "NOPE") + " --spec s6.large.2",
         "CUSTOMER_NOT_FOUND"),
    case("release-unknown", "resource release NOPE", "RESOURCE_NOT_FOUND"),
    case("show-unknown-resource", "resource show NOPE", "RESOURCE_NOT_FOUND"),
    case("resource-bad-status", "resource list --status gone", "INVALID_ARGUMENT"),
    case("advance-system-clock", "clock advance --days 1", "CLOCK_NOT_SIMULATED"),
    case("simulate-bad-instant", "clock simulate --at yesterday", "INVALID_ARGUMENT"),
]  # fmt: skip


@pytest.mark.parametrize(("args", "code"), CLI_ERRORS)
def test_errors_are_one_line_and_change_nothing(
    customer: str, tmp_path: Path, args: list[str], code: str
) -> None:
    bad_yaml = tmp_path / "bad.yaml"
    bad_yaml.write_text("version: [unclosed\n", encoding="utf-8")
    bad_catalog = tmp_path / "incomplete.yaml"
    bad_catalog.write_text("version: x\nname: y\n", encoding="utf-8")
    values = {
        "{id}": customer,
        "{bad_yaml}": str(bad_yaml),
        "{bad_catalog}": str(bad_catalog),
        "{missing}": str(tmp_path / "none.yaml"),
    }
    filled = [values.get(arg, arg) for arg in args]
    before = state()
    line = run_error(*filled, code=code)
    assert len(line) > len(f"error: {code}: ")
    assert state() == before
    assert overview(customer)["cash_balance"] == "100.00"
    assert run_json("catalog", "show")["version"] == DEFAULT_VERSION


def test_a_refused_usage_file_lists_every_refused_record(customer: str, tmp_path: Path) -> None:
    from cloudbill.kernel.clock import SystemClock
    from cloudbill.kernel.periods import hour_floor

    start = hour_floor(SystemClock().now()) - timedelta(hours=2)  # within the usage horizon
    run(
        "resource", "register", "--customer", customer, "--type", VM, "--spec", "s6.large.2",
        "--region", REGION, "--name", "web-1", "--id", "web-1",
        "--created-at", (start - timedelta(hours=1)).isoformat(),  # metered before registered
    )  # fmt: skip
    span = f"{start.isoformat()},{(start + timedelta(hours=1)).isoformat()}"
    rows = [
        "record_id,resource_id,usage_type,quantity,unit,start,end",
        f"ok-1,web-1,duration,3600,s,{span}",
        f"bad-1,nope,duration,3600,s,{span}",
        f"bad-2,web-1,duration,-5,s,{span}",
    ]
    path = tmp_path / "usage.csv"
    path.write_text("\n".join(rows) + "\n")
    before = state()
    result = runner.invoke(app, ["usage", "ingest", str(path)])
    assert result.exit_code == 2
    err = ANSI.sub("", result.stderr)
    assert "bad-1" in err and "RESOURCE_NOT_FOUND" in err and "no resource 'nope'" in err
    assert "bad-2" in err and "ok-1" not in err
    assert err.strip().splitlines()[-1].startswith("error: USAGE_REJECTED: 2 of 3 usage records")
    as_json = runner.invoke(app, ["usage", "ingest", str(path), "--json"])
    assert as_json.exit_code == 2
    refused = json.loads(as_json.stdout)["error"]["details"]["rejected"]
    assert [(r["index"], r["record_id"], r["code"]) for r in refused] == [
        (1, "bad-1", "RESOURCE_NOT_FOUND"),
        (2, "bad-2", refused[1]["code"]),
    ]
    assert state() == before  # all or nothing


def test_customers_are_named_by_name_too(cli_db: Path) -> None:
    cid = new_customer("acme corp")
    run("topup", "acme corp", "10.00", "--reference", "r1")
    assert run_json("customer", "show", "acme corp")["id"] == cid
    assert run_json("customer", "show", cid)["overview"]["cash_balance"] == "10.00"
    run_error("customer", "show", "nobody", code="CUSTOMER_NOT_FOUND")


def test_version_and_settings(cli_db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from cloudbill import __version__

    assert run("--version").stdout.strip() == f"cloudbill {__version__}"
    monkeypatch.setenv("CLOUDBILL_SMTP_PASSWORD", "hunter2")
    monkeypatch.setenv("CLOUDBILL_WEBHOOK_SECRET", "whsec_c2VjcmV0")
    shown = run_json("config", "show")
    assert shown["CLOUDBILL_SMTP_PASSWORD"] == {"value": "*** (set)", "from": "environment"}
    assert shown["CLOUDBILL_PORT"] == {"value": 8080, "from": "default"}
    assert "hunter2" not in run("config", "show").stdout


def test_lists_stay_readable_at_80_columns(cli_db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from cloudbill.cli import output

    for name in ("a-customer-with-a-rather-long-name", "b"):
        run_json("customer", "create", name, "--currency", "USD")
    monkeypatch.setattr(output.console, "_width", 80)
    text = run("customer", "list").stdout
    assert max(len(line) for line in text.splitlines()) <= 80
    assert "…" in text  # ids shortened (full ids: customer show, --json)


def test_the_clock_never_moves_backwards_once_billing_started(cli_db: Path) -> None:
    from cloudbill.kernel.clock import SystemClock

    real_now = SystemClock().now()
    past = (real_now - timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    future = (real_now + timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    new_customer("acme")  # billing has started at the system time
    before = state()
    run_error("clock", "simulate", "--at", past, code="INVALID_ARGUMENT")  # from system mode
    assert state() == before
    run_json("clock", "simulate", "--at", future)
    run_error("clock", "system", code="INVALID_ARGUMENT")  # simulated time is ahead
    assert run_json("clock", "show")["mode"] == "simulated"


def test_settlement_holds_are_listed_and_a_wrong_record_voided(customer: str) -> None:
    from sqlalchemy import insert

    from cloudbill.kernel.clock import SystemClock
    from cloudbill.kernel.periods import hour_floor
    from cloudbill.store.schema import usage_record

    run(
        "resource", "register", "--customer", customer, "--type", VM, "--spec", "s6.large.2",
        "--region", REGION, "--name", "web-1", "--id", "web-1",
    )  # fmt: skip
    start = hour_floor(SystemClock().now()) - timedelta(hours=2)
    # Records an earlier release let in: each fits, their sum overflows the books.
    rows = [
        {"record_id": f"huge-{i}", "payload_hash": "x" * 32, "customer_id": customer,
         "resource_id": "web-1", "usage_type": "duration", "quantity": "900000000", "unit": "h",
         "pricing_unit": "h", "quantity_e10": 900_000_000 * 10**10, "start_at": start,
         "end_at": start + timedelta(minutes=10), "first_hour": start, "last_hour": start,
         "received_at": start}
        for i in range(2)
    ]  # fmt: skip
    with cli_context.container().db.write() as conn:
        conn.execute(insert(usage_record), rows)
    run("worker", "run-due")
    held = run_json("worker", "holds")
    assert held["total"] == 1 and held["items"][0]["code"] == "AMOUNT_OUT_OF_RANGE"
    assert "AMOUNT_OUT_OF_RANGE" in run("worker", "holds").stdout
    run_error("usage", "void", "nope", "--reason", "x", code="NOT_FOUND")
    for rid in ("huge-0", "huge-1"):
        assert run_json("usage", "void", rid, "--reason", "meter fault")["reason"] == "meter fault"
    run_json("clock", "simulate")  # from now on: the next hourly run releases it
    run_json("clock", "advance", "--hours", "1")
    run("worker", "run-due")
    assert run_json("worker", "holds")["total"] == 0
    assert run_json("worker", "holds", "--all")["items"][0]["released_at"]


def test_catalog_load_lists_what_a_version_would_break(customer: str, tmp_path: Path) -> None:
    run(
        "resource", "register", "--customer", customer, "--type", VM, "--spec", "s6.large.2",
        "--region", REGION, "--name", "web-1", "--id", "web-1",
    )  # fmt: skip
    text = DEFAULT_YAML.replace(f'version: "{DEFAULT_VERSION}"', 'version: "v-broken"')
    text = text.replace(S6_USD_LINE, "")  # s6.large.2 loses its USD prices
    path = tmp_path / "broken.yaml"
    path.write_text(text)
    for command in (("catalog", "check", str(path)), ("catalog", "load", str(path))):
        result = runner.invoke(app, list(command))
        assert result.exit_code == 2, result.output
        lines = ANSI.sub("", result.stderr).strip().splitlines()
        assert lines[-1].startswith("error: CATALOG_IN_USE: ")
        assert any("breaks:" in line and "s6.large.2" in line for line in lines[:-1])
    assert run_json("catalog", "show")["version"] == DEFAULT_VERSION
