"""The cycle collector's pause for bulk work (kernel/collection.py): counted across nested
and concurrent jobs, restored after errors, and never switched on when it was off before."""

from __future__ import annotations

import gc
import threading
import weakref

import pytest

from cloudbill.kernel.collection import freeze_start_up, paused_collection


@pytest.fixture(autouse=True)
def _collector_restored():
    was = gc.isenabled()
    yield
    (gc.enable if was else gc.disable)()


def test_paused_inside_and_enabled_after() -> None:
    gc.enable()
    with paused_collection():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_nested_pauses_end_with_the_outermost() -> None:
    gc.enable()
    with paused_collection():
        with paused_collection():
            assert not gc.isenabled()
        assert not gc.isenabled(), "the inner pause ending must not end the outer one"
    assert gc.isenabled()


def test_an_error_inside_still_ends_the_pause() -> None:
    gc.enable()

    @paused_collection()
    def fails() -> None:
        assert not gc.isenabled()
        raise ValueError("bad data")

    with pytest.raises(ValueError, match="bad data"):
        fails()
    assert gc.isenabled()


def test_a_collector_switched_off_before_stays_off() -> None:
    gc.disable()
    with paused_collection():
        pass
    assert not gc.isenabled()


def test_overlapping_jobs_in_threads_enable_it_when_the_last_ends() -> None:
    gc.enable()
    first_in, second_in, first_out = threading.Event(), threading.Event(), threading.Event()
    seen: list[bool] = []

    def first() -> None:
        with paused_collection():
            first_in.set()
            second_in.wait(5)
        first_out.set()

    def second() -> None:
        first_in.wait(5)
        with paused_collection():
            second_in.set()
            first_out.wait(5)
            seen.append(gc.isenabled())  # the first job ended: still paused for this one

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert seen == [False]
    assert gc.isenabled()


def test_cycles_left_by_the_work_are_freed_afterwards() -> None:
    gc.enable()

    class Node:
        me: object = None

    with paused_collection():
        node = Node()
        node.me = node
        gone = weakref.ref(node)
        del node
        assert gone() is not None, "a cycle outlives the pause's work"
    gc.collect()
    assert gone() is None


def test_start_up_objects_are_left_out_of_later_collections() -> None:
    built_at_start_up = [object() for _ in range(10)]
    try:
        freeze_start_up()
        assert gc.get_freeze_count() >= len(built_at_start_up)
        assert not any(o is built_at_start_up for o in gc.get_objects())
    finally:
        gc.unfreeze()
    assert any(o is built_at_start_up for o in gc.get_objects())
