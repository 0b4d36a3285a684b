"""W8: online money operations over HTTP on PostgreSQL, 16 concurrent clients.

Set-up (not measured): a fresh PostgreSQL database; CUSTOMERS prepaid customers with a large
top-up each, and one order pending payment (a one-month VM) for every payment the run makes;
`cloudbill serve --no-worker` started as a subprocess on a free port of 127.0.0.1.

Measured: CLIENTS client threads, each with one kept-alive `httpx.Client` and customers of its
own, send a mix of top-ups, withdrawals and order payments (one of each in turn) to the
operator API until every operation is done or `seconds` have passed. Throughput, and the
latency of each request as the client sees it (p50, p99), overall and per kind. Every answer
must be a success (201/200); afterwards the books must verify (`cloudbill verify`'s checks).

Floor (same run, same machine, same database server): the same clients against an app on the
same stack (uvicorn, FastAPI, a sync route in the thread pool, SQLAlchemy's pool and psycopg
to the same PostgreSQL) whose one route runs a transaction of one UPDATE. A floor straight
against the database would leave out HTTP, JSON and the thread pool, which every online
operation pays for whatever the billing logic does; this floor is what one round trip to the
database costs through that stack, so the ratio is what the billing logic adds.

The machine: the server, the clients and PostgreSQL share its cores (2 on the reference
machine, shared with other work): the figures are for all three together.

Goal (the issue): at least 2,000 operations/s with p99 under 25 ms, within 5x of the floor.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from pydantic import BaseModel
from sqlalchemy import create_engine, text

from cloudbill.customers import service as customers
from cloudbill.customers.model import CustomerInput
from cloudbill.orders import service as orders
from cloudbill.orders.service import NewItem, Terms
from cloudbill.store.engine import normalize_url

from .dataset import TOKEN, bench_database, open_container, verify_books
from .measure import verdict
from .w3_http_ingest import REPO, Server, free_port

GOAL_OPS_PER_S = 2_000
GOAL_P99_MS = 25.0
GOAL_RATIO = 5.0
CLIENTS = 16
CUSTOMERS_PER_CLIENT = 4
OPS = {"tiny": 96, "quick": 900, "medium": 6_000, "full": 15_000}  # tiny: the smoke test's
SECONDS = {"tiny": 30.0, "quick": 30.0, "medium": 60.0, "full": 120.0}
VM = NewItem("hws.resource.type.vm", "s6.small.1", "ap-southeast-1", "vm", "month", 1)
TOPUP, WITHDRAWAL = "1.25", "0.50"
KINDS = ("topup", "withdrawal", "payment")


def _setup(url: str, ops: int) -> dict[str, Any]:
    """Customers with money, and the orders to pay: per client, its customers and its work."""
    container = open_container(url)
    terms = Terms.from_settings(container.settings)
    per_client = ops // CLIENTS
    payments = per_client // 3 + 1
    plans: list[list[tuple[str, str, str]]] = []  # per client: (kind, customer, order id or "")
    try:
        for client in range(CLIENTS):
            ids = container.write(
                lambda conn, now, n=client: [
                    customers.create(
                        conn, CustomerInput(name=f"w8-{n}-{k}", currency="USD"), now=now
                    ).id
                    for k in range(CUSTOMERS_PER_CLIENT)
                ]
            )
            for cid in ids:
                container.write(
                    lambda conn, now, c=cid: customers.topup(
                        conn, c, "100000", reference=f"w8-seed-{c}", now=now
                    )
                )
            order_ids = container.write(
                lambda conn, now, ids=ids: [
                    orders.create_new(conn, ids[k % len(ids)], [VM], terms=terms, now=now).id
                    for k in range(payments)
                ]
            )
            plan = []
            for k in range(per_client):
                kind = KINDS[k % 3]
                cid = ids[k % len(ids)]
                order = ""
                if kind == "payment":
                    order = order_ids[k // 3]
                    cid = ids[(k // 3) % len(ids)]
                plan.append((kind, cid, order))
            plans.append(plan)
    finally:
        container.db.dispose()
    return {"plans": plans}


def _request(kind: str, cid: str, order: str, ref: str) -> tuple[str, dict[str, Any]]:
    if kind == "topup":
        return f"/operator/v1/customers/{cid}/topups", {"amount": TOPUP, "reference": ref}
    if kind == "withdrawal":
        return f"/operator/v1/customers/{cid}/withdrawals", {"amount": WITHDRAWAL, "reference": ref}
    return f"/operator/v1/customers/{cid}/orders/{order}/pay", {"reference": ref}


def drive(
    base: str,
    plans: list[list[tuple[str, str, str]]],
    seconds: float,
    path_of: Callable[[int, str, str, str, str], tuple[str, dict[str, Any]]],
) -> dict[str, Any]:
    """Every client sends its plan, one request at a time; latencies per kind."""
    headers = {"authorization": f"Bearer {TOKEN}"}
    latencies: dict[str, list[float]] = {kind: [] for kind in KINDS}
    errors: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(len(plans) + 1)
    deadline: list[float] = []

    def work(n: int, plan: list[tuple[str, str, str]]) -> None:
        mine: dict[str, list[float]] = {kind: [] for kind in KINDS}
        with httpx.Client(base_url=base, headers=headers, timeout=60.0) as client:
            client.get("/health")  # connect before the clock starts
            barrier.wait()
            for k, (kind, cid, order) in enumerate(plan):
                if time.perf_counter() > deadline[0]:
                    break
                path, body = path_of(n, kind, cid, order, f"w8-{n}-{k}")
                started = time.perf_counter()
                response = client.post(path, json=body)
                mine[kind].append(time.perf_counter() - started)
                if response.status_code not in (200, 201):
                    with lock:
                        errors.append(f"{path} {response.status_code} {response.text[:200]}")
        with lock:
            for kind in KINDS:
                latencies[kind] += mine[kind]

    threads = [threading.Thread(target=work, args=(n, p)) for n, p in enumerate(plans)]
    for thread in threads:
        thread.start()
    deadline.append(time.perf_counter() + seconds)
    started = time.perf_counter()
    barrier.wait()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise RuntimeError(f"{len(errors)} requests failed, e.g. {errors[:3]}")
    every = sorted(x for kind in KINDS for x in latencies[kind])
    return {
        "ops": len(every),
        "seconds": elapsed,
        "per_s": len(every) / elapsed,
        "p50_ms": _quantile(every, 0.50) * 1000,
        "p99_ms": _quantile(every, 0.99) * 1000,
        "by_kind": {
            kind: (len(v), _quantile(sorted(v), 0.5) * 1000, _quantile(sorted(v), 0.99) * 1000)
            for kind, v in latencies.items()
            if v
        },
        "counts": {kind: len(v) for kind, v in latencies.items()},
    }


def _quantile(ordered: list[float], q: float) -> float:
    if not ordered:
        return 0.0
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _cloudbill_command() -> list[str]:
    script = Path(sys.executable).with_name("cloudbill")
    serve = ["serve", "--no-worker", "--bss-port", str(free_port())]
    if script.exists():
        return [str(script), *serve]
    return [sys.executable, "-c", "from cloudbill.cli import main; main()", *serve]


def _check_books(url: str) -> str:
    """The books verify after the run (balances equal their entries, every transaction
    balances)."""
    container = open_container(url)
    try:
        books = verify_books(container)
        assert books.ok, books.problems
        return books.describe()
    finally:
        container.db.dispose()


def run(size: str, database_url: str, workdir: Path, *, out=print) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    ops, seconds = OPS[size], SECONDS[size]
    with bench_database(database_url, workdir) as url:
        started = time.perf_counter()
        plans = _setup(url, ops)["plans"]
        setup_s = time.perf_counter() - started
        env = {k: v for k, v in os.environ.items() if not k.startswith("CLOUDBILL_")}
        env.update(CLOUDBILL_DATABASE_URL=url, CLOUDBILL_OPERATOR_TOKEN=TOKEN,
                   CLOUDBILL_LOG_LEVEL="warning")  # fmt: skip
        with Server(_cloudbill_command(), env, workdir, "w8-cloudbill") as server:
            measured = drive(
                server.base, plans, seconds, lambda _n, kind, c, o, ref: _request(kind, c, o, ref)
            )
        books = _check_books(url)
        engine = create_engine(normalize_url(url))
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE w8_floor (id integer PRIMARY KEY, n bigint NOT NULL)"))
            conn.execute(text("INSERT INTO w8_floor SELECT g, 0 FROM generate_series(0, 63) g"))
        engine.dispose()
        floor_env = dict(
            env,
            PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")])),
            W8_FLOOR_URL=url,
        )
        floor_cmd = [sys.executable, "-m", "uvicorn", "bench.w8_money_ops:floor_app",
                     "--log-level", "warning"]  # fmt: skip
        with Server(floor_cmd, floor_env, workdir, "w8-floor") as server:
            fl = drive(
                server.base,
                plans,
                seconds,
                lambda n, _kind, _c, _o, ref: (f"/floor/{n}", {"reference": ref}),
            )
    ratio = fl["per_s"] / measured["per_s"]
    goal = (
        measured["per_s"] >= GOAL_OPS_PER_S
        and measured["p99_ms"] < GOAL_P99_MS
        and ratio <= GOAL_RATIO
    )
    cores = os.cpu_count()
    out(
        f"W8 online money operations [{size}] (PostgreSQL, HTTP, {CLIENTS} clients, "
        f"{cores} cores shared by server, clients and database): {measured['ops']:,} operations "
        f"in {measured['seconds']:.2f} s = {measured['per_s']:,.0f}/s; p50 "
        f"{measured['p50_ms']:.1f} ms, p99 {measured['p99_ms']:.1f} ms; set-up {setup_s:.1f} s"
    )
    for kind, (count, p50, p99) in measured["by_kind"].items():
        out(f"   {kind}: {count:,}, p50 {p50:.1f} ms, p99 {p99:.1f} ms")
    out(f"   books after the run: {books}")
    out(
        f"   floor (same stack, one-UPDATE transaction a request): {fl['ops']:,} in "
        f"{fl['seconds']:.2f} s = {fl['per_s']:,.0f}/s; p50 {fl['p50_ms']:.1f} ms, p99 "
        f"{fl['p99_ms']:.1f} ms; ratio {ratio:.1f}x"
    )
    out(
        f"   goal >= {GOAL_OPS_PER_S:,}/s, p99 < {GOAL_P99_MS:.0f} ms, within "
        f"{GOAL_RATIO:.0f}x: {verdict(goal)}"
    )
    return {**measured, "floor": fl, "ratio": ratio, "goal_met": goal}


# -- the floor's server ---------------------------------------------------------------------------


class FloorBody(BaseModel):
    reference: str


def _floor_app():  # type: ignore[no-untyped-def]
    from fastapi import FastAPI

    url = os.environ.get("W8_FLOOR_URL", "")
    engine = create_engine(
        normalize_url(url),
        pool_pre_ping=True,
        pool_size=10,
        max_overflow=10,
    )
    app = FastAPI()

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/floor/{row}", status_code=201)
    def one_update(row: int, body: FloorBody) -> dict[str, Any]:
        with engine.begin() as conn:
            conn.execute(text("UPDATE w8_floor SET n = n + 1 WHERE id = :id"), {"id": row})
        return {"reference": body.reference}

    return app


floor_app = _floor_app() if os.environ.get("W8_FLOOR_URL") else None
