"""``experimental.device.status``: the status word as NUT's apcmicrolink publishes it.

NUT maps descriptor usage 2:4.A with ``apc_status_map`` (drivers/apc_common.c:
bit 1 OL, 2 OB, 3 BYPASS, 4 OFF, 7 TEST, 21 OVER), joins the labels of the
bits that are set with spaces, and shows the raw word as ``0x%08X`` when no
label matches (drivers/apcmicrolink.c, microlink_set_descriptor_map_info).
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import trio
import trio.testing

from nutpy.config import UpsConfig
from nutpy.drivers.apcmicrolink.driver import ApcMicrolink
from nutpy.drivers.base import DriverSetup
from nutpy.protocols.apcmicrolink.variables import device_status
from nutpy.sim.link import SimLink
from nutpy.sim.microlink import MicrolinkSim
from nutpy.store import Availability, Request, Store
from tests.support.aio import wired


def test_labels_of_the_set_bits_or_the_raw_word() -> None:
    assert device_status(bytes.fromhex("00000002")) == "OL"
    assert device_status(bytes.fromhex("00200084")) == "OB TEST OVER"
    assert device_status(bytes.fromhex("00000040")) == "0x00000040"  # an alarm bit only
    assert device_status(bytes.fromhex("0000")) == "0x0000"


async def test_the_driver_publishes_it_and_follows_the_mains(
        autojump_clock: trio.testing.MockClock) -> None:
    store = Store()
    ups = store.add("ml")
    _, receive = trio.open_memory_channel[Request](1)
    link = SimLink(MicrolinkSim())

    def open_line(baudrate: int) -> contextlib.AbstractAsyncContextManager[trio.abc.Stream]:
        return wired(link)

    section = UpsConfig("ml", 1, "apcmicrolink", "sim")
    driver = ApcMicrolink(DriverSetup(section, Path("."), {}, open_line))

    def shown() -> str | None:
        var = ups.get("experimental.device.status")
        return None if var is None else var.value

    async with trio.open_nursery() as nursery:
        nursery.start_soon(driver.run, ups, receive)
        with trio.fail_after(30):
            while ups.availability() is not Availability.OK:
                await trio.sleep(0.1)
        assert shown() == "OL"
        assert link.control("mains fail") == ["OK"]
        with trio.fail_after(30):
            while shown() != "OB":
                await trio.sleep(0.1)
        nursery.cancel_scope.cancel()
