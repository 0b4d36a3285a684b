"""`make bench` / `python -m bench`: run the benchmarks and print their figures.

    python -m bench [--size quick|medium|full] [--only W1,W2,W3,W4,W8,W9,B0]
                    [--database-url URL] [--profile] [--seed N] [--w9-records N]
                    [--w1-workers 1,2]

Each benchmark prints its size, seconds, records/s, the floor measured in the same run, the
ratio, and whether the issue's goal is met. W1-W4 share one database built from a seeded
data set (bench/dataset.py): a fresh SQLite file in a temporary directory, or with a
PostgreSQL URL a fresh database created on that server and dropped at the end. W4 consumes
from the NATS JetStream at 127.0.0.1:4222 (CLOUDBILL_BENCH_NATS_URL), in a stream of its own.
W9 (bill storage) pushes a month of fee records to moto's S3 server on loopback, in a SQLite
file of its own. W8 (online money operations over HTTP) needs PostgreSQL: it runs in a fresh
database of its own on the server of --database-url, and is skipped (saying so) without one.
--w1-workers 1,2 runs W1 once per count, each in a fresh database, settled by that many worker
processes and shards.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from . import (
    dataset,
    ledger_postings,
    w1_settlement,
    w2_parquet_ingest,
    w3_http_ingest,
    w4_jetstream_consume,
    w8_money_ops,
    w9_bill_storage,
)
from .machine import describe

BENCHMARKS = ("W1", "W2", "W3", "W4", "W8", "W9", "B0")
# W9's month of fee records per size: the issue's 1M-record month at full size.
W9_RECORDS = {"quick": 5_000, "medium": 100_000, "full": 1_000_000}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description="cloudbill benchmarks")
    parser.add_argument(
        "--size",
        choices=sorted(dataset.SIZES),
        default="full",
        help="full: the issue's sizes (10M records); medium: 1/10; quick: "
        "1/1000, well under a minute",
    )
    parser.add_argument("--quick", action="store_true", help="the same as --size quick")
    parser.add_argument(
        "--only",
        default=",".join(BENCHMARKS),
        help="comma-separated subset of W1,W2,W3,W4,W8,W9,B0 (default: all)",
    )
    parser.add_argument(
        "--w1-workers",
        default=None,
        help="PostgreSQL: run W1 once per comma-separated count (e.g. 1,2), each in a fresh "
        "database, settled by that many worker processes with as many shards",
    )
    parser.add_argument(
        "--w9-records",
        type=int,
        default=None,
        help="W9's month of fee records (default by size: " + str(W9_RECORDS) + ")",
    )
    parser.add_argument(
        "--database-url",
        default=None,
        help="default: a fresh SQLite file in a temporary directory; a "
        "postgresql:// URL runs W1-W3 in a fresh database on that server",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="run W1's settlement (and W2's ingestion) under cProfile and print "
        "the top entries; their timings are then inflated",
    )
    parser.add_argument("--seed", type=int, default=dataset.SEED)
    args = parser.parse_args(argv)
    if args.quick:
        args.size = "quick"
    try:
        args.w1_workers = [int(n) for n in (args.w1_workers or "").split(",") if n.strip()]
    except ValueError:
        parser.error("--w1-workers takes comma-separated worker counts, e.g. 1,2")
    if any(n < 1 or n > 64 for n in args.w1_workers):
        parser.error("--w1-workers: counts from 1 to 64")
    chosen = [name.strip().upper() for name in args.only.split(",") if name.strip()]
    unknown = set(chosen) - set(BENCHMARKS)
    if unknown or not chosen:
        parser.error(f"--only takes a comma-separated subset of {','.join(BENCHMARKS)}")
    args.only = chosen
    return args


def main(argv: list[str] | None = None) -> dict[str, dict]:
    args = parse_args(argv)
    size = dataset.SIZES[args.size]
    print(f"machine: {describe()}")
    results: dict[str, dict] = {}
    wanted = [name for name in ("W1", "W2", "W3", "W4") if name in args.only]
    postgres = bool(args.database_url) and args.database_url.startswith("postgresql")
    if args.w1_workers and "W1" in wanted:
        if not postgres:
            raise SystemExit("--w1-workers needs --database-url postgresql://...")
        wanted.remove("W1")
        for n in args.w1_workers:
            results[f"W1x{n}"] = run_w(
                size, ["W1"], database_url=args.database_url, seed=args.seed, workers=n
            )["W1"]
    if wanted:
        results.update(
            run_w(
                size, wanted, database_url=args.database_url, profile=args.profile, seed=args.seed
            )
        )
    if "W8" in args.only:
        if postgres:
            with tempfile.TemporaryDirectory(prefix="cloudbill-bench-") as tmp:
                results["W8"] = w8_money_ops.run(args.size, args.database_url, Path(tmp))
        else:
            print("W8 skipped: online money operations are measured on PostgreSQL "
                  "(--database-url postgresql://...)")  # fmt: skip
    if "W9" in args.only:
        records = args.w9_records or W9_RECORDS.get(args.size, W9_RECORDS["full"])
        with w9_bill_storage.moto_server() as endpoint:
            results["W9"] = w9_bill_storage.run(records, endpoint)
    if "B0" in args.only:
        b0 = ledger_postings.run(size.b0_movements)
        results["B0"] = b0
        print(
            f"B0 ledger top-ups (one transaction each, SQLite): {b0['movements']} in "
            f"{b0['seconds']:.2f} s = {b0['per_second']:,.0f}/s; floor (bulk insert of the same "
            f"rows) {b0['floor_seconds'] * 1000:.1f} ms; ratio {b0['ratio']:.0f}x"
        )
    return results


def run_w(
    size: dataset.Size,
    wanted: list[str],
    *,
    database_url: str | None = None,
    profile: bool = False,
    seed: int = dataset.SEED,
    workers: int | None = None,
) -> dict[str, dict]:
    """Build the data set's base once, then run the wanted W benchmarks on it, in order."""
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="cloudbill-bench-") as tmp:
        workdir = Path(tmp)
        with dataset.bench_database(database_url, workdir) as url:
            container = dataset.open_container(url)
            try:
                kind = "PostgreSQL" if container.db.dialect == "postgresql" else "SQLite"
                print(f"data set: size {size.name}, seed {seed}, database {kind}")
                ds = dataset.DataSet(size, seed)
                started = time.perf_counter()
                base = dataset.prepare_base(container, ds)
                books = dataset.verify_books(container) if size.name != "full" else None
                print(
                    f"set-up (not measured): {base.customers:,} customers with their books, "
                    f"{base.topups:,} top-ups, {base.packages:,} packages, {base.coupons:,} "
                    f"coupons, {base.resources:,} resources in "
                    f"{time.perf_counter() - started:.1f} s"
                    + (f"; books verify: {books.describe()}" if books else "")
                )
                if books is not None:
                    assert books.ok, books.problems
                if "W1" in wanted:
                    results["W1"] = w1_settlement.run(
                        container, ds, workdir, profile=profile, workers=workers
                    )
                if "W2" in wanted:
                    results["W2"] = w2_parquet_ingest.run(container, ds, workdir, profile=profile)
                if "W3" in wanted:
                    results["W3"] = w3_http_ingest.run(container, ds, workdir)
                if "W4" in wanted:
                    try:
                        results["W4"] = w4_jetstream_consume.run(container, ds, workdir)
                    except w4_jetstream_consume.NoServer as exc:
                        print(f"W4 JetStream consume NOT RUN: {exc}")
            finally:
                container.db.dispose()
    return results


if __name__ == "__main__":
    main()
