"""The real thing, as `make run` does it: `cloudbill serve --demo` in a subprocess, spoken to over
HTTP, with the CLI working on the same database at the same time."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

CLOUDBILL = Path(sys.executable).parent / "cloudbill"
START_TIMEOUT_S = 30
API = "/operator/v1"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def cli(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(CLOUDBILL), *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=60
    )


@dataclass
class Server:
    base: str
    env: dict[str, str]
    cwd: Path
    token: str
    bss: str

    def client(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.base, headers={"Authorization": f"Bearer {self.token}"}, timeout=10
        )


def _wait_until_healthy(process: subprocess.Popen[bytes], base: str, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the server exited with {process.returncode}:\n{log.read_text()}")
        try:
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    pytest.fail(f"the server did not answer /health in {START_TIMEOUT_S}s:\n{log.read_text()}")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLOUDBILL_")}
    env["CLOUDBILL_DATABASE_URL"] = f"sqlite:///{tmp_path}/run.sqlite"
    env["NO_COLOR"] = "1"
    port, bss_port = free_port(), free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                *(str(CLOUDBILL), "serve", "--demo", "--host", "127.0.0.1"),
                *("--port", str(port), "--bss-port", str(bss_port)),
            ],
            env=env,
            cwd=tmp_path,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_until_healthy(process, base, log)
        token = cli(env, tmp_path, "token", "rotate")  # the running server takes it at once
        assert token.returncode == 0, token.stderr
        yield Server(base, env, tmp_path, token.stdout.strip(), f"http://127.0.0.1:{bss_port}")
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def test_serve_demo_end_to_end(server: Server) -> None:
    with server.client() as http:
        assert http.get("/health").json()["status"] == "ok"
        assert httpx.get(f"{server.base}{API}/customers").status_code == 401
        # the Huawei BSS listener answers on its own port, unsigned requests refused its way
        unsigned = httpx.get(f"{server.bss}/v2/accounts/customer-accounts/balances")
        assert unsigned.status_code == 401 and unsigned.headers["X-Request-Id"]
        assert unsigned.json()["error_code"] == "CBC.0154"

        listing = http.get(f"{API}/customers")
        assert listing.status_code == 200, listing.text
        body = listing.json()
        by_name = {c["name"]: c for c in body["items"]}
        assert body["total"] == 5
        assert set(by_name) == {
            "acme-healthy",
            "bluebird-low-balance",
            "corvid-in-arrears",
            "delta-postpaid",
            "epsilon-yearly",
        }
        acme = by_name["acme-healthy"]["overview"]
        assert acme["cash_balance"] == "500.00" and acme["in_arrears"] is False
        assert by_name["bluebird-low-balance"]["overview"]["cash_balance"] == "2.00"
        corvid = by_name["corvid-in-arrears"]["overview"]
        assert corvid["in_arrears"] is True
        assert corvid["debt"] == "15.00" and corvid["cash_balance"] == "0.00"
        delta = by_name["delta-postpaid"]
        assert delta["currency"] == "CNY" and delta["payment_mode"] == "postpaid"
        assert delta["overview"]["unpaid"] == "1200.00"
        assert delta["overview"]["available_credit"] == "3800.00"
        assert delta["overview"]["in_arrears"] is False
        epsilon = by_name["epsilon-yearly"]
        assert epsilon["overview"]["cash_balance"] == "100.00"
        resources = http.get(f"{API}/resources", params={"customer_id": epsilon["id"]}).json()
        assert [r["billing_mode"] for r in resources["items"]] == ["yearly_monthly"]

        # money through HTTP ...
        acme_id = by_name["acme-healthy"]["id"]
        paid = http.post(
            f"{API}/customers/{acme_id}/topups", json={"amount": "25.50", "reference": "e2e-1"}
        )
        assert paid.status_code == 201, paid.text
        assert paid.json()["cash_credited"] == "25.50"

    # ... is seen by the CLI on the same database while the server runs
    shown = cli(server.env, server.cwd, "customer", "show", acme_id, "--json")
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["overview"]["cash_balance"] == "525.50"

    # and a CLI write is seen by the server
    topup = cli(server.env, server.cwd, "topup", acme_id, "4.50", "--reference", "e2e-2", "--json")
    assert topup.returncode == 0, topup.stderr
    with server.client() as http:
        assert http.get(f"{API}/customers/{acme_id}").json()["overview"]["cash_balance"] == (
            "530.00"
        )
        assert http.get(f"{API}/ledger/verify").json()["ok"] is True

    verified = cli(server.env, server.cwd, "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "ok" in verified.stdout

    # a key issued by the CLI opens the customer API of the running server, for acme only
    issued = cli(server.env, server.cwd, "access-key", "create", acme_id, "--json")
    assert issued.returncode == 0, issued.stderr
    key = json.loads(issued.stdout)
    basic = (key["access_key"], key["secret_key"])
    mine = httpx.get(f"{server.base}/customer/v1/account/overview", auth=basic)
    assert mine.status_code == 200, mine.text
    assert mine.json()["cash_balance"] == "530.00"
    assert httpx.get(f"{server.base}{API}/customers", auth=basic).status_code == 401
    assert httpx.get(f"{server.base}/customer/v1/openapi.json").json()["paths"]


def test_cli_errors_in_a_subprocess_are_one_line(server: Server) -> None:
    result = cli(server.env, server.cwd, "topup", "NOPE", "10", "--reference", "x")
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: CUSTOMER_NOT_FOUND: "), result.stderr


def test_serve_prints_the_console_and_the_demo_sign_in(server: Server) -> None:
    printed = (server.cwd / "server.log").read_text()
    assert f"web console:     {server.base}/console/" in printed
    assert "demo sign-in:" in printed and "billing@acme.example" in printed
    assert "password: cloudbill-demo" in printed
    assert httpx.get(f"{server.base}/", follow_redirects=False).headers["location"] == "/console/"
    page = httpx.get(f"{server.base}/console/sign-in")
    assert page.status_code == 200 and "Sign in to the Billing Center" in page.text
    assert httpx.get(f"{server.base}/console/static/vendor/htmx.min.js").status_code == 200
