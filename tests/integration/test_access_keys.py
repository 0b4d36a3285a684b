"""Customer access keys: at most two active, the secret shown once and sealed at rest, through
the service (SQLite and PostgreSQL), the operator API and the CLI."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from cloudbill.api.app import create_app
from cloudbill.bootstrap import Container
from cloudbill.credentials import service
from cloudbill.credentials.sealing import SecretBox
from cloudbill.kernel.errors import CloudbillError, ErrorCode
from cloudbill.store.schema import access_key
from tests.helpers import new_customer, snapshot

from .test_cli import cli_db, run, run_error, run_json, state
from .test_cli import new_customer as cli_customer

__all__ = ["cli_db"]  # the fixture, used by name
API = "/operator/v1"
AUTH = {"Authorization": "Bearer test-token"}


def _box(container: Container) -> SecretBox:
    return SecretBox(container.secret_key())


def test_two_active_keys_secret_sealed(container: Container) -> None:
    cid = new_customer(container).id
    box = _box(container)
    first = container.write(lambda conn, now: service.create(conn, cid, box=box, now=now))
    assert len(first.key.id) == 20 and first.key.id.isupper() and first.key.id.isalnum()
    assert len(first.secret) == 40 and first.secret.isalnum()
    second = container.write(
        lambda conn, now: service.create(conn, cid, box=box, now=now, description="ci")
    )
    before = snapshot(container)
    with pytest.raises(CloudbillError) as refused:
        container.write(lambda conn, now: service.create(conn, cid, box=box, now=now))
    assert refused.value.code == ErrorCode.ACCESS_KEY_LIMIT_REACHED
    assert snapshot(container) == before

    # the secret is not stored in the clear, and the verifier gets it back
    with container.db.read() as conn:
        sealed = conn.execute(select(access_key.c.secret_sealed)).scalars().all()
        assert first.secret not in "".join(sealed)
        key, secret = service.resolve(conn, first.key.id, box)  # type: ignore[misc]
    assert secret == first.secret and key.customer_id == cid

    # disable one, then a third may be created; enabling the disabled one is then refused
    container.write(lambda conn, now: service.set_enabled(conn, first.key.id, False, now=now))
    container.write(lambda conn, now: service.create(conn, cid, box=box, now=now))
    with pytest.raises(CloudbillError) as again:
        container.write(lambda conn, now: service.set_enabled(conn, first.key.id, True, now=now))
    assert again.value.code == ErrorCode.ACCESS_KEY_LIMIT_REACHED
    container.write(lambda conn, _now: service.delete(conn, second.key.id))
    enabled = container.write(
        lambda conn, now: service.set_enabled(conn, first.key.id, True, now=now)
    )
    assert enabled.status == "active"
    listed = container.read(lambda conn, _now: service.list_keys(conn, cid))
    assert [k.status for k in listed] == ["active", "active"]
    assert second.key.id not in {k.id for k in listed}


def test_another_customers_key_is_not_found(container: Container) -> None:
    box = _box(container)
    mine = new_customer(container, "mine").id
    other = new_customer(container, "other").id
    issued = container.write(lambda conn, now: service.create(conn, other, box=box, now=now))
    ak = issued.key.id
    for work in (
        lambda conn, now: service.set_enabled(conn, ak, False, now=now, customer_id=mine),
        lambda conn, _now: service.delete(conn, issued.key.id, customer_id=mine),
        lambda conn, _now: service.get(conn, issued.key.id, customer_id=mine),
        lambda conn, _now: service.get(conn, "not an access key"),
    ):
        with pytest.raises(CloudbillError) as refused:
            container.write(work)
        assert refused.value.code == ErrorCode.ACCESS_KEY_NOT_FOUND


def test_a_changed_secret_key_cannot_open_old_secrets() -> None:
    sealed = SecretBox("a" * 32).seal("S" * 40)
    assert SecretBox("a" * 32).open(sealed) == "S" * 40
    with pytest.raises(CloudbillError) as refused:
        SecretBox("b" * 32).open(sealed)
    assert refused.value.code == ErrorCode.INVALID_STATE


def test_operator_api(sqlite_container: Container) -> None:
    cid = new_customer(sqlite_container).id
    keys = f"{API}/customers/{cid}/access-keys"
    with TestClient(create_app(sqlite_container)) as http:
        assert http.get(keys).status_code == 401
        made = http.post(keys, json={"description": "terraform"}, headers=AUTH)
        assert made.status_code == 201, made.text
        ak, sk = made.json()["access_key"], made.json()["secret_key"]
        assert len(sk) == 40 and made.json()["status"] == "active"
        assert http.post(keys, headers=AUTH).status_code == 201
        full = http.post(keys, headers=AUTH)
        assert full.status_code == 409
        assert full.json()["error"]["code"] == "ACCESS_KEY_LIMIT_REACHED"
        listed = http.get(keys, headers=AUTH).json()["items"]
        assert len(listed) == 2 and all("secret_key" not in k for k in listed)
        assert sk not in http.get(keys, headers=AUTH).text
        off = http.post(f"{keys}/{ak}/disable", headers=AUTH)
        assert off.json()["status"] == "disabled"
        assert http.post(f"{keys}/{ak}/enable", headers=AUTH).json()["status"] == "active"
        assert http.get(f"{keys}/{ak}", headers=AUTH).json()["description"] == "terraform"
        bad = http.post(keys, json={"description": "x" * 300}, headers=AUTH)
        assert bad.status_code == 400 and bad.json()["error"]["code"] == "INVALID_ARGUMENT"
        assert http.delete(f"{keys}/{ak}", headers=AUTH).json()["deleted"] is True
        gone = http.get(f"{keys}/{ak}", headers=AUTH)
        assert gone.status_code == 404 and gone.json()["error"]["code"] == "ACCESS_KEY_NOT_FOUND"
        nobody = http.get(f"{API}/customers/nobody/access-keys", headers=AUTH)
        assert nobody.json()["error"]["code"] == "CUSTOMER_NOT_FOUND"


def test_cli(cli_db: Path) -> None:
    cid = cli_customer("acme")
    made = run_json("access-key", "create", cid, "--description", "ci")
    assert len(made["secret_key"]) == 40
    run_json("access-key", "create", cid)
    before = state()
    run_error("access-key", "create", cid, code="ACCESS_KEY_LIMIT_REACHED")
    assert state() == before
    listed = run_json("access-key", "list", cid)["items"]
    assert {k["status"] for k in listed} == {"active"} and len(listed) == 2
    assert made["secret_key"] not in run("access-key", "list", cid).stdout
    assert run_json("access-key", "disable", made["access_key"])["status"] == "disabled"
    assert run_json("access-key", "enable", made["access_key"])["status"] == "active"
    assert run_json("access-key", "delete", made["access_key"])["deleted"] is True
    run_error("access-key", "delete", made["access_key"], code="ACCESS_KEY_NOT_FOUND")
    run_error("access-key", "list", "nobody", code="CUSTOMER_NOT_FOUND")
