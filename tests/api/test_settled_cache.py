"""The cache of settled answers: how long an entry lives, and what forgets it."""

from __future__ import annotations

from troupe.api.responses import SettledCache, Tagged

ANSWER = Tagged(b"{}", '"tag"')
KEY = ("video", "owner", "video_1", "http://host")


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def test_an_entry_lives_its_ttl_and_never_past_its_expiry() -> None:
    clock = Clock()
    cache = SettledCache(ttl=1.0, clock=clock)
    cache.put(KEY, ANSWER, expires_at=None)
    clock.now += 0.9
    assert cache.get(KEY) == ANSWER
    clock.now += 0.2
    assert cache.get(KEY) is None
    cache.put(KEY, ANSWER, expires_at=int(clock.now) + 0)
    assert cache.get(KEY) is None  # its files expire now: the database must say `expired`


def test_forget_drops_every_entry_of_an_object() -> None:
    cache = SettledCache(ttl=60.0)
    other = ("video", "owner", "video_2", "http://host")
    cache.put(KEY, ANSWER, None)
    its_task = ("task", "owner", "video_1", "http://other")
    cache.put(its_task, ANSWER, None)
    cache.put(other, ANSWER, None)
    cache.forget("video_1")
    assert (
        cache.get(KEY) is None and cache.get(("task", "owner", "video_1", "http://other")) is None
    )
    assert cache.get(other) == ANSWER
