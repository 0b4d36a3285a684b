"""W8 (online money operations over HTTP on PostgreSQL) still runs at a tiny size: the server
answers every operation, the figures and the floor are produced, and the books verify.
Timings are printed by `make bench`, never asserted on."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import w8_money_ops

from ..conftest import IN_CI, PG_SKIP_REASON, PG_URL


def test_w8_runs_at_a_tiny_size_and_the_books_verify(tmp_path: Path) -> None:
    if not PG_URL:
        if IN_CI:
            pytest.fail("CI=true but CLOUDBILL_TEST_POSTGRES_URL is not set")
        pytest.skip(PG_SKIP_REASON)
    lines: list[str] = []
    figures = w8_money_ops.run("tiny", PG_URL, tmp_path, out=lines.append)
    assert figures["ops"] == w8_money_ops.OPS["tiny"], lines  # every operation answered
    assert figures["per_s"] > 0 and figures["p99_ms"] >= figures["p50_ms"] > 0
    assert figures["floor"]["ops"] > 0 and figures["ratio"] > 0
    assert isinstance(figures["goal_met"], bool)
    assert set(figures["by_kind"]) == set(w8_money_ops.KINDS)
    assert any("books after the run: ok" in line for line in lines), lines
