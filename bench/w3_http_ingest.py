"""W3: usage ingestion over HTTP, 100 records a request, keep-alive, on loopback.

Set-up (not measured): JSON bodies of 100 records each (the data set's usage for NEXT_HOUR on
existing resources), encoded before the clock starts; `cloudbill serve` started as a
subprocess on a free port of 127.0.0.1 with CLOUDBILL_DATABASE_URL pointing at the
benchmark's database, and waited for (bounded).

Measured: THREADS client threads, each with one `httpx.Client` (one kept-alive connection),
POST the bodies to /operator/v1/usage-records with the operator token until every body is sent
or `w3_seconds` have passed (bounded count and time: the run stops by itself). One body is sent
first, unmeasured, to warm both servers up.

Floor (same run): the same bodies, posted the same way to a trivial ASGI app under uvicorn that
only reads the body, parses the JSON and answers with the record count.

Goal (issue 20): at least 30,000 records/s, within 3x of the floor.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select

from cloudbill.bootstrap import Container
from cloudbill.store.schema import usage_record

from .dataset import NEXT_HOUR, TOKEN, DataSet
from .measure import verdict

GOAL_RECORDS_PER_S = 30_000
GOAL_RATIO = 3.0
BATCH = 100
THREADS = 4
START_TIMEOUT_S = 60.0
PATH = "/operator/v1/usage-records"
REPO = Path(__file__).resolve().parent.parent


def bodies(ds: DataSet, count: int, prefix: str) -> list[bytes]:
    resources, per = ds.size.resources, ds.per_resource
    out = []
    for first in range(0, count - count % BATCH, BATCH):
        records = []
        for k in range(first, first + BATCH):
            i, j = k % resources, (k // resources) % per
            r = ds.record(i, j, NEXT_HOUR, allow_crossing=False)
            item = {
                "record_id": f"{prefix}-{k:08d}",
                "resource_id": r.resource_id,
                "usage_type": r.kind.usage_type,
                "quantity": r.quantity,
                "start": r.start.isoformat(),
                "end": r.end.isoformat(),
            }
            if r.kind.unit:
                item["unit"] = r.kind.unit
            records.append(item)
        out.append(json.dumps({"records": records}, separators=(",", ":")).encode())
    return out


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """A server subprocess on loopback, stopped (and waited for) on exit."""

    def __init__(self, command: list[str], env: dict[str, str], workdir: Path, name: str) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = workdir / f"{name}.log"
        self.command = [*command, "--host", "127.0.0.1", "--port", str(self.port)]
        self.env = env
        self.workdir = workdir
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Server:
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen(
                self.command, env=self.env, cwd=self.workdir, stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + START_TIMEOUT_S
        with httpx.Client(timeout=2.0) as client:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"server exited: {self.log.read_text()[-2000:]}")
                try:
                    if client.get(f"{self.base}/health").status_code == 200:
                        return self
                except httpx.TransportError:
                    pass
                time.sleep(0.1)
        self.__exit__(None, None, None)
        raise RuntimeError(f"server did not answer within {START_TIMEOUT_S:.0f} s")

    def peak_memory_bytes(self) -> int:
        """The server process's peak resident memory (VmHWM), since it started."""
        assert self.proc is not None
        with open(f"/proc/{self.proc.pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
        return 0

    def __exit__(self, *_exc: object) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=15)


def post_all(base: str, batches: Sequence[bytes], seconds: float) -> dict[str, Any]:
    """Post every batch from THREADS kept-alive clients, until done or `seconds` are up."""
    lock = threading.Lock()
    queue = iter(batches)
    totals = {"requests": 0, "accepted": 0, "errors": 0}
    errors: list[str] = []
    headers = {"authorization": f"Bearer {TOKEN}", "content-type": "application/json"}
    deadline = time.perf_counter() + seconds

    def work() -> None:
        done = accepted = failed = 0
        with httpx.Client(base_url=base, headers=headers, timeout=120.0) as client:
            while time.perf_counter() < deadline:
                with lock:
                    body = next(queue, None)
                if body is None:
                    break
                response = client.post(PATH, content=body)
                done += 1
                if response.status_code == 200:
                    accepted += response.json()["accepted"]
                else:
                    failed += 1
                    if len(errors) < 3:
                        errors.append(f"{response.status_code} {response.text[:300]}")
        with lock:
            totals["requests"] += done
            totals["accepted"] += accepted
            totals["errors"] += failed

    threads = [threading.Thread(target=work, name=f"w3-client-{n}") for n in range(THREADS)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - start
    if errors:
        raise RuntimeError(f"{totals['errors']} requests failed, e.g. {errors}")
    return {
        **totals,
        "seconds": elapsed,
        "records": totals["requests"] * BATCH,
        "stopped_by_time": totals["requests"] < len(batches),
    }


def _cloudbill_command() -> list[str]:
    # A free port for the BSS listener too: a `make run` on the defaults may be up meanwhile.
    script = Path(sys.executable).with_name("cloudbill")
    serve = ["serve", "--bss-port", str(free_port())]
    if script.exists():
        return [str(script), *serve]
    return [sys.executable, "-c", "from cloudbill.cli import main; main()", *serve]


def run(
    container: Container, ds: DataSet, workdir: Path, *, out: Callable[[str], None] = print
) -> dict[str, Any]:
    started = time.perf_counter()
    batches = bodies(ds, ds.size.w3_records + BATCH, "w3")
    warm, timed = batches[0], batches[1:]
    setup_s = time.perf_counter() - started
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLOUDBILL_")}
    env.update(
        CLOUDBILL_DATABASE_URL=container.db.url,
        CLOUDBILL_OPERATOR_TOKEN=TOKEN,
        CLOUDBILL_LOG_LEVEL="warning",
    )
    seconds = ds.size.w3_seconds
    with Server(_cloudbill_command(), env, workdir, "w3-cloudbill") as server:
        post_all(server.base, [warm], seconds)
        measured = post_all(server.base, timed, seconds)
        server_peak = server.peak_memory_bytes()
    floor_env = dict(
        env, PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    )
    floor_cmd = [
        sys.executable,
        "-m",
        "uvicorn",
        "bench.w3_http_ingest:floor_app",
        "--log-level",
        "warning",
    ]
    with Server(floor_cmd, floor_env, workdir, "w3-floor") as server:
        post_all(server.base, [warm], seconds)
        fl = post_all(server.base, timed, seconds)

    with container.db.read() as conn:
        stored = conn.execute(
            select(func.count()).where(usage_record.c.record_id.between("w3-", "w3-~"))
        ).scalar_one()
    assert measured["accepted"] == measured["records"], measured
    assert stored == measured["records"] + BATCH, (stored, measured)
    rate = measured["records"] / measured["seconds"]
    floor_rate = fl["records"] / fl["seconds"]
    ratio = floor_rate / rate
    out(
        f"W3 HTTP ingest [{ds.size.name}]: {measured['records']:,} records in "
        f"{measured['requests']:,} requests of {BATCH} from {THREADS} kept-alive clients "
        f"(bounded: {len(timed):,} requests or {seconds:.0f} s"
        f"{', stopped by time' if measured['stopped_by_time'] else ''}); "
        f"set-up {setup_s:.1f} s (not measured)"
    )
    out(
        f"   {measured['seconds']:.2f} s = {rate:,.0f} records/s "
        f"({measured['seconds'] / measured['requests'] * 1000 * THREADS:.1f} ms a request "
        f"with {THREADS} in flight); all {stored:,} stored; server peak memory "
        f"{server_peak / 2**20:.1f} MiB"
    )
    out(
        f"   floor (same requests to an ASGI app that only parses the JSON): "
        f"{fl['records']:,} records in {fl['seconds']:.2f} s = {floor_rate:,.0f} records/s; "
        f"ratio {ratio:.1f}x"
    )
    out(
        f"   goal >= {GOAL_RECORDS_PER_S:,} records/s: {verdict(rate >= GOAL_RECORDS_PER_S)} "
        f"({rate:,.0f} records/s); goal within {GOAL_RATIO:g}x of the floor: "
        f"{verdict(ratio <= GOAL_RATIO)} ({ratio:.1f}x)"
    )
    return {
        "size": ds.size.name,
        "records": measured["records"],
        "seconds": measured["seconds"],
        "records_per_s": rate,
        "floor_seconds": fl["seconds"],
        "floor_records": fl["records"],
        "floor_records_per_s": floor_rate,
        "ratio": ratio,
        "goal_met": rate >= GOAL_RECORDS_PER_S,
        "peak_memory_bytes": server_peak,
    }


async def floor_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """The floor's server: read the body, parse the JSON, answer with the count. Nothing else."""
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "http":
        return
    body = bytearray()
    more = True
    while more:
        message = await receive()
        body += message.get("body", b"")
        more = message.get("more_body", False)
    if scope["path"] == "/health":
        payload = b'{"status":"ok"}'
    else:
        records = json.loads(body)["records"]
        payload = json.dumps({"accepted": len(records), "duplicates": 0}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})
