"""The sans-I/O Microlink Session on literal frames, one record at a time.

The records are the simulated SMC1000i's pages (row width 16, 128 pages, data
from page 0x40, master password at page 0x7E offset 8); what the session
sends back is checked byte for byte: ``FD`` (reset / repeat), ``FE`` (next)
and the slave-password write.  The timings are the spec's: a reply within
100 ms (NUT's wait), 3 silences in a row before reconnecting, a poll at least
every 0.5 s.
"""

from __future__ import annotations

import pytest

from nutpy.protocols.apcmicrolink import framing
from nutpy.protocols.apcmicrolink.framing import MicrolinkError
from nutpy.protocols.apcmicrolink.session import (
    Authenticated,
    AuthFailed,
    Event,
    NoResponse,
    Session,
    SessionLost,
    State,
    WriteDone,
    WriteFailed,
)
from nutpy.sim.microlink import MicrolinkSim

H = bytes.fromhex
FD, FE = b"\xFD", b"\xFE"
PAGE0 = H("0a108003ed07090001004000f802fe04")
# The slave password 00 00 EF 27 written at page 7E offset 12 (spec §6's worked key).
AUTH = H("7e0c040000ef2781d8")
BEEPER_MUTE = H("6f02020004493f")


class Line:
    """A Session fed the simulator's pages by hand, with a clock of our own."""

    def __init__(self, sim: MicrolinkSim | None = None, **kw: object) -> None:
        self.sim = sim or MicrolinkSim()
        self.session = Session(reply_timeout=0.1, **kw)  # type: ignore[arg-type]
        self.now = 0.0
        assert self.session.start(self.now) == FD

    def answer(self, page: int, data: bytes | None = None) -> list[Event]:
        self.now += 0.02
        raw = framing.record(page, self.sim.page(page) if data is None else data)
        return self.session.receive_data(raw, self.now)

    def silence(self) -> list[Event]:
        deadline = self.session.next_deadline()
        assert deadline is not None
        self.now = deadline
        return self.session.handle_timeout(self.now)

    def out(self) -> bytes:
        return self.session.data_to_send(self.now)

    def sweep(self, lost: tuple[int, ...] = ()) -> bytes:
        """Page 0 and every page after it (those in ``lost`` unanswered); what follows."""
        assert self.answer(0) == [] and self.out() == FE
        for page in range(1, 128):
            events = self.silence() if page in lost else self.answer(page)
            assert events == []
            out = self.out()
            if page < 127:
                assert out == FE, page
        return out

    def monitor(self) -> None:
        assert self.sweep() == AUTH
        echo = self.sim.feed(AUTH, self.now)
        assert echo[0] == 0x7E
        self.now += 0.02
        assert self.session.receive_data(echo, self.now) == [Authenticated()]
        assert self.out() == FE


def test_the_poll_interval_stays_below_the_keepalive() -> None:
    Session(poll_interval=0.49)
    with pytest.raises(ValueError, match=r"below 0\.5 s"):
        Session(poll_interval=0.5)


def test_two_free_bytes_of_the_slave_password() -> None:
    assert Session(auth_bytes=b"\x01\x02\x03").auth_bytes == b"\x01\x02"


def test_nothing_happens_before_start() -> None:
    s = Session()
    assert s.data_to_send(0.0) == b""
    assert s.next_deadline() is None
    assert s.handle_timeout(5.0) == []
    assert s.blob() == b"" and s.values() == {}
    with pytest.raises(KeyError, match=r"^'the descriptor has not been read yet'$"):
        s.command("beeper.mute")


def test_start_sends_fd_and_waits_the_reply_timeout() -> None:
    s = Session(reply_timeout=0.1)
    assert s.start(1.0) == FD
    assert s.state is State.CONNECTING
    assert s.next_deadline() == pytest.approx(1.1)
    assert s.handle_timeout(1.09) == [] and s.data_to_send(1.09) == b""
    assert s.handle_timeout(1.1) == []  # one silence: no NoResponse, nothing in flight
    assert s.data_to_send(1.1) == FD


def test_other_pages_while_connecting_get_fd() -> None:
    line = Line()
    assert line.answer(5) == [] and line.out() == b""  # no width known yet: not a record
    assert line.silence() == [] and line.out() == FD
    assert line.answer(0) == [] and line.out() == FE
    assert line.session.start(line.now) == FD  # reconnecting: the header is kept
    assert line.answer(5) == [] and line.out() == FD
    assert line.session.blob()[5 * 16:6 * 16] == line.sim.page(5)
    assert line.session.state is State.CONNECTING


def test_page_0_starts_the_sweep_with_nothing_else_known() -> None:
    line = Line()
    assert line.answer(0) == []
    assert line.session.state is State.SETUP and line.out() == FE
    assert line.session.header is not None and line.session.header.count == 128
    assert line.session.blob() == PAGE0 + bytes(16 * 127)


def test_page_0_before_start_is_taken() -> None:
    s = Session()
    assert s.receive_data(framing.record(0, PAGE0), 0.0) == []
    assert s.state is State.SETUP and s.data_to_send(0.0) == FE


def test_a_second_record_for_one_request_is_ignored() -> None:
    line = Line()
    sim = line.sim
    both = framing.record(0, sim.page(0)) + framing.record(1, sim.page(1))
    line.now = 0.02
    assert line.session.receive_data(both, line.now) == []
    assert line.session.blob()[16:32] == bytes(16)
    assert line.out() == FE


def test_one_sweep_is_enough_to_send_the_password() -> None:
    assert Line().sweep() == AUTH


def test_a_page_lost_in_the_sweep_is_filled_by_the_next_one() -> None:
    line = Line()
    assert line.sweep(lost=(5,)) == FD  # page 5 missing: sweep again
    assert line.session.values() == {}
    assert line.answer(0) == [] and line.out() == FE
    for page in range(1, 6):
        assert line.answer(page) == [] and line.out() == FE
    assert line.session.values() == {}  # every page cached, the descriptor not parsed yet
    for page in range(6, 127):
        assert line.answer(page) == [] and line.out() == FE
    assert line.answer(127) == [] and line.out() == AUTH


def test_three_silences_in_the_sweep_start_over() -> None:
    line = Line()
    assert line.answer(0) == [] and line.out() == FE
    for page in range(1, 11):
        line.answer(page)
        assert line.out() == FE
    assert line.silence() == [] and line.out() == FE
    assert line.silence() == [] and line.out() == FE
    assert line.silence() == [NoResponse()] and line.out() == FD


def test_the_last_page_lost_gets_fd_not_fe() -> None:
    line = Line()
    line.answer(0)
    for page in range(1, 127):
        line.out()
        line.answer(page)
    assert line.out() == FE
    assert line.silence() == [] and line.out() == FD  # FE past page 127 gets silence


def test_a_silence_after_page_0_of_a_three_page_unit_moves_on() -> None:
    line = Line()
    assert line.answer(0, H("0a1003") + PAGE0[3:]) == [] and line.out() == FE
    assert line.silence() == [] and line.out() == FE  # page 1 lost, page 2 still to come


@pytest.mark.parametrize("noise", [H("0a1000") + PAGE0[3:], H("0a2080") + PAGE0[3:]],
                         ids=["no pages", "another width"])
def test_a_page_0_that_cannot_be_is_noise(noise: bytes) -> None:
    line = Line()
    line.answer(0)
    line.out()
    assert line.answer(0, noise) == [] and line.out() == FD
    header = line.session.header
    assert header is not None and (header.width, header.count) == (16, 128)


def test_a_page_other_than_the_echo_is_asked_again() -> None:
    line = Line()
    assert line.sweep() == AUTH
    assert line.answer(0x40) == [] and line.out() == FD
    assert line.session.state is State.AUTHENTICATING


def test_a_refused_password_needs_a_fresh_master_password() -> None:
    line = Line()
    assert line.sweep() == AUTH
    assert line.answer(0x7E) == [AuthFailed()]  # master tail 00 00: not our password
    assert line.out() == FD
    assert line.sweep(lost=(0x7E,)) == FD  # the master password not read again
    assert line.sweep() == AUTH


def test_a_silence_while_monitoring_repeats_the_record() -> None:
    line = Line()
    line.monitor()
    assert line.answer(0x40) == [] and line.out() == FE
    assert line.silence() == [] and line.out() == FD


def test_a_descriptor_page_while_monitoring_is_the_ups_sweeping() -> None:
    line = Line()
    line.monitor()
    assert line.answer(5) == [SessionLost("the UPS is sending descriptor pages")]
    assert line.session.state is State.SETUP and line.out() == FE
    assert line.silence() == [] and line.out() == FE  # page 6 lost: the sweep goes on


def test_a_write_is_done_only_by_its_own_page() -> None:
    line = Line()
    line.monitor()
    assert line.session.command("beeper.mute") == BEEPER_MUTE
    line.answer(0x40)
    assert line.out() == BEEPER_MUTE
    assert line.answer(0x41) == [] and line.out() == FE  # not the echo
    line.answer(0x42)
    assert line.out() == FE
    assert line.session.command("beeper.mute") == BEEPER_MUTE
    line.answer(0x43)
    assert line.out() == BEEPER_MUTE
    assert line.silence() == [WriteFailed(BEEPER_MUTE)] and line.out() == FD
    assert line.silence() == [] and line.out() == FD
    assert line.session.command("beeper.mute") == BEEPER_MUTE
    line.answer(0x43)
    assert line.out() == BEEPER_MUTE
    assert line.answer(0x6F) == [WriteDone(BEEPER_MUTE)]


def test_page_0_while_a_write_is_in_flight_fails_it() -> None:
    line = Line()
    line.monitor()
    line.session.command("beeper.mute")
    line.answer(0x40)
    assert line.out() == BEEPER_MUTE
    assert line.answer(0) == [SessionLost("the UPS restarted the session"),
                              WriteFailed(BEEPER_MUTE)]
    assert line.session.state is State.SETUP and line.out() == FE
    assert line.silence() == []


def test_page_0_while_monitoring_needs_a_fresh_master_password() -> None:
    line = Line()
    line.monitor()
    line.answer(0x40)
    line.out()
    assert line.answer(0) == [SessionLost("the UPS restarted the session")]
    line.out()
    for page in range(1, 128):
        assert (line.silence() if page == 0x7E else line.answer(page)) == []
        out = line.out()
    assert out == FD
    auth = line.sweep()  # the master password the UPS chose on accepting ours
    assert auth[:3] == H("7e0c04") and len(auth) == 9



# Where the descriptor names the usage (blob offset of its id), and another id for it.
@pytest.mark.parametrize(("at", "was", "other"), [(0xF4, 0x05, 0x0A), (0x12, 0x40, 0x41)],
                         ids=["slave password 2:4.8.5", "serial 2:4.9.40"])
def test_a_descriptor_without_the_password_usages_is_refused(at: int, was: int,
                                                            other: int) -> None:
    sim = MicrolinkSim()
    assert sim.mem[at] == was
    sim.mem[at] = other
    line = Line(sim)
    refused = r"^the descriptor lacks the password or serial usages$"
    with pytest.raises(MicrolinkError, match=refused):
        line.sweep()
