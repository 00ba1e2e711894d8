"""The NUT port's GET VAR reply cache: kept replies are exact, bounded, and dropped
the moment the store or the data's age says they may no longer be."""

from __future__ import annotations

from nutpy.frontends.nut.replies import ReplyCache
from nutpy.store import Link, Store, UpsState
from tests.support.clocks import Clock

ASK = b"GET VAR u ups.status\n"
REPLY = 'VAR u ups.status "OL"\n'


def _fresh(maxage: float = 15) -> tuple[Clock, Store, UpsState, ReplyCache]:
    clock = Clock()
    store = Store(clock=clock, wall=lambda: 1_800_000_000.0, maxage=maxage)
    ups = store.add("u")
    ups.set("ups.status", "OL")
    ups.mark_fresh(clock.now)
    return clock, store, ups, ReplyCache(store, size=2)


def test_a_kept_reply_is_served_until_the_data_is_older_than_maxage() -> None:
    clock, _, ups, cache = _fresh()
    assert cache.get(ASK) is None
    cache.put(ASK, REPLY, ups)
    assert cache.get(ASK) == REPLY
    clock.now += 15  # exactly MAXAGE old: upsd still serves it (stale only when older)
    assert cache.get(ASK) == REPLY
    clock.now += 0.001
    assert cache.get(ASK) is None
    assert len(cache) == 0  # dropped, not kept for later


def test_after_a_store_event_the_cache_starts_afresh_and_keeps_again() -> None:
    _, _, ups, cache = _fresh()
    cache.put(ASK, REPLY, ups)
    ups.set("ups.status", "OB")  # publishes an event: every kept reply may be wrong
    assert cache.get(ASK) is None
    cache.put(ASK, 'VAR u ups.status "OB"\n', ups)
    assert cache.get(ASK) == 'VAR u ups.status "OB"\n'  # kept again after the clearing
    assert cache.get(ASK) == 'VAR u ups.status "OB"\n'


def test_after_maxage_changes_the_cache_starts_afresh_and_keeps_again() -> None:
    clock, store, ups, cache = _fresh()
    cache.put(ASK, REPLY, ups)
    store.maxage = 5
    assert cache.get(ASK) is None
    cache.put(ASK, REPLY, ups)
    assert cache.get(ASK) == REPLY
    clock.now += 5.5  # the new MAXAGE is the one that counts
    assert cache.get(ASK) is None


def test_only_replies_made_from_fresh_data_are_kept() -> None:
    _, store, ups, cache = _fresh()
    ups.mark_stale()  # the driver runs but lost the UPS: last_update stays set
    assert ups.last_update is not None
    cache.put(ASK, REPLY, ups)
    assert len(cache) == 0
    never = store.add("never")  # a UPS never read
    never.link = Link.FRESH
    cache.put(b"GET VAR never ups.status\n", 'VAR never ups.status "OL"\n', never)
    assert len(cache) == 0


def test_at_most_size_replies_are_kept_and_a_kept_one_may_be_replaced() -> None:
    _, _, ups, cache = _fresh()  # size 2
    cache.put(b"GET VAR u a\n", "VAR u a 1\n", ups)
    cache.put(b"GET VAR u b\n", "VAR u b 2\n", ups)
    cache.put(b"GET VAR u c\n", "VAR u c 3\n", ups)  # full: not kept
    assert len(cache) == 2 and cache.get(b"GET VAR u c\n") is None
    cache.put(b"GET VAR u a\n", "VAR u a 9\n", ups)  # already kept: replaced
    assert cache.get(b"GET VAR u a\n") == "VAR u a 9\n"
    assert cache.get(b"GET VAR u b\n") == "VAR u b 2\n"
    assert len(cache) == 2


def test_by_default_256_distinct_requests_are_kept() -> None:
    _, store, ups, _ = _fresh()
    cache = ReplyCache(store)
    for n in range(257):
        cache.put(f"GET VAR u v{n}\n".encode(), f"VAR u v{n} 1\n", ups)
    assert len(cache) == 256
    assert cache.get(b"GET VAR u v255\n") == "VAR u v255 1\n"
    assert cache.get(b"GET VAR u v256\n") is None
