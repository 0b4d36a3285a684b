"""The key that seals customers' secret access keys lives outside the database: in a 0600 key
file beside an SQLite database (or under the data directory for PostgreSQL), or in
CLOUDBILL_SECRET_KEY. An upgraded database's key moves out of it; a process with the wrong key
or none says so at once; the database file alone opens no secret."""

from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path

import pytest
from sqlalchemy import insert, select

from cloudbill.bootstrap import Container, build
from cloudbill.cli import context as cli_context
from cloudbill.config import Settings
from cloudbill.credentials import service
from cloudbill.credentials.sealing import SecretBox
from cloudbill.kernel.errors import CloudbillError, ErrorCode
from cloudbill.kernel.periods import utc
from cloudbill.store import sealing_key
from cloudbill.store.schema import app_setting

from ..helpers import new_customer
from .test_cli import cli_db, run, run_error
from .test_cli import new_customer as cli_customer

__all__ = ["cli_db"]  # the fixture, used by name

OLD_KEY = "an-earlier-release-kept-this-key-in-the-database"


def _build(url: str, **settings: str) -> Container:
    return build(Settings(database_url=url, operator_token="t", **settings))


def _issue(container: Container) -> tuple[str, str]:
    cid = new_customer(container).id
    box = SecretBox(container.secret_key())
    made = container.write(lambda conn, now: service.create(conn, cid, box=box, now=now))
    return made.key.id, made.secret


def _opens(container: Container, key_id: str) -> str:
    box = SecretBox(container.secret_key())
    with container.db.read() as conn:
        return service.resolve(conn, key_id, box)[1]  # type: ignore[index]


def test_a_new_database_keeps_its_key_in_a_private_file(sqlite_url: str) -> None:
    c = _build(sqlite_url)
    db_file = Path(sqlite_url.removeprefix("sqlite:///"))
    key_file = db_file.with_name(db_file.name + ".key")
    try:
        key_id, secret = _issue(c)
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        key = key_file.read_text().strip()
        assert len(key) >= 32 and c.secret_key() == key
    finally:
        c.db.dispose()

    # Everything the database file holds, tried as the key: none opens the secret.
    with sqlite3.connect(db_file) as raw:
        stored = [v for (v,) in raw.execute("SELECT value FROM app_setting")]
        sealed = raw.execute("SELECT secret_sealed FROM access_key").fetchone()[0]
    assert key not in stored and secret not in "".join(stored) + sealed
    for value in stored:
        if len(value) >= 32:
            with pytest.raises(CloudbillError):
                SecretBox(value).open(sealed)
    assert SecretBox(key).open(sealed) == secret

    again = _build(sqlite_url)  # a restart reads the same file
    try:
        assert _opens(again, key_id) == secret
    finally:
        again.db.dispose()


def _as_earlier_release(c: Container) -> None:
    """Put the key back in the database, as releases before this one kept it."""
    with c.db.write() as conn:
        conn.execute(
            app_setting.delete().where(app_setting.c.key.in_([sealing_key.CHECK_KEY, "secret_key"]))
        )
        conn.execute(
            insert(app_setting).values(key="secret_key", value=OLD_KEY, updated_at=utc(2026, 1, 1))
        )


def test_an_upgraded_database_moves_its_key_to_the_file(database_url: str, tmp_path: Path) -> None:
    key_file = tmp_path / "moved.key"
    c = _build(database_url, secret_key=OLD_KEY)  # made with the key the old release used
    key_id, secret = _issue(c)
    _as_earlier_release(c)
    c.db.dispose()

    upgraded = _build(database_url, secret_key_file=str(key_file))
    try:
        assert key_file.read_text().strip() == OLD_KEY
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        assert _opens(upgraded, key_id) == secret
        with upgraded.db.read() as conn:
            settings = dict(conn.execute(select(app_setting.c.key, app_setting.c.value)).all())
        assert "secret_key" not in settings and OLD_KEY not in settings.values()
        assert settings[sealing_key.MOVED_KEY].endswith(str(key_file.resolve()))
    finally:
        upgraded.db.dispose()

    # Another host without the file: told where the key went, only when it needs it.
    elsewhere = _build(database_url, secret_key_file=str(tmp_path / "absent.key"))
    try:
        with pytest.raises(CloudbillError) as missing:
            elsewhere.secret_key()
        assert missing.value.code == ErrorCode.INVALID_STATE
        assert str(key_file.resolve()) in missing.value.message
    finally:
        elsewhere.db.dispose()


def test_an_upgraded_database_with_the_key_configured_drops_its_copy(database_url: str) -> None:
    c = _build(database_url, secret_key=OLD_KEY)
    key_id, secret = _issue(c)
    _as_earlier_release(c)
    c.db.dispose()
    upgraded = _build(database_url, secret_key=OLD_KEY)
    try:
        assert _opens(upgraded, key_id) == secret
        with upgraded.db.read() as conn:
            values = conn.execute(select(app_setting.c.value)).scalars().all()
        assert OLD_KEY not in values
    finally:
        upgraded.db.dispose()


def test_the_wrong_key_is_refused_at_once(sqlite_url: str, tmp_path: Path) -> None:
    c = _build(sqlite_url)
    _issue(c)
    c.db.dispose()
    wrong = _build(sqlite_url, secret_key="another-key-of-at-least-thirty-two-chars")
    try:
        with pytest.raises(CloudbillError) as refused:
            wrong.secret_key()
        assert "not the one" in refused.value.message
    finally:
        wrong.db.dispose()
    other_file = tmp_path / "other.key"
    other_file.write_text("yet-another-key-of-at-least-thirty-two-chars\n")
    other = _build(sqlite_url, secret_key_file=str(other_file))  # billing still starts
    try:
        with pytest.raises(CloudbillError) as refused_file:
            other.secret_key()
        assert str(other_file) in refused_file.value.message
    finally:
        other.db.dispose()


def test_the_cli_says_in_one_line_that_the_key_is_missing(cli_db: Path) -> None:
    cid = cli_customer()
    run("access-key", "create", cid)
    key_file = cli_db.with_name(cli_db.name + ".key")
    key_file.rename(key_file.with_name("aside.key"))
    cli_context.container().db.dispose()
    cli_context.container.cache_clear()  # a new process: it finds no key file
    line = run_error("access-key", "create", cid, code="INVALID_STATE")
    assert "is not at" in line and str(key_file) in line


def test_the_default_key_file_of_each_database(database_url: str) -> None:
    """Beside an SQLite file; under the data directory, per server and database, for
    PostgreSQL (the tests point XDG_DATA_HOME at a temporary directory)."""
    c = _build(database_url)
    try:
        path = sealing_key.default_path(database_url)
        assert path is not None and stat.S_IMODE(path.stat().st_mode) == 0o600
        assert c.secret_key() == path.read_text().strip()
        if database_url.startswith("postgresql"):
            assert path.parent == Path(os.environ["XDG_DATA_HOME"]) / "cloudbill" / "keys"
    finally:
        c.db.dispose()
