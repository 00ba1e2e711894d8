"""The running event log on a live store: entries in order, and recovery after a feed loss."""

from __future__ import annotations

import trio
import trio.testing

from nutpy.history.chronicle import Kind
from nutpy.history.recorder import Recorder
from nutpy.store import Store


async def test_entries_follow_the_store_and_wake_readers() -> None:
    store = Store(wall=lambda: 50.0)
    ups = store.add("u")
    recorder = Recorder(store)
    async with trio.open_nursery() as nursery:
        await nursery.start(recorder.run)
        ups.set("ups.status", "OL")
        seen = recorder.last_number()
        ups.set("ups.status", "OB")
        with trio.fail_after(1):
            await recorder.wait_beyond(seen)
        ups.set("ups.status", "OL")
        nursery.cancel_scope.cancel()
    assert [e.kind for _, e in recorder.recent()] == [
        Kind.SERVER_START, Kind.POWER_FAILURE, Kind.POWER_RESTORED, Kind.SERVER_STOP]
    assert [n for n, _ in recorder.recent()] == [1, 2, 3, 4]
    assert [e.kind for _, e in recorder.recent("U", after=1, limit=1)] == [Kind.SERVER_STOP]
    assert recorder.power("u").transfers == 1


async def test_a_missed_power_failure_is_found_after_a_resync(
        autojump_clock: trio.testing.MockClock) -> None:
    store = Store()
    ups = store.add("u")
    ups.set("ups.status", "OL")
    recorder = Recorder(store)
    async with trio.open_nursery() as nursery:
        await nursery.start(recorder.run)
        for i in range(5000):  # more than its queue holds, before it runs again
            ups.set("battery.charge", str(i))
        ups.set("ups.status", "OB")
        await trio.testing.wait_all_tasks_blocked()
        nursery.cancel_scope.cancel()
    assert Kind.POWER_FAILURE in [e.kind for _, e in recorder.recent()]
