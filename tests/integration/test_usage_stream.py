"""`cloudbill usage consume` from a real NATS JetStream, on both databases: every published
record stored exactly once, bad records parked as dead letters without blocking the stream, a
consumer killed mid-batch (kill -9) and restarted loses and duplicates nothing."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select

from cloudbill.bootstrap import Container
from cloudbill.ingest import stream
from cloudbill.resources import service as resources
from cloudbill.resources.model import ResourceInput
from cloudbill.store.schema import usage_record

from ..conftest import T0
from ..helpers import assert_books_balance, new_customer
from ..nats_server import StreamUnderTest, dead_letters, jetstream_fixture, publish  # noqa: F401

CLOUDBILL = Path(sys.executable).parent / "cloudbill"
CREATED = T0 - timedelta(days=7)
VMS = 20


def _vms(container: Container) -> None:
    customer = new_customer(container, "streamed")

    def work(conn, now):  # type: ignore[no-untyped-def]
        for i in range(VMS):
            rid = f"vm-{i:03d}"
            resources.register(conn, ResourceInput(
                customer_id=customer.id, resource_type="hws.resource.type.vm", spec="s6.large.2",
                billing_mode="pay_per_use", region="ap-southeast-1", name=rid, id=rid,
                created_at=CREATED), now=now)  # fmt: skip

    container.write(work)


def _record(k: int, prefix: str = "s") -> dict[str, object]:
    """Record k: a minute of VM k mod VMS, in the hours before the clock."""
    start = T0 - timedelta(minutes=k // VMS + 1)
    return {"record_id": f"{prefix}-{k:06d}", "resource_id": f"vm-{k % VMS:03d}",
            "usage_type": "duration", "quantity": "60", "unit": "s",
            "start": start.isoformat(),
            "end": (start + timedelta(minutes=1)).isoformat()}  # fmt: skip


def _consume(container: Container, ts: StreamUnderTest, *extra: str, **popen: object):  # type: ignore[no-untyped-def]
    env = {**os.environ, "CLOUDBILL_DATABASE_URL": container.settings.database_url}
    args = [str(CLOUDBILL), "usage", "consume", "--server", ts.url, "--stream", ts.stream,
            "--subject", ts.subject, "--durable", ts.durable,
            "--dead-letter-subject", ts.dead_letter_subject, "--json", *extra]  # fmt: skip
    if popen:
        return subprocess.Popen(args, env=env, **popen)  # type: ignore[call-overload]
    return subprocess.run(args, env=env, capture_output=True, text=True, timeout=120)


def _stored(container: Container) -> list[str]:
    with container.db.read() as conn:
        return list(conn.execute(select(usage_record.c.record_id)).scalars())


def test_published_records_are_stored_once_and_bad_ones_parked(
    container: Container, jetstream: StreamUnderTest
) -> None:
    _vms(container)
    good = [_record(k) for k in range(300)]
    bad_resource = {**_record(1000), "resource_id": "vm-none"}
    as_float = {**_record(1001), "quantity": 60.0}
    # Singles, arrays of several, a replay of a stored record, and three bad messages between.
    payloads = [json.dumps(r).encode() for r in good[:100]]
    payloads.append(json.dumps([bad_resource, *good[100:150]]).encode())
    payloads.append(b"{not json")
    payloads += [json.dumps(good[k : k + 50]).encode() for k in range(150, 300, 50)]
    payloads.append(json.dumps([as_float, good[0]]).encode())
    publish(jetstream, payloads)

    done = _consume(container, jetstream, "--once", "--batch", "40", "--max-wait", "5")
    assert done.returncode == 0, done.stderr
    totals = json.loads(done.stdout)
    assert totals == {"messages": len(payloads), "batches": totals["batches"], "stored": 300,
                      "duplicates": 1, "rejected": 3}, done.stderr[-3000:]  # fmt: skip
    assert sorted(_stored(container)) == sorted(r["record_id"] for r in good)

    letters = [json.loads(d) for d in dead_letters(jetstream)]
    by_code = {
        (letter["code"], (letter.get("record") or {}).get("record_id")) for letter in letters
    }
    assert by_code == {("RESOURCE_NOT_FOUND", "s-001000"), ("INVALID_ARGUMENT", None),
                       ("INVALID_AMOUNT", "s-001001")}  # fmt: skip
    assert all(letter["reason"] and letter["message"] for letter in letters)

    # Run again: the durable consumer resumes after what it acknowledged; nothing is left.
    again = _consume(container, jetstream, "--once", "--max-wait", "1")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["messages"] == 0
    assert_books_balance(container)


def test_a_consumer_killed_mid_batch_loses_and_duplicates_nothing(
    container: Container, jetstream: StreamUnderTest, tmp_path: Path
) -> None:
    _vms(container)
    total = 3000
    records = [_record(k) for k in range(total)]
    publish(jetstream, [json.dumps(records[k : k + 5]).encode() for k in range(0, total, 5)])
    log = (tmp_path / "consume.log").open("w")
    first = _consume(container, jetstream, "--batch", "20", "--ack-wait", "2",
                     stdout=log, stderr=log)  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while len(_stored(container)) < total // 4 and time.monotonic() < deadline:
            assert first.poll() is None, (tmp_path / "consume.log").read_text()[-2000:]
            time.sleep(0.05)
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
        log.close()
    killed_at = len(_stored(container))
    assert 0 < killed_at < total, "the consumer was not killed mid-stream"

    done = _consume(container, jetstream, "--once", "--batch", "200", "--ack-wait", "2",
                    "--max-wait", "4")  # fmt: skip
    assert done.returncode == 0, done.stderr
    stored = _stored(container)
    assert len(stored) == len(set(stored)) == total
    assert set(stored) == {r["record_id"] for r in records}
    totals = json.loads(done.stdout)
    assert totals["stored"] == total - killed_at
    assert totals["rejected"] == 0
    with container.db.read() as conn:
        assert conn.execute(select(func.count()).select_from(usage_record)).scalar_one() == total
    assert dead_letters(jetstream) == []


def test_bad_command_line_gives_one_line(container: Container, jetstream: StreamUnderTest) -> None:
    missing = _consume(container, jetstream, "--once", "--stream", "NO_SUCH_STREAM_X")
    assert missing.returncode == 2
    assert missing.stderr.strip().splitlines() == [
        "error: STREAM_UNAVAILABLE: no JetStream stream 'NO_SUCH_STREAM_X'"
    ]
    unreachable = _consume(container, jetstream, "--once", "--server", "nats://127.0.0.1:1")
    assert unreachable.returncode == 2
    assert len(unreachable.stderr.strip().splitlines()) == 1
    assert "STREAM_UNAVAILABLE: cannot reach NATS" in unreachable.stderr
    no_dead = _consume(container, jetstream, "--once", "--dead-letter-subject", "nowhere.kept")
    assert no_dead.returncode == 2
    assert "dead-letter subject 'nowhere.kept'" in no_dead.stderr
    loops = _consume(container, jetstream, "--once", "--dead-letter-subject", jetstream.subject)
    assert loops.returncode == 2 and "must not be one the consumer reads" in loops.stderr
    wrong = _consume(container, jetstream, "--batch", "0")
    assert wrong.returncode == 2 and "--batch" in wrong.stderr
    assert _stored(container) == []


def test_a_message_nested_too_deeply_is_a_dead_letter_not_the_end_of_the_consumer() -> None:
    # json raised RecursionError, not a ValueError, and it stopped the consumer (the message,
    # never acknowledged, stopped it again after every restart).
    decoded = stream.decode([stream.Message("7", b"[" * 5000 + b"]" * 5000)])
    assert decoded.records == []
    assert [(d.message_key, d.code) for d in decoded.dead] == [("7", "INVALID_ARGUMENT")]
    assert decoded.dead[0].reason.startswith("not JSON:")
