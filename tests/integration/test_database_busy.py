"""A busy database is 503 with `Retry-After` on every listener, never 500, and nothing changes:
SQLite's writer lock held past the busy timeout, PostgreSQL's lock timeout. Reads still answer."""

from __future__ import annotations

import base64
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from cloudbill.api.app import create_app
from cloudbill.api.bss.app import create_bss_app
from cloudbill.bootstrap import Container, build
from cloudbill.config import Settings
from cloudbill.store import clock_repo
from cloudbill.store.engine import sqlite_file
from tests.compat.conftest import issue_key, sign
from tests.conftest import T0, _truncate_postgres
from tests.helpers import new_customer, snapshot

AUTH = {"Authorization": "Bearer test-token"}
CLOUDBILL = Path(sys.executable).parent / "cloudbill"


def _container(url: str) -> Container:
    c = build(Settings(database_url=url, clock="system", operator_token="test-token",
                       database_busy_timeout_s=0.3))  # fmt: skip
    with c.db.write() as conn:
        clock_repo.set_simulated(conn, T0)
    return c


@pytest.fixture
def locked_sqlite(sqlite_url: str) -> Iterator[tuple[Container, sqlite3.Connection]]:
    """A container whose writes wait 0.3 s, and another connection holding the writer lock."""
    c = _container(sqlite_url)
    customer = new_customer(c)
    c.customer = customer  # type: ignore[attr-defined]
    c.key = issue_key(c, customer.id)  # type: ignore[attr-defined]
    path = sqlite_file(sqlite_url)
    assert isinstance(path, Path)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    yield c, holder
    holder.rollback()
    holder.close()
    c.db.dispose()


def test_a_write_while_another_writer_holds_sqlite_is_503(locked_sqlite) -> None:  # type: ignore[no-untyped-def]
    c, holder = locked_sqlite
    customer = c.customer
    client = TestClient(create_app(c))
    response = client.post(f"/operator/v1/customers/{customer.id}/topups", headers=AUTH,
                           json={"amount": "10", "reference": "busy-1"})  # fmt: skip
    assert response.status_code == 503, response.text
    assert response.headers["Retry-After"] == "1"
    assert response.json()["error"]["code"] == "DATABASE_BUSY"
    # Reads do not wait for the writer.
    read = client.get(f"/operator/v1/customers/{customer.id}", headers=AUTH)
    assert read.status_code == 200, read.text

    holder.rollback()
    before = snapshot(c)
    again = client.post(f"/operator/v1/customers/{customer.id}/topups", headers=AUTH,
                        json={"amount": "10", "reference": "busy-1"})  # fmt: skip
    assert again.status_code == 201, again.text
    assert snapshot(c) != before  # the retry did what the refused request would have


def test_the_customer_api_answers_503_too(locked_sqlite) -> None:  # type: ignore[no-untyped-def]
    c, _holder = locked_sqlite
    key = c.key
    basic = base64.b64encode(f"{key.key.id}:{key.secret}".encode()).decode()
    client = TestClient(create_app(c))
    response = client.post("/customer/v1/access-keys", headers={"Authorization": f"Basic {basic}"})
    assert response.status_code == 503, response.text
    assert response.headers["Retry-After"] == "1"
    assert response.json()["error"]["code"] == "DATABASE_BUSY"


def test_the_bss_api_answers_503_in_huaweis_shape(locked_sqlite) -> None:  # type: ignore[no-untyped-def]
    c, _holder = locked_sqlite
    key = c.key
    client = TestClient(create_bss_app(c), base_url="http://bss.test")
    cancel = {"order_id": "CS0000000000001"}
    signed = sign("http://bss.test", key.key.id, key.secret, "PUT",
                  "/v2/orders/customer-orders/cancel", body=cancel)  # fmt: skip
    response = client.request(signed.method, signed.url, headers=signed.headers,
                              content=signed.body)  # fmt: skip
    assert response.status_code == 503, response.text
    assert response.headers["Retry-After"] == "1"
    assert response.json()["error_code"] == "CBC.0999"
    assert "busy" in response.json()["error_msg"]


def test_the_cli_says_busy_in_one_line(locked_sqlite) -> None:  # type: ignore[no-untyped-def]
    c, _holder = locked_sqlite
    env = {**os.environ, "CLOUDBILL_DATABASE_URL": c.settings.database_url,
           "CLOUDBILL_DATABASE_BUSY_TIMEOUT_S": "0.3"}  # fmt: skip
    for args in (["topup", c.customer.id, "5", "--reference", "cli-busy"],
                 ["customer", "show", c.customer.id]):  # fmt: skip
        done = subprocess.run([str(CLOUDBILL), *args], env=env, capture_output=True, text=True,
                              timeout=60)  # fmt: skip
        lines = done.stderr.strip().splitlines()
        assert done.returncode == 2 and len(lines) == 1, (args, done.stderr)
        assert lines[0].startswith("error: DATABASE_BUSY: the database is busy"), lines


def test_a_postgres_lock_timeout_is_503(postgres_database: str) -> None:
    _truncate_postgres(postgres_database)
    url = postgres_database + ("&" if "?" in postgres_database else "?")
    url += "options=-c%20lock_timeout%3D300"
    c = _container(url)
    customer = new_customer(c)
    client = TestClient(create_app(c))
    with c.db.engine.connect() as holder:
        holder.execute(text("BEGIN"))
        holder.execute(text("SELECT 1 FROM customer WHERE id = :id FOR UPDATE"),
                       {"id": customer.id})  # fmt: skip
        response = client.post(f"/operator/v1/customers/{customer.id}/topups", headers=AUTH,
                               json={"amount": "10", "reference": "pg-busy"})  # fmt: skip
        holder.execute(text("ROLLBACK"))
    assert response.status_code == 503, response.text
    assert response.headers["Retry-After"] == "1"
    assert response.json()["error"]["code"] == "DATABASE_BUSY"
    c.db.dispose()
