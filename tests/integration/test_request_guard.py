"""What every request must be before authentication: its body bounded while it is read (a
declared length past the bound refused at once, a chunked body as soon as it passes it, a server
sent a 1 GB body keeping its memory within a stated bound), and its text free of control
characters (NUL, which PostgreSQL cannot store, and the like), refused with a stable code."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from cloudbill.api.app import create_app
from cloudbill.bootstrap import Container

from ..helpers import snapshot
from .test_serve import CLOUDBILL, _wait_until_healthy, free_port

AUTH = {"Authorization": "Bearer test-token"}
LIMIT = 4096


@pytest.fixture
def limited(container: Container) -> Container:
    settings = container.settings.model_copy(update={"request_body_max_bytes": LIMIT})
    return dataclasses.replace(container, settings=settings)


def _chunks(total: int, size: int = 1024) -> Iterator[bytes]:
    for _ in range(total // size):
        yield b" " * size


def test_a_declared_length_past_the_bound_is_refused_unread(limited: Container) -> None:
    client = TestClient(create_app(limited))
    before = snapshot(limited)
    body = b'{"records": [' + b" " * (LIMIT * 2) + b"]}"
    answer = client.post("/operator/v1/usage-records", content=body, headers=AUTH)
    assert answer.status_code == 413
    assert answer.json()["error"]["code"] == "PAYLOAD_TOO_LARGE"
    assert answer.headers["X-Request-Id"]
    assert snapshot(limited) == before
    # also without credentials, and on the customer API: the bound comes first
    assert client.post("/operator/v1/usage-records", content=body).status_code == 413
    assert client.post("/customer/v1/orders", content=body).status_code == 413


def test_a_chunked_body_is_cut_off_at_the_bound(limited: Container) -> None:
    client = TestClient(create_app(limited))
    answer = client.post("/operator/v1/usage-records", content=_chunks(LIMIT * 4), headers=AUTH)
    assert answer.status_code == 413 and answer.json()["error"]["code"] == "PAYLOAD_TOO_LARGE"
    small = client.post("/operator/v1/usage-records", json={"records": []}, headers=AUTH)
    assert small.status_code == 400  # under the bound, the request is read as usual


def test_the_bss_listener_refuses_a_large_body_before_the_signature(limited: Container) -> None:
    from cloudbill.api.bss.app import create_bss_app

    client = TestClient(create_bss_app(limited))
    answer = client.post(
        "/v2/bills/customer-bills/res-records/query",
        content=b"{" + b" " * (LIMIT * 2) + b"}",
        headers={"Authorization": "SDK-HMAC-SHA256 Access=made-up, SignedHeaders=x, Signature=y"},
    )
    assert answer.status_code == 413
    assert answer.json()["error_code"] == "CBC.0100"


def _rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


BOUND_MB = 64  # what a 1 GB body may add to the server's memory at most (the body bound is 16)


def test_a_one_gigabyte_body_leaves_the_server_memory_bounded(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLOUDBILL_")}
    env |= {"CLOUDBILL_DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite", "NO_COLOR": "1"}
    port, bss_port = free_port(), free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "server.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            [str(CLOUDBILL), "serve", "--no-worker", "--port", str(port), "--bss-port",
             str(bss_port)],
            env=env, cwd=tmp_path, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        _wait_until_healthy(server, base, log)
        before = _rss_kb(server.pid)
        for url in (
            f"{base}/operator/v1/usage-records",
            f"http://127.0.0.1:{bss_port}/v2/bills/customer-bills/res-records/query",
        ):
            started = time.monotonic()
            try:
                answer = httpx.post(
                    url,
                    content=_chunks(1 << 30, 1 << 20),
                    headers={"Authorization": "Bearer anything"},
                    timeout=60,
                )
                assert answer.status_code == 413, answer.text
            except httpx.TransportError:
                pass  # the server may close the connection on the rest of the body
            assert time.monotonic() - started < 60
        grown_mb = (_rss_kb(server.pid) - before) / 1024
        assert grown_mb < BOUND_MB, f"the server grew by {grown_mb:.0f} MB"
        assert httpx.get(f"{base}/health", timeout=5).status_code == 200
    finally:
        server.terminate()
        server.wait(timeout=15)


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/operator/v1/customers", '{"name": "a\\u0000b", "currency": "USD"}'),
        ("POST", "/operator/v1/customers", '{"name": "tab\\u0007", "currency": "USD"}'),
        ("GET", "/operator/v1/customers/x%00y", None),
        ("GET", "/operator/v1/notices?customer_id=a%00b", None),
        ("GET", "/operator/v1/resources?customer_id=%01", None),
    ],
)
def test_control_characters_are_refused_with_a_stable_code(
    container: Container, method: str, path: str, body: str | None
) -> None:
    client = TestClient(create_app(container))
    before = snapshot(container)
    answer = client.request(
        method, path, content=body, headers={**AUTH, "content-type": "application/json"}
    )
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["code"] == "INVALID_ARGUMENT"
    assert "control character" in answer.json()["error"]["message"]
    assert snapshot(container) == before


def test_escaped_backslashes_and_line_breaks_are_text(container: Container) -> None:
    client = TestClient(create_app(container))
    made = client.post(
        "/operator/v1/customers",
        content='{"name": "back\\\\u0000slash", "currency": "USD"}',
        headers={**AUTH, "content-type": "application/json"},
    )
    assert made.status_code == 201, made.text
    assert made.json()["name"] == "back\\u0000slash"  # an escaped backslash, then text
