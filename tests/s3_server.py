"""A real S3-compatible server on loopback for the bill storage tests: moto's standalone server
(`moto[server]`, a test requirement) in its own process on a free port. Outside CI a missing
moto skips its tests, loudly; under CI it fails them."""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
SKIP_REASON = "bill storage tests SKIPPED: moto[server] is not installed (make venv installs it)"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def require_moto() -> None:
    if importlib.util.find_spec("moto.server") is None:
        if IN_CI:
            pytest.fail(SKIP_REASON.replace("SKIPPED", "cannot run under CI"))
        pytest.skip(SKIP_REASON)


@contextmanager
def s3_server(*, authenticate: bool = False) -> Iterator[str]:
    """The endpoint URL of a fresh server. `authenticate`: the server checks access keys
    (none exists, so every key is refused: how a wrong key looks to the client)."""
    require_moto()
    port = free_port()
    env = dict(os.environ)
    if authenticate:
        env["INITIAL_NO_AUTH_ACTION_COUNT"] = "0"
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), 0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("the moto S3 server did not start") from None
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
