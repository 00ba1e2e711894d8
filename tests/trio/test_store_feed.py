"""The store's change feed: real changes only, typed, and never held up by a reader."""

from __future__ import annotations

import pytest
import trio
import trio.testing

from nutpy.store import (
    Availability,
    AvailabilityChanged,
    CapabilitiesChanged,
    ClientsChanged,
    CommandFinished,
    FsdSet,
    InstCmd,
    Link,
    Request,
    RequestRefused,
    Result,
    Resync,
    StatusChanged,
    Store,
    UpsAdded,
    UpsRemoved,
    VariableChanged,
)
from tests.support.aio import watching_ages


def _store(now: float = 0.0) -> Store:
    return Store(clock=lambda: now, wall=lambda: 1000.0, maxage=15)


def test_a_write_that_changes_nothing_publishes_nothing() -> None:
    store = _store()
    ups = store.add("u")
    ups.set("ups.status", "OL")
    ups.set("battery.charge", "100", writable=True)
    ups.add_command("load.off")
    ups.mark_fresh(0.0)
    before = store.feed.published
    with store.feed.subscribe() as changes:
        for _ in range(100):  # what a driver does every poll
            ups.set("ups.status", "OL")
            ups.set("battery.charge", "100", writable=True)
            ups.set("ups.status", "ol")  # case only: upsd ignores it too
            ups.add_command("load.off")
            ups.mark_fresh(1.0)
        assert changes.receive_nowait() is None
    assert store.feed.published == before


async def test_a_no_op_write_wakes_nobody() -> None:
    store = _store()
    ups = store.add("u")
    ups.set("ups.status", "OL")
    woken: list[object] = []

    async def subscriber() -> None:
        with store.feed.subscribe() as changes:
            woken.append(await changes.receive())

    async with trio.open_nursery() as nursery:
        nursery.start_soon(subscriber)
        await trio.testing.wait_all_tasks_blocked()
        ups.set("ups.status", "OL")
        await trio.testing.wait_all_tasks_blocked()
        assert woken == []  # still parked
        ups.set("ups.status", "OB")
    assert woken == [VariableChanged("u", 1000.0, "ups.status", "OL", "OB")]


def test_each_kind_of_change_is_its_own_event() -> None:
    store = _store()
    with store.feed.subscribe() as changes:
        ups = store.add("u")
        ups.set("ups.status", "OL")
        ups.set("ups.status", "OB LB")
        ups.set("input.voltage", "230", writable=True)
        ups.set_enums("input.voltage", ["230", "240"])
        ups.set_ranges("input.voltage", [(200, 250)])
        ups.delete("input.voltage")
        ups.set_fsd()
        ups.set_fsd()  # latched already: nothing
        ups.login(1, "127.0.0.1")
        ups.logout(1)
        ups.logout(1)  # not logged in: nothing
        ups.mark_fresh(0.0)
        store.remove("u")
        events = []
        while (event := changes.receive_nowait()) is not None:
            events.append(event)
    at = 1000.0
    assert events == [
        UpsAdded("u", at),
        VariableChanged("u", at, "ups.status", None, "OL"),
        StatusChanged("u", at, (), ("OL",)),
        VariableChanged("u", at, "ups.status", "OL", "OB LB"),
        StatusChanged("u", at, ("OL",), ("OB", "LB")),
        VariableChanged("u", at, "input.voltage", None, "230"),
        CapabilitiesChanged("u", at),  # writable
        CapabilitiesChanged("u", at),  # enums
        CapabilitiesChanged("u", at),  # ranges
        VariableChanged("u", at, "input.voltage", "230", None),
        FsdSet("u", at),
        StatusChanged("u", at, ("OB", "LB"), ("FSD", "OB", "LB")),
        ClientsChanged("u", at, 1),
        ClientsChanged("u", at, 0),
        AvailabilityChanged("u", at, Availability.DRIVER_NOT_CONNECTED, Availability.OK),
        UpsRemoved("u", at),
    ]


def test_availability_is_one_state_with_the_data_age() -> None:
    now = [100.0]
    store = Store(clock=lambda: now[0], maxage=15)
    ups = store.add("u")
    assert ups.availability() is Availability.DRIVER_NOT_CONNECTED and ups.age() is None
    ups.mark_stale()  # the driver runs but has not read the UPS
    assert ups.link is Link.STALE and ups.availability() is Availability.DATA_STALE
    ups.mark_fresh(100.0)
    now[0] = 115.0
    assert ups.availability() is Availability.OK and ups.age() == 15.0  # MAXAGE old: fresh
    now[0] = 115.5
    assert ups.availability() is Availability.DATA_STALE
    ups.disconnect()
    assert ups.availability() is Availability.DRIVER_NOT_CONNECTED


async def test_data_that_ages_out_is_published_stale_once(
        autojump_clock: trio.testing.MockClock) -> None:
    store = Store(maxage=15)
    ups = store.add("u")
    async with watching_ages(store) as seen:
        for _ in range(10):  # a driver polling every 2 s: fresh, and nobody wakes
            ups.mark_fresh(trio.current_time())
            await trio.sleep(2)
        await trio.sleep(30)  # then silence
    assert [(round(t, 2), state) for t, state in seen] == [
        (0.0, Availability.OK), (33.0, Availability.DATA_STALE)]


async def test_a_subscriber_that_never_reads_slows_nobody_and_is_told_to_resync() -> None:
    store = _store()
    ups = store.add("u")
    stuck = store.feed.subscribe(maxlen=8)
    with store.feed.subscribe(maxlen=10_000) as reader:
        for i in range(5_000):
            ups.set("battery.charge", str(i))
        got = [reader.receive_nowait() for _ in range(5_000)]
    assert all(isinstance(event, VariableChanged) for event in got)
    assert len(stuck._queue) == 0  # bounded: what it could not take was dropped
    assert stuck.receive_nowait() == Resync(5_000)
    assert stuck.receive_nowait() is None and stuck.resyncs == 1
    ups.set("battery.charge", "7")  # after the resync it gets events again
    assert isinstance(stuck.receive_nowait(), VariableChanged)
    stuck.close()
    assert len(store.feed) == 0


async def test_command_results_are_published_before_the_sender_hears() -> None:
    store = _store()
    ups = store.add("u")
    send, receive = trio.open_memory_channel[Request](4)
    ups.attach(send)
    ups.mark_fresh(0.0)
    order: list[str] = []

    def sender_hears(result: Result) -> None:
        order.append(f"sender {result.name}")

    command = InstCmd("load.off", None, sender_hears)
    with store.feed.subscribe(want=lambda e: isinstance(e, CommandFinished)) as feed:
        assert ups.submit(command)
        request = receive.receive_nowait()
        assert request.on_result is not None
        request.on_result(Result.FAILED)
        event = feed.receive_nowait()
    # The UPS, the wall time, and the request as its sender made it.
    assert event == CommandFinished("u", 1000.0, command, Result.FAILED)
    assert order == ["sender FAILED"]


async def test_submit_fails_when_the_driver_cannot_take_it() -> None:
    store = _store()
    ups = store.add("u")
    assert not ups.submit(InstCmd("load.off", None))  # no driver
    send, receive = trio.open_memory_channel[Request](1)
    ups.attach(send)
    assert ups.submit(InstCmd("load.off", None))  # the driver says FAILED if it cannot
    assert not ups.submit(InstCmd("load.off", None))  # queue full
    receive.close()
    assert not ups.submit(InstCmd("load.off", None))  # its channel closed
    send, receive = trio.open_memory_channel[Request](1)
    ups.attach(send)
    ups.disconnect()
    assert not ups.submit(InstCmd("load.off", None))  # the driver is gone


async def test_execute_waits_for_the_result(autojump_clock: trio.testing.MockClock) -> None:
    store = Store(maxage=15)
    ups = store.add("u")
    send, receive = trio.open_memory_channel[Request](4)
    ups.attach(send)
    ups.mark_fresh(0.0)

    async def driver() -> None:
        request = await receive.receive()
        await trio.sleep(3)
        assert request.on_result is not None
        request.on_result(Result.SUCCESS)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(driver)
        assert await ups.execute(InstCmd("test.battery.start", None), 10) is Result.SUCCESS
        assert trio.current_time() == 3
        assert await ups.execute(InstCmd("test.battery.start", None), 10) is None  # unanswered
        assert trio.current_time() == 13
    ups.disconnect()
    with pytest.raises(RequestRefused, match="not running"):
        await ups.execute(InstCmd("test.battery.start", None), 10)



def test_a_queue_holds_exactly_its_length_and_counts_each_fall_behind() -> None:
    store = _store()
    ups = store.add("u")
    with store.feed.subscribe(maxlen=3, want=lambda e: isinstance(e, VariableChanged)) as sub:
        for value in "123":
            ups.set("battery.charge", value)
        got = [sub.receive_nowait() for _ in range(4)]
        assert [e.new if isinstance(e, VariableChanged) else e for e in got] == [
            "1", "2", "3", None]  # three fit in a queue of three
        assert sub.resyncs == 0
        for value in "4567":
            ups.set("battery.charge", value)
        assert sub.receive_nowait() == Resync(4) and sub.receive_nowait() is None
        for value in "abcdef":
            ups.set("battery.charge", value)
        assert sub.receive_nowait() == Resync(6)
        assert sub.resyncs == 2
        ups.set("ups.status", "OL")
        assert isinstance(sub.receive_nowait(), VariableChanged)
    assert len(store.feed) == 0
    sub.close()  # a second unsubscribe is harmless
