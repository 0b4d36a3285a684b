"""`cloudbill usage consume`: usage records from NATS JetStream, through a durable pull consumer.

Each fetched batch is decoded and stored (stream.py); the dead letters are published to their
subject and acknowledged by JetStream; only then are the batch's messages acknowledged. A crash
anywhere before that leaves the messages unacknowledged, so JetStream delivers them again after
`ack_wait`: stored records come back as duplicates (counted, not stored twice) and a dead letter
published again carries the same `Nats-Msg-Id`, which JetStream's duplicate window drops.
"""

from __future__ import annotations

import asyncio
import signal
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import nats
from nats.js.api import AckPolicy, ConsumerConfig
from nats.js.errors import NotFoundError

from ..kernel.collection import paused_collection
from ..kernel.errors import CloudbillError, ErrorCode
from ..observe import logs, metrics
from . import stream
from .stream import Write

log = logs.get("cloudbill.ingest.jetstream")
CONNECT_TIMEOUT_S = 5.0
PUBLISH_TIMEOUT_S = 10.0


@dataclass(frozen=True, slots=True)
class Options:
    server: str
    stream: str
    subject: str
    durable: str
    dead_letter_subject: str
    batch: int
    max_wait_s: float
    ack_wait_s: float
    max_messages: int | None = None  # stop after this many messages
    once: bool = False  # stop when a fetch finds nothing (the stream is drained)


@dataclass
class Totals:
    messages: int = 0
    batches: int = 0
    stored: int = 0
    duplicates: int = 0
    rejected: int = 0

    def as_dict(self) -> dict[str, int]:
        return {
            "messages": self.messages,
            "batches": self.batches,
            "stored": self.stored,
            "duplicates": self.duplicates,
            "rejected": self.rejected,
        }


def run(write: Write, options: Options, *, horizon: timedelta) -> Totals:
    return asyncio.run(consume(write, options, horizon=horizon))


async def consume(write: Write, options: Options, *, horizon: timedelta) -> Totals:
    nc = await _connect(options.server)
    stop = asyncio.Event()
    _stop_on_signals(stop)
    try:
        js = nc.jetstream()
        await _check_streams(js, options)
        config = ConsumerConfig(
            durable_name=options.durable,
            ack_policy=AckPolicy.EXPLICIT,
            ack_wait=options.ack_wait_s,
            filter_subject=options.subject,
        )
        sub = await js.pull_subscribe(
            options.subject, durable=options.durable, stream=options.stream, config=config
        )
        totals = Totals()
        while not stop.is_set():
            want = options.batch
            if options.max_messages is not None:
                want = min(want, options.max_messages - totals.messages)
                if want <= 0:
                    break
            try:
                msgs = await sub.fetch(want, timeout=options.max_wait_s)
            except TimeoutError:  # nats-py raises its own or asyncio's: both are TimeoutError
                msgs = []
            if not msgs:
                if options.once:
                    break
                continue
            await _handle(js, nc, write, options, msgs, totals, horizon)
        return totals
    finally:
        await nc.close()


async def _connect(server: str) -> Any:
    async def quiet(_exc: Exception) -> None:
        pass  # the failure is raised below as one line, not logged with a traceback

    try:
        # The client keeps retrying a refused first connection: bounded here.
        return await asyncio.wait_for(
            nats.connect(
                server,
                connect_timeout=CONNECT_TIMEOUT_S,
                allow_reconnect=False,  # a lost server ends the command; a restart resumes
                max_reconnect_attempts=0,
                error_cb=quiet,
            ),
            timeout=2 * CONNECT_TIMEOUT_S,
        )
    except Exception as exc:  # the client raises several kinds for an unreachable server
        if isinstance(exc, TimeoutError):
            detail = f"no answer within {2 * CONNECT_TIMEOUT_S:g} s"
        else:
            detail = str(exc) or type(exc).__name__
        raise CloudbillError(
            ErrorCode.STREAM_UNAVAILABLE, f"cannot reach NATS at {server}: {detail}"
        ) from None


async def _check_streams(js: Any, options: Options) -> None:
    """The stream must exist, and a stream must keep the dead letters (else they would be
    lost when their messages are acknowledged)."""
    try:
        await js.stream_info(options.stream)
    except NotFoundError:
        raise CloudbillError(
            ErrorCode.STREAM_UNAVAILABLE, f"no JetStream stream {options.stream!r}"
        ) from None
    try:
        await js.find_stream_name_by_subject(options.dead_letter_subject)
    except NotFoundError:
        raise CloudbillError(
            ErrorCode.STREAM_UNAVAILABLE,
            f"no JetStream stream keeps the dead-letter subject {options.dead_letter_subject!r}",
        ) from None
    if _overlaps(options.subject, options.dead_letter_subject):
        raise CloudbillError(
            ErrorCode.INVALID_ARGUMENT,
            "the dead-letter subject must not be one the consumer reads",
        )


def _overlaps(subject: str, other: str) -> bool:
    """Whether the filter `subject` (wildcards * and >) matches the literal subject `other`."""
    pattern, tokens = subject.split("."), other.split(".")
    for i, part in enumerate(pattern):
        if part == ">":
            return len(tokens) > i
        if i >= len(tokens) or (part != "*" and part != tokens[i]):
            return False
    return len(pattern) == len(tokens)


async def _handle(
    js: Any,
    nc: Any,
    write: Write,
    options: Options,
    msgs: list[Any],
    totals: Totals,
    horizon: timedelta,
) -> None:
    messages = [stream.Message(str(m.metadata.sequence.stream), m.data) for m in msgs]
    with paused_collection():  # a batch's thousands of short-lived records and rows
        decoded = stream.decode(messages)
        consumed = len(decoded.records) + len(decoded.dead)
        # The database work runs in a thread, so the connection keeps answering pings.
        outcome = await asyncio.to_thread(stream.store, write, decoded.records, horizon=horizon)
    dead = decoded.dead + outcome.dead
    for n, letter in enumerate(dead):
        # Same id on a redelivery: JetStream's duplicate window keeps one copy.
        msg_id = f"{options.stream}.{options.durable}.{letter.message_key}.{n}"
        await js.publish(
            options.dead_letter_subject,
            letter.as_json(),
            timeout=PUBLISH_TIMEOUT_S,
            headers={"Nats-Msg-Id": msg_id},
        )
    for m in msgs:
        await m.ack()
    await nc.flush()
    totals.messages += len(msgs)
    totals.batches += 1
    totals.stored += outcome.stored
    totals.duplicates += outcome.duplicates
    totals.rejected += len(dead)
    for outcome_name, n in (
        ("consumed", consumed),
        ("stored", outcome.stored),
        ("duplicate", outcome.duplicates),
        ("rejected", len(dead)),
    ):
        if n:
            metrics.STREAM_USAGE_RECORDS.labels(outcome_name).inc(n)
    log.info(
        "usage batch consumed",
        messages=len(msgs),
        first=messages[0].key,
        last=messages[-1].key,
        stored=outcome.stored,
        duplicates=outcome.duplicates,
        rejected=len(dead),
    )
    for letter in dead[:10]:  # the first few, each with its reason; all are in the dead letters
        log.warning("usage record rejected", message=letter.message_key, code=letter.code,
                    reason=letter.reason)  # fmt: skip


def _stop_on_signals(stop: asyncio.Event) -> None:
    """SIGTERM or Ctrl-C: finish the batch in hand, then stop (nothing half-done to redo)."""
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):  # not the main thread, or no signals here
            return
