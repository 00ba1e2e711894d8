"""Identifying a UPS from bytes: the probes against the simulators' engines and literal bytes.

The simulators' engines are pure, so a probe and an engine can be coupled
directly: each byte the probe sends is fed to the engine at a simulated
time and its reply handed back.  The assertions hold the probes to the
promise of ``nutpy scan``: only identification queries go out.
"""

from __future__ import annotations

import pytest

from nutpy.protocols.apcmicrolink.framing import record
from nutpy.protocols.identify import (
    Identity,
    MicrolinkProbe,
    NoUps,
    Probe,
    SmartProbe,
    Unreadable,
    probes,
)
from nutpy.sim.control import Engine
from nutpy.sim.microlink import MicrolinkSim
from nutpy.sim.smart import SmartUps
from tests.support import FIXTURES

SMART_QUERIES = set(b"Y\x01nbVR")  # Y, ^A, n, b, V, R: identification and dumb mode
MICROLINK_QUERIES = {0xFD, 0xFE}


class Wire:
    """A probe talking to a pure engine, with a simulated clock and a log of what went out."""

    def __init__(self, probe: Probe, engine: Engine | None, latency: float = 0.01) -> None:
        self.probe, self.engine, self.latency = probe, engine, latency
        self.now = 100.0
        self.sent = bytearray()

    def run(self, limit: int = 20000) -> object:
        out = self.probe.start(self.now)
        for _ in range(limit):
            if self.probe.finding is not None:
                assert out == b"", "a probe that has concluded sends nothing more"
                return self.probe.finding
            self.sent += out
            reply = self.engine.feed(out, self.now) if out and self.engine else b""
            if reply:
                self.now += self.latency
                out = self.probe.receive_data(reply, self.now)
            else:
                deadline = self.probe.next_deadline()
                assert deadline is not None
                self.now = max(self.now, deadline)
                out = self.probe.handle_timeout(self.now)
        raise AssertionError("the probe never concluded")

    @property
    def elapsed(self) -> float:
        return self.now - 100.0


def smart(dump: str | None = None) -> SmartUps:
    return SmartUps.from_dev((FIXTURES / dump).read_bytes()) if dump else SmartUps()


@pytest.mark.parametrize(("dump", "model", "serial", "firmware"), [
    (None, "SMART-UPS 1000", "QS9931125245", "60.11.I"),
    ("smart-ups-1500.dev", "Smart-UPS 1500", "AS0537230534(", "601.3.I"),
    ("smart-ups-sc1500.dev", "Smart-UPS SC1500", "5S0713T66466", "738.2.I"),
    ("smart-ups-rt-3000-xl.dev", "Smart-UPS RT 3000 XL", "NS0706016624", "450.17.W"),
])
def test_smart_probe_reads_model_serial_firmware(dump: str | None, model: str, serial: str,
                                                 firmware: str) -> None:
    engine = smart(dump)
    wire = Wire(SmartProbe(), engine)
    assert wire.run() == Identity("apcsmart", "APC Smart", 2400, model, serial, firmware)
    assert set(wire.sent) <= SMART_QUERIES
    assert bytes(wire.sent) == b"Y\x01nbR"
    assert not engine.smart  # back in dumb mode, as NUT's apcsmart leaves it
    assert wire.elapsed < 1


def test_smart_probe_says_what_a_unit_did_not_answer() -> None:
    # The Matrix-UPS dump has no firmware and a masked serial: V is tried after b.
    wire = Wire(SmartProbe(), smart("matrix-ups-3000.dev"))
    finding = wire.run()
    assert isinstance(finding, Identity)
    assert finding.model == "Matrix-UPS"
    assert finding.firmware is None
    assert "firmware (b, V)" in finding.unanswered
    assert bytes(wire.sent).endswith(b"bVR")


def test_smart_probe_on_literal_bytes_ignores_alerts_and_takes_the_model_from_firmware() -> None:
    probe = SmartProbe()
    assert probe.start(0.0) == b"Y"
    assert probe.receive_data(b"!S", 0.1) == b""  # an alert, then half a line
    assert probe.receive_data(b"M\r\n", 0.2) == b"\x01"
    assert probe.receive_data(b"NA\r\n", 0.3) == b"n"  # an old unit without ^A
    assert probe.receive_data(b"$QS99\r\n", 0.4) == b"b"
    assert probe.receive_data(b"NA\r\n", 0.5) == b"V"
    assert probe.receive_data(b"IWI\r\n", 0.6) == b"R"
    assert probe.receive_data(b"BYE\r\n", 0.7) == b""
    assert probe.finding == Identity("apcsmart", "APC Smart", 2400, "Smart-UPS 1000", "QS99",
                                     "IWI", unanswered=("model (^A)",))


def test_smart_probe_tries_y_three_times_then_gives_up() -> None:
    wire = Wire(SmartProbe(), None)
    finding = wire.run()
    assert finding == NoUps("APC Smart", 2400, b"YYY", b"")
    assert wire.elapsed == pytest.approx(4.5)


def test_a_line_that_is_not_sm_is_no_smart_ups() -> None:
    probe = SmartProbe()
    probe.start(0.0)
    assert probe.receive_data(b"Y\r\nOK\r\n", 0.1) == b""  # a modem echoing, then OK
    for now in (1.5, 3.0, 4.5):
        probe.handle_timeout(now)
    assert isinstance(probe.finding, NoUps)
    assert probe.finding.heard == b"Y\r\nOK\r\n"
    assert probe.finding.echoed is False  # YYY were sent; one came back


@pytest.mark.parametrize("width", [16, 32])
def test_microlink_probe_reads_the_descriptor_and_never_authenticates(width: int) -> None:
    engine = MicrolinkSim(width=width)
    wire = Wire(MicrolinkProbe(), engine, latency=0.021)  # one page at 9600 baud
    finding = wire.run()
    assert finding == Identity("apcmicrolink", "APC Microlink", 9600, "Smart-UPS 1500",
                               "AS2101123456", "UPS 15.0", "SMT1500I")
    assert set(wire.sent) <= MICROLINK_QUERIES
    assert not engine.monitoring  # no slave password was written
    assert wire.elapsed < 4  # 128 (or 105) pages at 9600 baud


def test_microlink_probe_gives_up_after_three_silent_resets() -> None:
    wire = Wire(MicrolinkProbe(), None)
    assert wire.run() == NoUps("APC Microlink", 9600, b"\xfd\xfd\xfd", b"")
    assert wire.elapsed == pytest.approx(0.6)


def test_microlink_probe_on_a_unit_without_a_usable_descriptor() -> None:
    probe = MicrolinkProbe()
    probe.start(0.0)
    page0 = bytes.fromhex("0A10 0203 ED07 0100 0200 4000 F802 FE04".replace(" ", ""))
    assert probe.receive_data(record(0, page0), 0.02) == b"\xfe"  # flags: no descriptor
    assert probe.receive_data(record(1, bytes(16)), 0.04) == b""
    assert probe.finding == Unreadable("APC Microlink", 9600,
                                       "no usable descriptor (flags 01, version 2)")
    assert probe.receive_data(b"\xfd", 0.06) == b"" and probe.handle_timeout(10.0) == b""
    assert probe.next_deadline() is None


def test_microlink_probe_stops_when_the_pages_do_not_all_come() -> None:
    probe = MicrolinkProbe()
    probe.start(0.0)
    page0 = bytes.fromhex("0A10 8003 ED07 0900 0100 4000 F802 FE04".replace(" ", ""))
    probe.receive_data(record(0, page0), 0.02)
    now = 0.02
    while probe.finding is None:
        deadline = probe.next_deadline()
        assert deadline is not None
        now = deadline
        assert probe.handle_timeout(now) in (b"", b"\xfd", b"\xfe")
    assert probe.finding == Unreadable("APC Microlink", 9600,
                                       "page 0 answered, but the pages did not all come in 8 s")
    assert now == pytest.approx(8.0)
    assert probe.handle_timeout(now + 1) == b""


def test_echo_detection() -> None:
    assert NoUps("x", 1, b"\xfd\xfd", b"\xfd\xfd").echoed
    assert not NoUps("x", 1, b"\xfd\xfd", b"\xfd\x00\xfd").echoed  # and talks too
    assert not NoUps("x", 1, b"\xfd\xfd", b"\xfd").echoed
    assert not NoUps("x", 1, b"YYY", b"").echoed


def test_each_protocol_answers_only_its_own_probe() -> None:
    """Microlink runs first; the other protocol's bytes draw no answer from either sim."""
    first, second = probes()
    assert isinstance(first, MicrolinkProbe) and isinstance(second, SmartProbe)
    assert isinstance(Wire(MicrolinkProbe(), smart()).run(), NoUps)
    assert isinstance(Wire(SmartProbe(), MicrolinkSim()).run(), NoUps)


def test_a_smart_ups_that_answers_only_y_is_named_for_what_it_left_unanswered() -> None:
    probe = SmartProbe()
    assert probe.start(0.0) == b"Y"
    assert probe.next_deadline() == 1.5
    assert probe.receive_data(b"SM\r\n", 0.1) == b"\x01"
    sent = []
    now = 0.1
    while probe.finding is None:
        deadline = probe.next_deadline()
        assert deadline is not None
        assert deadline == pytest.approx(now + 1.5)  # every query waits 1.5 s
        assert probe.handle_timeout(deadline - 0.01) == b""  # not yet
        now = deadline
        sent.append(probe.handle_timeout(now))
    assert sent == [b"n", b"b", b"V", b"R", b""]
    assert probe.finding == Identity("apcsmart", "APC Smart", 2400, None, None, None,
                                     unanswered=("model (^A)", "serial number (n)",
                                                 "firmware (b, V)"))
    assert probe.next_deadline() is None
    assert probe.handle_timeout(now + 10) == b"" and probe.receive_data(b"x\r\n", 20) == b""


def test_what_a_probe_keeps_of_a_talkative_device_is_bounded_at_256_bytes() -> None:
    probe = SmartProbe()
    probe.start(0.0)
    probe.receive_data(b"x" * 200, 0.1)
    probe.receive_data(b"y" * 100, 0.2)
    for now in (1.5, 3.0, 4.5):
        probe.handle_timeout(now)
    finding = probe.finding
    assert isinstance(finding, NoUps)
    assert finding.heard == b"x" * 200 + b"y" * 56 and finding.sent == b"YYY"


def test_an_echo_keeps_the_order_of_what_was_sent() -> None:
    assert NoUps("x", 1, b"ab", b"ab").echoed
    assert NoUps("x", 1, b"ab", b"aabb").echoed  # doubled by a loopback, still in order
    assert not NoUps("x", 1, b"ab", b"ba").echoed
    assert not NoUps("x", 1, b"", b"").echoed


def test_a_microlink_probe_never_lets_the_session_write(monkeypatch: pytest.MonkeyPatch) -> None:
    """The guard: were the driver's session ever to want a write (its slave password,
    say) before the pages are read, the probe concludes instead of sending it."""
    probe = MicrolinkProbe()
    monkeypatch.setattr(probe._session, "start", lambda now: b"\xcf\x01\x02")
    assert probe.start(0.0) == b""
    assert probe.finding == Unreadable(
        "APC Microlink", 9600, "the session wanted to write before the pages were read")


def test_smart_probe_answers_two_lines_in_one_read() -> None:
    probe = SmartProbe()
    assert probe.start(0.0) == b"Y"
    assert probe.receive_data(b"SM\r\nSMART-UPS 1000\r\n", 0.1) == b"\x01n"
