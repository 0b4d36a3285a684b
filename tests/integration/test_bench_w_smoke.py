"""The W benchmarks still run at a tiny size: figures are produced and the books verify.
Timings are printed by `make bench`, never asserted on."""

from __future__ import annotations

import pytest

from bench import dataset
from bench.__main__ import run_w

TINY = dataset.Size(
    "tiny",
    customers=20,
    resources=100,
    records=1_000,
    w2_records=500,
    w3_records=300,
    w3_seconds=30.0,
    b0_movements=5,
)
FIGURES = ("size", "records", "seconds", "records_per_s", "floor_seconds", "ratio", "goal_met")


def test_w1_to_w3_run_at_a_tiny_size_and_the_books_verify() -> None:
    # The floors need DuckDB, which the `bench` extra brings (`make bench` installs it).
    pytest.importorskip("duckdb", reason="install the bench extra: pip install -e '.[bench]'")
    results = run_w(TINY, ["W1", "W2", "W3"])
    assert set(results) == {"W1", "W2", "W3"}
    for name, figures in results.items():
        for key in FIGURES:
            assert key in figures, (name, key)
        assert figures["size"] == "tiny"
        assert figures["seconds"] > 0 and figures["floor_seconds"] > 0, name
        assert isinstance(figures["goal_met"], bool)
    w1 = results["W1"]
    assert w1["books_ok"]
    assert w1["peak_rss_bytes"] > 0 and w1["cpu_seconds"] > 0
    assert w1["records"] == TINY.records and w1["fees"] == TINY.resources
    assert w1["new_arrears"] > 0  # some customers ran out of money during the hour
    w2 = results["W2"]
    assert w2["accepted"] + w2["duplicates"] == TINY.w2_records and w2["duplicates"] > 0
    assert results["W3"]["records"] == TINY.w3_records


def test_the_data_set_is_seeded() -> None:
    size = dataset.Size("tiny", 20, 100, 1_000, 500, 300, 30.0, 5)
    one, two = dataset.DataSet(size), dataset.DataSet(size)
    assert one.customer_ids == two.customer_ids
    assert one.record(7, 3, dataset.HOUR) == two.record(7, 3, dataset.HOUR)
    assert dataset.DataSet(size, seed=1).customer_ids != one.customer_ids
