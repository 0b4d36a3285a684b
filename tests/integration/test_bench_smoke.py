"""The benchmark scripts still run (figures are printed by `make bench`, never asserted on)."""

from __future__ import annotations

from bench import ledger_postings


def test_ledger_benchmark_runs_and_reports_its_floor() -> None:
    result = ledger_postings.run(5, customer_count=2)
    assert result["movements"] == 5
    assert result["seconds"] > 0 and result["floor_seconds"] > 0
    assert result["ratio"] == result["seconds"] / result["floor_seconds"]
