"""The announcer's bookkeeping, with zeroconf replaced by a recorder (no packet is sent).

That real browsers see the announcements is tests/system/test_announce.py,
inside a network namespace; here: a burst of store changes becomes one
update, a reload hook is honoured, stopping says goodbye, and a zeroconf
that cannot start is logged without stopping anything.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, ClassVar

import pytest
import trio
import zeroconf

from nutpy.config import Config, Listen, NutpyConf, UpsConf, UpsdConf
from nutpy.frontends.announce import Announcer
from nutpy.frontends.announce.responder import SETTLE
from nutpy.store import Store

ADDRESS = "192.0.2.1"


class Recorder:
    """Stands in for zeroconf.Zeroconf and notes every call."""

    calls: ClassVar[list[tuple[str, str, dict[bytes, bytes | None]]]] = []

    def __init__(self, **kwargs: Any) -> None:
        Recorder.calls.append(("open", str(kwargs["interfaces"]), {}))

    def _note(self, what: str, info: zeroconf.ServiceInfo) -> None:
        Recorder.calls.append((what, info.name, dict(info.properties)))

    def register_service(self, info: zeroconf.ServiceInfo, **kwargs: Any) -> None:
        self._note("register", info)

    def update_service(self, info: zeroconf.ServiceInfo) -> None:
        self._note("update", info)

    def unregister_service(self, info: zeroconf.ServiceInfo) -> None:
        self._note("unregister", info)

    def unregister_all_services(self) -> None:
        Recorder.calls.append(("goodbye", "", {}))

    def close(self) -> None:
        Recorder.calls.append(("close", "", {}))


def config(announce: bool | None = None) -> Config:
    return Config(Path("."), UpsConf(), UpsdConf(listen=[Listen(ADDRESS)]), {}, [],
                  nutpy=NutpyConf(announce=announce))


async def until(predicate: Any, timeout: float = 5.0) -> None:
    with trio.fail_after(timeout):
        while not predicate():
            await trio.sleep(0.02)


def kinds() -> list[tuple[str, str]]:
    return [(what, name) for what, name, _ in Recorder.calls]


async def test_changes_are_batched_and_stopping_says_goodbye(
        monkeypatch: pytest.MonkeyPatch) -> None:
    Recorder.calls = []
    monkeypatch.setattr(zeroconf, "Zeroconf", Recorder)
    store = Store()
    store.add("demo")
    announcer = Announcer(config(), store, hostname="vm")
    async with trio.open_nursery() as nursery:
        hook = await nursery.start(announcer.run)
        await until(lambda: len(Recorder.calls) == 3)
        assert kinds()[0] == ("open", f"['{ADDRESS}']")
        assert sorted(kinds()[1:]) == [("register", "vm._nut._tcp.local."),  # concurrently
                                       ("register", "vm._upsd._tcp.local.")]
        store.add("smt")
        store.remove("demo")
        store.add("demo")  # a reload's churn: one update with the end state
        await trio.sleep(SETTLE * 3)
        updates = [props for what, _, props in Recorder.calls if what == "update"]
        assert updates == [{b"txtvers": b"1", b"protovers": b"1.3",
                            b"device_list": b"smt;demo"}] * 2
        hook(config(announce=False))  # a reload that turns it off
        await until(lambda: kinds()[-2:] == [("goodbye", ""), ("close", "")])
        hook(config())
        await until(lambda: kinds().count(("open", f"['{ADDRESS}']")) == 2)
        await until(lambda: len(Recorder.calls) == 10)
        nursery.cancel_scope.cancel()
    assert kinds()[-2:] == [("goodbye", ""), ("close", "")]


async def test_a_zeroconf_that_cannot_start_is_logged_and_tried_again(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    attempts = []

    def refuse(**kwargs: Any) -> None:
        attempts.append(kwargs)
        raise OSError(19, "No such device")

    monkeypatch.setattr(zeroconf, "Zeroconf", refuse)
    store = Store()
    announcer = Announcer(config(), store, hostname="vm")
    with caplog.at_level(logging.ERROR, "nutpy.announce"):
        async with trio.open_nursery() as nursery:
            await nursery.start(announcer.run)
            await until(lambda: len(attempts) == 1)
            store.add("demo")
            await until(lambda: len(attempts) == 2)
            nursery.cancel_scope.cancel()
    assert "cannot announce on the LAN: [Errno 19] No such device" in caplog.text


async def test_interfaces_that_cannot_be_listed_never_stop_the_server(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    """Under nutpy.service, RestrictAddressFamilies= leaves out netlink: listing the
    interfaces for a wildcard LISTEN fails, and that took the server down once."""
    import ifaddr

    def no_netlink() -> list[Any]:
        raise OSError(97, "Address family not supported by protocol")

    monkeypatch.setattr(ifaddr, "get_adapters", no_netlink)
    cfg = Config(Path("."), UpsConf(), UpsdConf(listen=[Listen("*")]), {}, [],
                 nutpy=NutpyConf(announce=True))
    store = Store()
    with caplog.at_level(logging.ERROR, "nutpy.announce"):
        async with trio.open_nursery() as nursery:
            await nursery.start(Announcer(cfg, store, hostname="vm").run)
            await until(lambda: "cannot announce" in caplog.text)
            store.add("demo")  # still running: it tries again at the next change
            await trio.sleep(SETTLE * 2)
            nursery.cancel_scope.cancel()
    assert caplog.text.count("Address family not supported") == 2


async def test_loopback_listeners_never_list_the_interfaces(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import ifaddr

    def must_not_be_called() -> list[Any]:
        raise AssertionError("interfaces listed for a loopback LISTEN")

    monkeypatch.setattr(ifaddr, "get_adapters", must_not_be_called)
    cfg = Config(Path("."), UpsConf(), UpsdConf(listen=[Listen("127.0.0.1")]), {}, [],
                 nutpy=NutpyConf(announce=None))
    async with trio.open_nursery() as nursery:
        await nursery.start(Announcer(cfg, Store(), hostname="vm").run)
        await trio.sleep(SETTLE)
        nursery.cancel_scope.cancel()
