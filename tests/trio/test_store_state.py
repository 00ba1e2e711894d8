"""The store's rules on the failure and edge paths: waiting for data, a busy or
gone driver, MAXAGE changed at run time, a discovery that drops what the new
unit lacks, and the exact events each write publishes."""

from __future__ import annotations

import pytest
import trio
import trio.testing

from nutpy.store import (
    Availability,
    AvailabilityChanged,
    CapabilitiesChanged,
    ClientsChanged,
    Event,
    InstCmd,
    Link,
    Refusal,
    Request,
    RequestRefused,
    Result,
    StatusChanged,
    Store,
    UpsAdded,
    UpsRemoved,
    VariableChanged,
)
from nutpy.store.feed import Subscription
from tests.support.aio import watching_ages

AT = 1000.0


def _store(now: float = 0.0) -> Store:
    return Store(clock=lambda: now, wall=lambda: AT, maxage=15)


def _drain(changes: Subscription) -> list[Event]:
    events = []
    while (event := changes.receive_nowait()) is not None:
        events.append(event)
    return events


def test_flags_lengths_enums_and_ranges_publish_only_when_they_change() -> None:
    store = _store()
    ups = store.add("u")
    ups.set("ups.id", "a", writable=True)
    with store.feed.subscribe() as changes:
        ups.set("ups.id", "a", writable=True)  # the same flag: nothing
        ups.set("ups.id", "a", string=True)
        ups.set("ups.id", "a", aux=8)
        ups.set("ups.id", "a", writable=True, string=True, aux=8)  # nothing new
        ups.set("ups.id", "a")  # flags not given are kept
        ups.set_enums("ups.id", ["a", "b"])
        ups.set_enums("ups.id", iter(["a", "b"]))  # the same values
        ups.set_ranges("ups.id", [(1, 2)])
        ups.set_ranges("ups.id", [(1, 2)])
        ups.add_command("load.off")
        ups.remove_command("LOAD.OFF")
        ups.remove_command("load.off")  # gone already
        assert _drain(changes) == [CapabilitiesChanged("u", AT)] * 6
    var = ups.get("UPS.ID")
    assert var is not None
    assert (var.writable, var.string, var.aux, var.enums, var.ranges) == (
        True, True, 8, ["a", "b"], [(1, 2)])
    assert ups.commands == {}


def test_published_counts_every_event() -> None:
    store = _store()
    ups = store.add("u")  # 1
    ups.set("a", "1")  # 2
    ups.set("a", "2")  # 3
    ups.set("a", "2")  # nothing
    ups.login(1, "x")  # 4
    assert store.feed.published == 4


def test_a_driver_that_goes_stale_then_away_says_so_once_each() -> None:
    store = _store()
    ups = store.add("u")
    ups.set("ups.status", "OL")
    ups.add_command("load.off")
    ups.mark_fresh(0.0)
    with store.feed.subscribe() as changes:
        ups.mark_fresh(0.0)  # still fresh: nothing
        ups.mark_stale()
        ups.mark_stale()
        ups.mark_fresh(1.0)
        ups.disconnect()
        ups.disconnect()  # nothing left to remove
        events = _drain(changes)
    ok, stale, down = Availability.OK, Availability.DATA_STALE, Availability.DRIVER_NOT_CONNECTED
    assert [e for e in events if isinstance(e, AvailabilityChanged)] == [
        AvailabilityChanged("u", AT, ok, stale), AvailabilityChanged("u", AT, stale, ok),
        AvailabilityChanged("u", AT, ok, down)]
    assert VariableChanged("u", AT, "ups.status", "OL", None) in events
    assert events.count(CapabilitiesChanged("u", AT)) == 1  # the commands went
    assert (ups.link, ups.last_update, ups.age()) == (Link.DOWN, None, None)


def test_ages_and_availability_at_a_given_moment() -> None:
    store = _store(now=50.0)
    ups = store.add("u")
    ups.mark_fresh(40.0)
    assert ups.age() == 10.0 and ups.age(now=45.0) == 5.0
    assert ups.availability(now=55.0) is Availability.OK  # exactly MAXAGE old
    assert ups.availability(now=55.01) is Availability.DATA_STALE
    assert ups.availability() is Availability.OK


def test_a_discovery_leaves_nothing_of_the_unit_before() -> None:
    store = _store()
    ups = store.add("u")
    ups.set("driver.name", "apcsmart")
    ups.set("device.type", "ups")
    ups.set("ups.id", "old", writable=True, string=True, aux=8)
    ups.set("input.sensitivity", "H", writable=True)
    ups.set_enums("input.sensitivity", ["H", "L"])
    ups.set("battery.charge", "100")
    ups.set("ups.delay.shutdown", "20")
    ups.set_ranges("ups.delay.shutdown", [(0, 600)])
    ups.add_command("load.off")
    ups.add_command("test.battery.start")
    ups.mark_fresh(0.0)
    ups.begin_discovery()
    ups.set("ups.id", "new", writable=True, string=True, aux=8)  # described again
    ups.set("input.sensitivity", "M")  # published, but no longer described
    ups.set("ups.delay.shutdown", "20")
    ups.add_command("load.off")
    with store.feed.subscribe() as changes:
        ups.mark_fresh(1.0)  # the end of the discovery
        events = _drain(changes)
    assert sorted(ups.variables) == ["device.type", "driver.name", "input.sensitivity",
                                     "ups.delay.shutdown", "ups.id"]
    sensitivity, delay, ident = (ups.get(n) for n in ("input.sensitivity",
                                                      "ups.delay.shutdown", "ups.id"))
    assert sensitivity is not None and delay is not None and ident is not None
    assert (sensitivity.writable, sensitivity.enums) == (False, [])
    assert (delay.writable, delay.ranges) == (False, [])
    assert (ident.writable, ident.string, ident.aux) == (True, True, 8)
    assert list(ups.commands.values()) == ["load.off"]
    assert VariableChanged("u", AT, "battery.charge", "100", None) in events
    assert events.count(CapabilitiesChanged("u", AT)) == 3  # two variables, one command
    ups.mark_fresh(2.0)  # no discovery under way: nothing is dropped
    assert len(ups.variables) == 5


def test_the_store_keeps_ups_conf_order_and_finds_names_in_any_case() -> None:
    store = _store()
    with store.feed.subscribe() as changes:
        first, second = store.add("Zed", "last in name"), store.add("alpha")
        store.remove("nosuch")
        assert [u.name for u in store] == ["Zed", "alpha"]
        assert store.get("ZED") is first and store.get("Alpha") is second
        store.remove("zed")
        assert _drain(changes) == [UpsAdded("Zed", AT), UpsAdded("alpha", AT),
                                   UpsRemoved("Zed", AT)]
    assert store.get("zed") is None and first.desc == "last in name"


def test_fsd_shows_in_the_status_only() -> None:
    store = _store()
    ups = store.add("u")
    ups.set("ups.status", "OB LB")
    ups.set("ups.load", "10")
    ups.set_fsd()
    status, load = ups.get("ups.status"), ups.get("ups.load")
    assert status is not None and load is not None
    assert (ups.shown(status), ups.shown(load)) == ("FSD OB LB", "10")
    assert ups.flags() == ("FSD", "OB", "LB")
    assert store.add("v").flags() == ()


async def test_execute_tells_a_busy_driver_from_none(
        autojump_clock: trio.testing.MockClock) -> None:
    store = Store(maxage=15)
    ups = store.add("u")
    with pytest.raises(RequestRefused, match=r"^the driver is not running$"):
        await ups.execute(InstCmd("load.off", None), 1)
    send, receive = trio.open_memory_channel[Request](1)
    ups.attach(send)
    assert ups.submit(InstCmd("load.on", None))
    with pytest.raises(RequestRefused, match=r"^the driver is busy$"):
        await ups.execute(InstCmd("load.off", None), 1)
    heard: list[Result] = []
    request = receive.receive_nowait()
    assert request.on_result is not None
    request.on_result(Result.INVALID)  # the sender's callback hears, after the feed
    async with trio.open_nursery() as nursery:

        async def answer() -> None:
            sent = await receive.receive()
            assert sent.on_result is not None
            sent.on_result(Result.SUCCESS)
            sent.on_result(Result.FAILED)  # a second answer changes nothing

        nursery.start_soon(answer)
        result = await ups.execute(InstCmd("load.off", None, heard.append), 5)
    assert result is Result.SUCCESS and heard == [Result.SUCCESS, Result.FAILED]


async def test_wait_available_returns_when_the_data_is_fresh_or_the_time_is_up(
        autojump_clock: trio.testing.MockClock) -> None:
    store = Store(maxage=15)
    ups = store.add("u")
    assert await ups.wait_available(3) is False
    assert trio.current_time() == 3
    other = store.add("v")
    async with trio.open_nursery() as nursery:

        async def driver() -> None:
            await trio.sleep(1)
            other.mark_fresh(trio.current_time())  # another UPS: not what is waited for
            await trio.sleep(1)
            ups.mark_stale()
            await trio.sleep(1)
            ups.mark_fresh(trio.current_time())

        nursery.start_soon(driver)
        assert await ups.wait_available(10) is True
    assert trio.current_time() == 6
    assert await ups.wait_available(10) is True and trio.current_time() == 6  # at once


async def test_a_shorter_maxage_wakes_the_age_watch(
        autojump_clock: trio.testing.MockClock) -> None:
    store = Store(maxage=15)
    ups = store.add("u")
    async with watching_ages(store) as seen:
        ups.mark_fresh(trio.current_time())
        await trio.sleep(2)
        store.maxage = 5  # the data, 2 s old, turns stale 3 s from now, not 13
        await trio.sleep(10)
    assert [(round(t, 3), state) for t, state in seen] == [
        (0.0, Availability.OK), (5.001, Availability.DATA_STALE)]
    assert store.maxage == 5


def test_a_flag_given_alone_keeps_the_others() -> None:
    store = _store()
    ups = store.add("u")
    ups.set("ups.id", "a", writable=True, string=True, aux=8)
    ups.set("ups.id", "a", writable=False)
    ups.set("ups.id", "b", string=False)
    var = ups.get("ups.id")
    assert var is not None
    assert (var.value, var.writable, var.string, var.aux) == ("b", False, False, 8)
    ups.set("ups.id", "b", writable=True, string=True)
    assert (var.aux, var.refusal("12345678"), var.refusal("123456789")) == (
        8, None, Refusal.TOO_LONG)


def test_deleting_a_variable_that_is_not_there_does_nothing() -> None:
    store = _store()
    ups = store.add("u")
    ups.set("battery.charge", "100")
    with store.feed.subscribe() as changes:
        ups.delete("battery.runtime")
        assert _drain(changes) == []
    assert list(ups.variables) == ["battery.charge"]


def test_enums_or_ranges_given_during_a_discovery_describe_the_variable() -> None:
    store = _store()
    ups = store.add("u")
    for name in ("input.sensitivity", "ups.delay.shutdown"):
        ups.set(name, "1", writable=True)
    ups.set_enums("input.sensitivity", ["1", "2"])
    ups.set_ranges("ups.delay.shutdown", [(0, 600)])
    ups.mark_fresh(0.0)
    ups.begin_discovery()
    for name in ("INPUT.SENSITIVITY", "UPS.DELAY.SHUTDOWN"):
        ups.set(name, "1")  # the flag not given again ...
    ups.set_enums("Input.Sensitivity", ["1", "2"])  # ... but the values are
    ups.set_ranges("Ups.Delay.Shutdown", [(0, 600)])
    with store.feed.subscribe() as changes:
        ups.mark_fresh(1.0)
        assert _drain(changes) == []
    sensitivity, delay = ups.get("input.sensitivity"), ups.get("ups.delay.shutdown")
    assert sensitivity is not None and delay is not None
    assert (sensitivity.writable, sensitivity.enums) == (True, ["1", "2"])
    assert (delay.writable, delay.ranges) == (True, [(0, 600)])


def test_a_discovery_clears_every_flag_of_a_variable_no_longer_described() -> None:
    store = _store()
    ups = store.add("u")
    ups.set("ups.id", "old", writable=True, string=True, aux=8)  # no enums, no ranges
    ups.set("ups.mfr", "APC")
    ups.set_enums("ups.mfr", ["APC"])  # enums without the writable flag
    ups.mark_fresh(0.0)
    ups.begin_discovery()
    ups.set("ups.id", "new")
    ups.set("ups.mfr", "APC")
    with store.feed.subscribe() as changes:
        ups.mark_fresh(1.0)
        assert _drain(changes) == [CapabilitiesChanged("u", AT)] * 2
    ident, mfr = ups.get("ups.id"), ups.get("ups.mfr")
    assert ident is not None and mfr is not None
    assert (ident.value, ident.writable, ident.string, ident.aux) == ("new", False, False, 0)
    assert (mfr.writable, mfr.enums) == (False, [])


def test_a_driver_gone_in_mid_discovery_starts_afresh() -> None:
    store = _store()
    ups = store.add("u")
    ups.set("ups.id", "a")
    ups.begin_discovery()
    ups.set("ups.id", "b")
    ups.disconnect()  # the discovery goes with the driver
    ups.set("battery.charge", "90")
    ups.mark_fresh(1.0)
    ups.set("ups.load", "10")
    ups.mark_fresh(2.0)  # no discovery under way: nothing is dropped
    assert sorted(ups.variables) == ["battery.charge", "ups.load"]
    assert ups.availability() is Availability.OK


def test_only_a_client_logged_in_is_counted_out() -> None:
    store = _store()
    ups = store.add("u")
    ups.login(1, "127.0.0.1")
    with store.feed.subscribe() as changes:
        ups.logout(2)  # never logged in
        ups.logout(1)
        assert _drain(changes) == [ClientsChanged("u", AT, 0)]
    assert ups.logins == {}


def test_a_status_change_under_fsd_reports_the_latch_on_both_sides() -> None:
    store = _store()
    ups = store.add("u")
    ups.set("ups.status", "OB")
    ups.set_fsd()
    with store.feed.subscribe(want=lambda e: isinstance(e, StatusChanged)) as changes:
        ups.set("ups.status", "OB LB")
        ups.set("ups.status", "ob lb")  # case only: no change
        assert _drain(changes) == [StatusChanged("u", AT, ("FSD", "OB"), ("FSD", "OB", "LB"))]


async def test_fresh_data_after_an_age_out_is_published_ok_again(
        autojump_clock: trio.testing.MockClock) -> None:
    store = Store(maxage=15)
    ups = store.add("u")
    async with watching_ages(store) as seen:
        ups.mark_fresh(trio.current_time())
        await trio.sleep(20)  # the driver kept its link but read nothing: stale by age
        assert ups.link is Link.FRESH
        ups.mark_fresh(trio.current_time())
        await trio.sleep(20)  # and the watch counts from the new read
    assert [(round(t, 3), state) for t, state in seen] == [
        (0.0, Availability.OK), (15.001, Availability.DATA_STALE),
        (20.0, Availability.OK), (35.001, Availability.DATA_STALE)]
