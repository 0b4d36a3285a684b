"""Step three's sums are exact: an hour's fees past int64 are seen, never wrapped."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from cloudbill.settle.paying import exact_sum

INT64_MAX = 2**63 - 1


@given(st.lists(st.integers(0, INT64_MAX), max_size=20))
def test_exact_sum_of_int64_fees(fees: list[int]) -> None:
    assert exact_sum(np.asarray(fees, dtype=np.int64).reshape(-1)) == sum(fees)


def test_a_sum_past_int64_is_not_wrapped() -> None:
    fees = np.array([INT64_MAX, INT64_MAX, 5], dtype=np.int64)
    assert exact_sum(fees) == 2 * INT64_MAX + 5
    assert exact_sum(np.array([2**70, 1], dtype=object)) == 2**70 + 1
    assert exact_sum(np.zeros(0, dtype=np.int64)) == 0
