"""Work made ahead of its consumer in a thread: in order, at most `depth` ahead, its errors
raised where they happened, and stopped once the consumer goes."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from troupe.render.ahead import ahead


def counted(made: list[int], count: int, fail_at: int | None = None) -> Iterator[int]:
    for i in range(count):
        if i == fail_at:
            raise ValueError(f"item {i} could not be made")
        made.append(i)
        yield i


def settle(made: list[int]) -> int:
    """How many items were made once the producer stops making more."""
    seen = -1
    while seen != len(made):
        seen = len(made)
        time.sleep(0.05)
    return seen


def test_items_come_in_order_made_at_most_depth_ahead() -> None:
    made: list[int] = []
    items = ahead(counted(made, 50), depth=3)
    assert next(items) == 0
    # one handed over, three waiting, one made and waiting for room
    assert settle(made) <= 1 + 3 + 1
    assert [0, *items] == list(range(50))


def test_an_error_in_the_thread_is_raised_where_it_happened() -> None:
    made: list[int] = []
    received = []
    with pytest.raises(ValueError, match="item 5 could not be made"):
        for item in ahead(counted(made, 10, fail_at=5), depth=2):
            received.append(item)
    assert received == [0, 1, 2, 3, 4]


def test_a_consumer_that_stops_early_stops_the_thread() -> None:
    made: list[int] = []
    items = ahead(counted(made, 10_000), depth=2, name="test-ahead")
    assert next(items) == 0
    items.close()
    assert not [t for t in threading.enumerate() if t.name == "test-ahead"]
    assert settle(made) < 10
