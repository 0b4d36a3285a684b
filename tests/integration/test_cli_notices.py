"""`cloudbill notices …` on a fresh SQLite file: templates and previews (a broken template is
one line and exit status 1), list/show/retry/deliver, and bad input that changes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from ..notice_servers import SmtpSink
from .test_cli import cli_db, new_customer, run, run_error, run_json, state

__all__ = ["cli_db"]  # the fixture, used by name


@pytest.fixture
def templates_dir(cli_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "templates"
    folder.mkdir()
    monkeypatch.setenv("CLOUDBILL_NOTICE_TEMPLATES_DIR", str(folder))
    return folder


def test_templates_and_preview(templates_dir: Path) -> None:
    listed = {r["template"]: r["overridden"] for r in run_json("notices", "templates")["items"]}
    assert len(listed) == 58 and not any(listed.values())  # 19 kinds x 3 files + the footer
    assert {"frozen.subject.j2", "frozen.email.j2", "frozen.sms.j2"} <= set(listed)
    shown = run("notices", "preview", "grace_reminder").stdout
    assert "Subject: Your resources will be frozen in 3 days" in shown
    assert "search-cluster (css-1, css)" in shown
    (templates_dir / "frozen.sms.j2").write_text("{{ customer.name }}: frozen at {{ at }}")
    assert run_json("notices", "preview", "frozen")["sms"].startswith("Example Ltd: frozen at ")
    listed = {r["template"]: r["overridden"] for r in run_json("notices", "templates")["items"]}
    assert listed["frozen.sms.j2"] and not listed["frozen.email.j2"]
    (templates_dir / "frozen.email.j2").write_text("Hello {% if %}\n")
    line = run_error("notices", "preview", "frozen", code="TEMPLATE_INVALID", exit_code=1)
    assert "frozen.email.j2 line 1" in line
    run_error("notices", "preview", "nonsense", code="INVALID_ARGUMENT")


def test_list_show_retry_deliver(cli_db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sink = SmtpSink()
    try:
        monkeypatch.setenv("CLOUDBILL_SMTP_HOST", "127.0.0.1")
        monkeypatch.setenv("CLOUDBILL_SMTP_PORT", str(sink.port))
        monkeypatch.setenv("CLOUDBILL_SMTP_STARTTLS", "false")
        monkeypatch.setenv("CLOUDBILL_SMTP_FROM", "billing@cloud.example")
        cid = new_customer("acme")
        run("customer", "update", cid, "--email", "ops@acme.example")
        run("topup", cid, "10.00", "--reference", "t1")
        report = run_json("notices", "deliver")
        assert (report["enqueued"], report["sent"]) == (2, 1)
        assert [str(m["Subject"]) for m in sink.messages] == ["Top-up of 10.00 USD received"]
        items = run_json("notices", "list", "--customer", cid)["items"]
        by_channel = {i["channel"]: i for i in items}
        assert by_channel["sms"]["status"] == "skipped"
        assert by_channel["sms"]["last_error"] == "no mobile number"
        shown = run_json("notices", "show", str(by_channel["email"]["id"]))
        assert shown["attempt_log"][0]["error"] is None and shown["status"] == "sent"
        assert "Top-up" in run("notices", "show", str(by_channel["email"]["id"])).stdout
        before = state()
        run_error("notices", "retry", str(by_channel["email"]["id"]), code="INVALID_STATE")
        run_error("notices", "retry", "9999", code="NOT_FOUND")
        run_error("notices", "list", "--status", "lost", code="INVALID_ARGUMENT")
        run_error("notices", "list", "--limit", "0", code="INVALID_ARGUMENT")
        assert state() == before
        assert run_json("notices", "deliver")["enqueued"] == 0
        assert len(sink.messages) == 1
    finally:
        sink.close()


@pytest.mark.parametrize(
    "kind",
    [
        "subscription_expiring",
        "auto_renew_failed",
        "subscription_expired",
        "subscription_frozen",
        "subscription_released",
    ],
)
def test_subscription_templates_render(templates_dir: Path, kind: str) -> None:
    shown = run("notices", "preview", kind).stdout
    assert "Subject:" in shown and ("web-1" in shown or "search-cluster" in shown)
