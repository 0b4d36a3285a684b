"""W4 (JetStream consume) still runs at a tiny size against the real NATS JetStream: its
figures are produced and every published record is stored once. Timings are printed by
`make bench`, never asserted on. Outside CI an absent server skips it, loudly."""

from __future__ import annotations

import pytest

from bench.__main__ import run_w

from ..nats_server import _require_server, in_own_thread
from .test_bench_w_smoke import FIGURES, TINY


def test_w4_runs_at_a_tiny_size_and_stores_every_record() -> None:
    _require_server()  # skips loudly (fails under CI) without a NATS JetStream
    # W4 runs asyncio.run, which fails where the browser tests' Playwright loop runs
    results = in_own_thread(lambda: run_w(TINY, ["W4"]))
    w4 = results["W4"]
    for key in (*FIGURES, "peak_memory_bytes"):
        assert key in w4, key
    assert w4["size"] == "tiny" and isinstance(w4["goal_met"], bool)
    assert w4["records"] == TINY.w2_records - TINY.w2_records % 100
    assert w4["seconds"] > 0 and w4["floor_seconds"] > 0


def test_w4_is_on_the_benchmark_list() -> None:
    from bench.__main__ import parse_args

    assert parse_args(["--only", "W4"]).only == ["W4"]
    with pytest.raises(SystemExit):
        parse_args(["--only", "W5"])
