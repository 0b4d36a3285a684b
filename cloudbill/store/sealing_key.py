"""Where the key that seals customers' secret access keys lives: never in the database.

It is `CLOUDBILL_SECRET_KEY` when set, else the key file: `CLOUDBILL_SECRET_KEY_FILE`, by default
beside an SQLite database (`cloudbill.sqlite.key`) or, for PostgreSQL, in the user's data
directory (`~/.local/share/cloudbill/keys/<host>-<port>-<database>.key`). A new database gets a
new key, written 0600 to the file. The database holds only a check value (an HMAC of a fixed
label under the key), so a process that finds another key than the one the secrets were sealed
with says so at once instead of failing to open them one by one.

An earlier release kept the key itself in `app_setting`; the first start of this one moves it
to the key file (or drops it, when `CLOUDBILL_SECRET_KEY` is set: that was the key in use) and
records where it went, so a second host that lacks the file is told where to copy it from."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import socket
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import Connection, delete, insert, select, update
from sqlalchemy.engine import make_url

from ..kernel.errors import CloudbillError, ErrorCode
from .engine import normalize_url, sqlite_file
from .schema import app_setting

CHECK_KEY = "secret_key_check"  # HMAC-SHA256 of _LABEL under the key
MOVED_KEY = "secret_key_moved_to"  # host:path the legacy key was moved to
LEGACY_KEY = "secret_key"  # the key itself, as earlier releases kept it
_LABEL = b"cloudbill sealing key check v1"


@dataclass(frozen=True, slots=True)
class KeySource:
    """Where this process takes the key from: the setting, or a file (None: an in-memory
    SQLite database, whose secrets live no longer than the process)."""

    configured: str | None
    path: Path | None


def check_value(key: str) -> str:
    return hmac.new(key.encode(), _LABEL, hashlib.sha256).hexdigest()


def default_path(database_url: str) -> Path | None:
    url = normalize_url(database_url)
    if url.startswith("sqlite"):
        db_file = sqlite_file(url)
        return None if db_file is None else db_file.with_name(db_file.name + ".key")
    parsed = make_url(url)
    data_home = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    name = f"{parsed.host or 'localhost'}-{parsed.port or 5432}-{parsed.database or 'postgres'}"
    return data_home / "cloudbill" / "keys" / f"{name}.key"


def source(database_url: str, key: str | None, key_file: str | None) -> KeySource:
    return KeySource(key, Path(key_file) if key_file else default_path(database_url))


def read_file(path: Path) -> str | None:
    try:
        text = path.read_text().strip()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise CloudbillError(
            ErrorCode.INVALID_STATE, f"cannot read the secret key file {path}: {exc.strerror}"
        ) from None
    if len(text) < 32:
        raise CloudbillError(
            ErrorCode.INVALID_STATE, f"the secret key file {path} holds fewer than 32 characters"
        )
    return text


def write_file(path: Path, key: str) -> None:
    """Create the key file, 0600 (its directory 0700 when new); never overwrite one."""
    if not path.parent.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(key + "\n")


def _setting(conn: Connection, key: str) -> str | None:
    return conn.execute(select(app_setting.c.value).where(app_setting.c.key == key)).scalar()


def _put(conn: Connection, key: str, value: str, now: datetime) -> None:
    found = conn.execute(
        update(app_setting).where(app_setting.c.key == key).values(value=value, updated_at=now)
    )
    if found.rowcount == 0:
        conn.execute(insert(app_setting).values(key=key, value=value, updated_at=now))


def _missing(conn: Connection, src: KeySource) -> CloudbillError:
    moved = _setting(conn, MOVED_KEY)
    where = f" (it was moved to {moved} when this database was upgraded)" if moved else ""
    return CloudbillError(
        ErrorCode.INVALID_STATE,
        f"the key that sealed this database's secret access keys is not at {src.path}{where}: "
        "copy that file here, or set CLOUDBILL_SECRET_KEY or CLOUDBILL_SECRET_KEY_FILE",
    )


def _verified(conn: Connection, key: str, src: KeySource) -> str:
    expected = _setting(conn, CHECK_KEY)
    if expected is not None and not hmac.compare_digest(expected, check_value(key)):
        origin = "CLOUDBILL_SECRET_KEY" if src.configured else str(src.path)
        raise CloudbillError(
            ErrorCode.INVALID_STATE,
            f"the secret key from {origin} is not the one this database's secret access keys "
            "were sealed with",
        )
    return key


def ensure(conn: Connection, src: KeySource, *, now: datetime) -> str | None:
    """At start (in the migrating transaction): the key, made on a new database, moved out of
    an upgraded one. None when this process has not the database's key (none, or another):
    only what needs the key then fails, with `load`'s message; billing goes on."""
    try:
        return _ensure(conn, src, now=now)
    except CloudbillError:
        return None


def _ensure(conn: Connection, src: KeySource, *, now: datetime) -> str | None:
    legacy = _setting(conn, LEGACY_KEY)
    key = src.configured or (read_file(src.path) if src.path else None)
    if key is None:
        if _setting(conn, CHECK_KEY) is not None:
            return None
        key = legacy or secrets.token_urlsafe(32)
        if src.path is not None:
            with suppress(FileExistsError):  # another process made it just now: use that one
                write_file(src.path, key)
            key = read_file(src.path) or key
            if legacy is not None:
                _put(conn, MOVED_KEY, f"{socket.gethostname()}:{src.path.resolve()}", now)
    elif legacy is not None and legacy != key and not src.configured:
        raise _conflict(src)
    key = _verified(conn, key, src) if legacy is None else key
    _put(conn, CHECK_KEY, check_value(key), now)
    conn.execute(delete(app_setting).where(app_setting.c.key == LEGACY_KEY))
    return key


def load(conn: Connection, src: KeySource) -> str:
    """The key, checked against the database, or why this process has not got it."""
    key = src.configured or (read_file(src.path) if src.path else None)
    legacy = _setting(conn, LEGACY_KEY)  # not upgraded yet (`cloudbill migrate` moves it)
    if key is None:
        if legacy is not None:
            return legacy
        raise _missing(conn, src)
    if legacy is not None and legacy != key and not src.configured:
        raise _conflict(src)
    return key if legacy is not None else _verified(conn, key, src)


def _conflict(src: KeySource) -> CloudbillError:
    return CloudbillError(
        ErrorCode.INVALID_STATE,
        f"this database holds its own secret key (an earlier release) and {src.path} holds "
        "another: move that file aside, or set CLOUDBILL_SECRET_KEY to the key in use",
    )
