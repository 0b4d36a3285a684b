"""NATS JetStream for the stream-consumer tests: the server at CLOUDBILL_TEST_NATS_URL (default
nats://127.0.0.1:4222, where .ci/run starts `nats-server -js`). Each test gets a stream of its
own, with unique subjects, deleted afterwards: nothing depends on what an earlier run left.
Outside CI an absent server skips the tests, loudly; under CI it fails them."""

from __future__ import annotations

import asyncio
import os
import threading
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import nats
import pytest
from nats.js.api import StreamConfig

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
NATS_URL = os.environ.get("CLOUDBILL_TEST_NATS_URL", "nats://127.0.0.1:4222")


def _run(coro):  # type: ignore[no-untyped-def]
    """asyncio.run in a thread of its own: Playwright's sync API (the browser tests, earlier in
    the same pytest session) keeps an event loop running in this one, where asyncio.run fails."""
    return in_own_thread(lambda: asyncio.run(coro))


def in_own_thread(work):  # type: ignore[no-untyped-def]
    """`work()` in a thread of its own (no event loop running there: see _run), its answer or
    its exception handed back to the caller's thread."""
    outcome: dict[str, object] = {}

    def target() -> None:
        try:
            outcome["value"] = work()
        except BaseException as exc:  # handed back to the caller's thread
            outcome["error"] = exc

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]  # type: ignore[misc]
    return outcome.get("value")


@dataclass(frozen=True)
class StreamUnderTest:
    url: str
    stream: str
    subject: str
    dead_letter_subject: str
    durable: str


async def _connect():  # type: ignore[no-untyped-def]
    return await nats.connect(NATS_URL, connect_timeout=2, allow_reconnect=False,
                              max_reconnect_attempts=0)  # fmt: skip


def _require_server() -> None:
    async def probe() -> None:
        nc = await _connect()
        try:
            await nc.jetstream().account_info()
        finally:
            await nc.close()

    try:
        _run(probe())
    except Exception as exc:
        reason = f"JetStream stream tests SKIPPED: no NATS JetStream at {NATS_URL} ({exc!r})"
        if IN_CI:
            pytest.fail(reason.replace("SKIPPED", "cannot run under CI"))
        pytest.skip(reason)


@pytest.fixture(name="jetstream")
def jetstream_fixture() -> Iterator[StreamUnderTest]:
    _require_server()
    tag = "cbt" + uuid.uuid4().hex[:12]
    ts = StreamUnderTest(NATS_URL, tag.upper(), f"{tag}.records", f"{tag}.dead", f"{tag}-consumer")

    async def create() -> None:
        nc = await _connect()
        try:
            await nc.jetstream().add_stream(
                StreamConfig(name=ts.stream, subjects=[ts.subject, ts.dead_letter_subject])
            )
        finally:
            await nc.close()

    async def delete() -> None:
        nc = await _connect()
        try:
            await nc.jetstream().delete_stream(ts.stream)
        finally:
            await nc.close()

    _run(create())
    try:
        yield ts
    finally:
        _run(delete())


def publish(ts: StreamUnderTest, payloads: Sequence[bytes]) -> None:
    async def run() -> None:
        nc = await _connect()
        try:
            js = nc.jetstream()
            for payload in payloads:
                await js.publish(ts.subject, payload)
        finally:
            await nc.close()

    _run(run())


def dead_letters(ts: StreamUnderTest) -> list[bytes]:
    """Every message on the dead-letter subject, read without a durable consumer."""

    async def run() -> list[bytes]:
        nc = await _connect()
        try:
            js = nc.jetstream()
            sub = await js.pull_subscribe(ts.dead_letter_subject, stream=ts.stream)
            out: list[bytes] = []
            while True:
                try:
                    msgs = await sub.fetch(100, timeout=1)
                except nats.errors.TimeoutError:
                    return out
                out.extend(m.data for m in msgs)
                for m in msgs:
                    await m.ack()
        finally:
            await nc.close()

    return _run(run())
