"""gc_paused: collection off inside, restored after (even on error), never switched on
when it was off before."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from shared.gcpause import gc_paused


@pytest.fixture(autouse=True)
def _restore_gc() -> Iterator[None]:
    was = gc.isenabled()
    yield
    if was:
        gc.enable()
    else:
        gc.disable()


def test_off_inside_and_back_on_after_even_on_error() -> None:
    gc.enable()
    with pytest.raises(RuntimeError), gc_paused():
        assert not gc.isenabled()
        raise RuntimeError("boom")
    assert gc.isenabled()


def test_nested_pauses_resume_once_the_outer_one_ends() -> None:
    gc.enable()
    with gc_paused():
        with gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()


def test_collection_that_was_off_stays_off() -> None:
    gc.disable()
    with gc_paused():
        pass
    assert not gc.isenabled()


def test_works_as_a_decorator() -> None:
    gc.enable()

    @gc_paused()
    def inside() -> bool:
        return gc.isenabled()

    assert inside() is False and gc.isenabled()


def test_pauses_overlapping_in_two_threads_keep_collection_off_until_both_end() -> None:
    """A kiosk decodes the next page in one thread while it applies this one in
    another: the decode ending first must not switch collection on under the apply."""
    import threading

    gc.enable()
    first_in, first_out, seen = threading.Event(), threading.Event(), []

    def first() -> None:
        with gc_paused():
            first_in.set()
            first_out.wait(5)

    t = threading.Thread(target=first)
    t.start()
    first_in.wait(5)
    with gc_paused():  # begins while the other is under way (collection already off)
        first_out.set()
        t.join(5)  # the other one ends first
        seen.append(gc.isenabled())
    assert seen == [False]
    assert gc.isenabled()
