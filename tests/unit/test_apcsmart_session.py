"""The APC Smart session on literal bytes and a virtual clock: no trio, no simulator.

Each test plays the UPS by hand: it reads what the session sends, answers
with the bytes a Smart-UPS would send, and lets time pass to the session's
next deadline.  Discovery on real device dumps is the one place the pure
simulator engine answers instead (a dump has too many queries to type).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable

import pytest

from nutpy.protocols.apcsmart.events import (
    AlertSeen,
    Answering,
    Closed,
    CommandsFound,
    Deleted,
    Discovered,
    Doubtful,
    Event,
    Finished,
    Garbled,
    NoAnswerYet,
    Polled,
    Settable,
    Silent,
    Unconfirmed,
    UnusableCaps,
    Values,
    Verdict,
)
from nutpy.protocols.apcsmart.session import Phase, Session
from nutpy.protocols.apcsmart.status import Alert, status_tokens
from nutpy.protocols.apcsmart.variables import TRANSFER_REASONS
from nutpy.protocols.devfile import dev_variables
from nutpy.sim.smart import SmartUps
from tests.support import FIXTURES

INTERVAL = 2.0
REPLY = 0.01  # how long a hand-played reply takes

# A small unit: ^Z, K, L, Q, S, U, W, Z, c, f, p, u in its command list.
CMDSET = b"3.!$%+?=#|.\x1aKLQSUWZcfpu"
CAPS = b"#u443253257261265"  # u: four choices for every locale
PROBES = [(b"L", b"230.0"), (b"c", b"UPS_IDEN"), (b"f", b"100.0"), (b"p", b"020"),
          (b"u", b"253")]


POLL = {b"Q": b"08", b"L": b"230.0", b"f": b"100.0"}  # what ready()'s unit answers a poll


class Replies(dict[bytes, bytes | None]):
    """What the UPS answers (None: silence), by the bytes sent last: the longest key
    that ends them wins, so ``b"@000"`` answers the last digit only.  Polls are
    answered as the small unit answers them."""

    def answer(self, sent: bytes) -> bytes | None:
        keys = sorted((key for key in self if sent.endswith(key)), key=len, reverse=True)
        return self.get(keys[0]) if keys else POLL.get(sent[-1:])


class Line:
    """A session and its virtual clock: what it sends, and the UPS's answers, by hand."""

    def __init__(self, **options: str) -> None:
        self.session = Session(interval=INTERVAL, **options)
        self.now = 0.0
        self.events: list[Event] = self.session.start(self.now)

    def sent(self) -> bytes:
        return self.session.data_to_send()

    def answer(self, data: bytes, after: float = REPLY) -> list[Event]:
        self.now += after
        self.events = self.session.receive_data(data, self.now)
        return self.events

    def wait(self, seconds: float | None = None) -> list[Event]:
        """Let time pass: to the next deadline, or ``seconds`` more."""
        deadline = self.session.next_deadline()
        assert deadline is not None
        self.now = deadline if seconds is None else self.now + seconds
        self.events = self.session.handle_timeout(self.now)
        return self.events

    def ask(self, query: bytes, reply: bytes) -> list[Event]:
        """The session must send ``query`` now; the UPS answers ``reply`` (CR LF added)."""
        assert self.sent() == query
        return self.answer(reply + b"\r\n")

    def exchange(self, *pairs: tuple[bytes, bytes]) -> list[Event]:
        events: list[Event] = []
        for query, reply in pairs:
            events += self.ask(query, reply)
        return events

    def timed(self, replies: Replies, *, until_finished: bool = False
              ) -> list[tuple[float, bytes]]:
        """Run until the session goes idle (or, ``until_finished``, a request ends): each
        byte it sends and when, answered from ``replies`` (None or absent: silence).
        The events on the way are in ``self.events``."""
        log: list[tuple[float, bytes]] = []
        events: list[Event] = []
        for _ in range(200):
            out = self.sent()
            if out:
                log.append((round(self.now, 3), out))
            if until_finished and of(Finished, events):
                break  # what it sent next belongs to the poll that follows
            reply = replies.answer(b"".join(data for _, data in log)) if out else None
            if reply is not None:
                events += self.answer(reply + b"\r\n")
                continue
            if self.session.phase in (Phase.IDLE, Phase.CLOSED) and not out:
                break
            events += self.wait()
        self.events = events
        return log


def discover(line: Line, caps: bytes = CAPS) -> Line:
    """``line`` through the handshake and discovery of the small unit: Q is sent."""
    line.exchange((b"Y", b"SM"), (b"V", b"NA"), (b"b", b"NA"), (b"a", CMDSET), *PROBES,
                  (b"\x1a", caps))
    return line


def polled(line: Line) -> Line:
    """``line`` through its first poll (whose Q is read twice: the first status has
    nothing else to agree with)."""
    line.exchange((b"Q", b"08"), (b"Q", b"08"), (b"L", b"230.0"), (b"f", b"100.0"))
    assert line.session.phase is Phase.IDLE
    return line


def ready(**options: str) -> Line:
    """A line through the handshake, discovery of the small unit, and its first poll."""
    return polled(discover(Line(**options)))


def of(kind: type, events: Iterable[Event]) -> list[Event]:
    return [e for e in events if isinstance(e, kind)]


def values(events: Iterable[Event]) -> dict[str, str]:
    merged: dict[str, str] = {}
    for event in events:
        if isinstance(event, Values):
            merged.update(event.values)
    return merged


def finished(events: Iterable[Event]) -> Finished:
    (done,) = of(Finished, events)
    assert isinstance(done, Finished)
    return done


def gaps(log: list[tuple[float, bytes]]) -> list[float]:
    return [round(b[0] - a[0], 2) for a, b in itertools.pairwise(log)]


# ---- handshake ---------------------------------------------------------------------


def test_the_first_byte_is_y_and_sm_starts_discovery() -> None:
    line = Line()
    assert line.sent() == b"Y"
    assert line.session.next_deadline() == 1.5
    line.answer(b"SM\r\n")
    assert line.sent() == b"V"
    assert line.session.phase is Phase.DISCOVERING


def test_an_unanswered_y_is_followed_by_escape_then_y_again() -> None:
    line = Line()
    assert line.sent() == b"Y"
    assert line.wait() == [NoAnswerYet()]
    assert (line.now, line.sent()) == (1.5, b"\x1b")
    line.answer(b"NA\r\n")  # ESC's answer is thrown away
    assert line.sent() == b"Y"
    line.answer(b"SM\r\n")
    assert line.session.phase is Phase.DISCOVERING


def test_a_wrong_answer_to_y_counts_as_none() -> None:
    line = Line()
    assert line.ask(b"Y", b"NA") == [NoAnswerYet()]
    assert line.sent() == b"\x1b"


def test_five_unanswered_handshakes_close_the_session() -> None:
    line = Line()
    log = line.timed(Replies({}))
    assert [data for _, data in log] == [b"Y", b"\x1b"] * 5
    assert line.now == 15.0
    assert line.events[-1] == Closed("no APC Smart protocol UPS answers (no SM to Y)")
    assert line.session.phase is Phase.CLOSED
    assert line.session.next_deadline() is None


# ---- discovery ------------------------------------------------------------------------


def test_discovery_reads_firmware_then_a_then_every_query_then_caps() -> None:
    line = Line()
    events = line.exchange((b"Y", b"SM"), (b"V", b"NA"), (b"b", b"NA"), (b"a", CMDSET),
                           *PROBES, (b"\x1a", CAPS))
    assert values(events) == {"input.voltage": "230.0", "ups.id": "UPS_IDEN",
                              "battery.charge": "100.0", "ups.delay.shutdown": "020",
                              "input.transfer.high": "253", "ups.mfr": "APC"}
    assert of(CommandsFound, events) == [CommandsFound((
        "shutdown.stayoff", "shutdown.return", "test.failure.start", "test.battery.start",
        "test.battery.stop", "load.off"))]
    assert events[-1] == Discovered("NA", 5, 6)  # b's answer, as NUT logs it
    assert line.sent() == b"Q"  # and the first poll begins


def test_string_variables_become_writable_strings_of_eight() -> None:
    events = Line().exchange((b"Y", b"SM"), (b"V", b"NA"), (b"b", b"NA"), (b"a", CMDSET),
                             *PROBES)
    assert of(Settable, events) == [Settable("ups.id", "UPS_IDEN", length=8)]


def test_caps_make_their_variables_writable_enums() -> None:
    line = Line()
    line.exchange((b"Y", b"SM"), (b"V", b"NA"), (b"b", b"NA"), (b"a", CMDSET), *PROBES)
    events = line.ask(b"\x1a", CAPS)
    assert of(Settable, events) == [
        Settable("input.transfer.high", "253", enums=("253", "257", "261", "265"))]


def test_caps_of_another_locale_are_ignored() -> None:
    line = Line()
    line.exchange((b"Y", b"SM"), (b"V", b"NA"), (b"b", b"NA"), (b"a", CMDSET), *PROBES)
    assert not of(Settable, line.ask(b"\x1a", b"#uD43127130133136"))  # locale "" here


def test_an_unusable_caps_reply_is_reported_and_polling_starts() -> None:
    line = Line()
    line.exchange((b"Y", b"SM"), (b"V", b"NA"), (b"b", b"NA"), (b"a", CMDSET), *PROBES)
    events = line.ask(b"\x1a", b"NA")
    assert UnusableCaps(b"NA") in events and not of(Settable, events)
    assert line.sent() == b"Q"


def test_b_wins_over_v() -> None:
    line = Line()
    events = line.exchange((b"Y", b"SM"), (b"V", b"NA"), (b"b", b"60.11.I"),
                           (b"a", b"3.!.Vb"), (b"V", b"IWI"), (b"b", b"60.11.I"))
    assert values(events)["ups.firmware"] == "60.11.I"
    assert events[-1] == Discovered("60.11.I", 1, 0)


def test_v_answered_names_the_firmware_when_b_is_not_listed() -> None:
    line = Line()
    events = line.exchange((b"Y", b"SM"), (b"V", b"IWI"), (b"a", b"3.!.V"), (b"V", b"IWI"))
    assert values(events)["ups.firmware"] == "IWI"


def test_firmware_in_nuts_table_replaces_a_and_caps() -> None:
    line = Line()
    events = line.exchange((b"Y", b"SM"), (b"V", b"8QI"))
    assert values(events) == {"ups.model": "Smart-UPS"}
    assert line.sent() == b"9"  # the table's first query: no a


def test_without_a_the_old_probe_list_is_used_and_the_model_named() -> None:
    line = Line()
    line.exchange((b"Y", b"SM"), (b"V", b"NA"), (b"b", b"NA"), (b"a", b"NA"))
    log = line.timed(Replies({b"C": b"032.8", b"L": b"230.0", b"/": b"09.31", b"Q": b"08",
                      b"Y": b"SM"}))
    probes = [data for _, data in log if data != b"Y"][:11]
    assert probes == [bytes((b,)) for b in b"CPLOfB\x01nbV/"]
    assert values(line.events)["ups.model"] == "Matrix-UPS"  # it answered output.current


def test_an_unanswered_probe_that_still_says_sm_is_skipped() -> None:
    line = Line()
    line.exchange((b"Y", b"SM"), (b"V", b"NA"), (b"b", b"NA"), (b"a", CMDSET))
    assert line.sent() == b"L"
    line.wait()
    assert line.now == pytest.approx(3.04) and line.sent() == b"Y"
    line.answer(b"SM\r\n")
    events = line.exchange(*PROBES[1:], (b"\x1a", CAPS))
    assert "input.voltage" not in values(events)


def test_an_unanswered_probe_without_sm_closes_the_session() -> None:
    line = Line()
    line.exchange((b"Y", b"SM"), (b"V", b"NA"), (b"b", b"NA"), (b"a", CMDSET))
    assert line.sent() == b"L"
    line.wait()
    assert line.sent() == b"Y"
    assert line.wait() == [Closed("no reply to b'L' during discovery")]


@pytest.mark.parametrize("dump", ["smart-ups-1500.dev", "smart-ups-sc1500.dev",
                                  "smart-ups-rt-3000-xl.dev", "matrix-ups-3000.dev"])
def test_discovery_of_a_real_dump_publishes_what_nut_published(dump: str) -> None:
    """The pure simulator answers as the unit in the dump; the session ends up with
    every value NUT's apcsmart reported (driver.* and device.* are the shell's, and
    NUT 2.2 published the transfer reason's letter, today's NUT its text)."""
    data = (FIXTURES / dump).read_bytes()
    ups = SmartUps.from_dev(data)
    session = Session(interval=INTERVAL)
    now = 0.0
    events = session.start(now)
    while not of(Discovered, events):
        out = session.data_to_send()
        reply = ups.feed(out, now) if out else b""
        now += 0.01
        if reply:
            events += session.receive_data(reply, now)
        else:
            deadline = session.next_deadline()
            assert deadline is not None
            now = max(now, deadline)
            events += session.handle_timeout(now)
    expected = {name: TRANSFER_REASONS.get(value, value) if name == "input.transfer.reason"
                else value for name, value in dev_variables(data).items()
                if not name.startswith(("driver.", "device.")) and name != "ups.status"
                and value != "********"}  # a serial number blanked in the dump
    assert session.values == expected


# ---- polling ---------------------------------------------------------------------------


def test_a_poll_is_q_then_the_polled_queries_in_nuts_order() -> None:
    line = ready()
    line.wait()
    assert line.now == pytest.approx(10 * REPLY + 4 * REPLY + INTERVAL)
    events = line.exchange((b"Q", b"50"), (b"Q", b"50"),  # a change no alert announced
                           (b"L", b"000.0"), (b"f", b"087.0"))
    assert values(events) == {"ups.status": "OB LB", "input.voltage": "000.0",
                              "battery.charge": "087.0"}
    assert Answering() in events and of(Polled, events)


def _polls_of_a_real_unit(ups: SmartUps, count: int,
                          change: Callable[[Session, int], None] = lambda session, poll: None
                          ) -> list[bytes]:
    """What the session asks in each of ``count`` polls after discovering ``ups``
    (a poll: what it sends after waiting at least a second); ``change(session, n)`` runs
    while the session waits for poll ``n`` (0: the first after the one that
    ends discovery)."""
    session = Session(interval=INTERVAL)
    now = last = 0.0
    session.start(now)
    polls: list[bytes] = [b""]
    while len(polls) <= count + 1:  # polls[0]: discovery and the poll that ends it
        out = session.data_to_send()
        if out:
            if now - last >= 1.0:
                polls.append(b"")
            polls[-1] += out
            last = now
        reply = ups.feed(out, now) if out else b""
        now += 0.01
        if reply:
            session.receive_data(reply, now)
        else:
            deadline = session.next_deadline()
            assert deadline is not None
            if session.phase is Phase.IDLE:
                change(session, len(polls) - 1)
            now = max(now, deadline)
            session.handle_timeout(now)
    return polls[1:count + 1]


def test_slow_variables_are_read_every_fifth_poll_and_when_the_status_changes() -> None:
    """NUT reads its 13 polled queries every poll; nutpy the fast-moving ones
    (load, voltages, charge, runtime) every poll and the rest every fifth one."""
    ups = SmartUps.from_dev((FIXTURES / "smart-ups-1500.dev").read_bytes())
    everything = b"QCPXLF9GMNOfBj"  # what NUT's apcsmart asks each poll of this unit
    fast = b"QPLOfj"
    polls = _polls_of_a_real_unit(ups, 6)
    assert [poll.lstrip(b"Q") for poll in polls] == [
        *[fast[1:]] * 4, everything[1:], fast[1:]]  # the one before them read everything
    ups = SmartUps.from_dev((FIXTURES / "smart-ups-1500.dev").read_bytes())
    polls = _polls_of_a_real_unit(
        ups, 2, lambda session, poll: ups.mains_fail() if poll == 1 else None)
    assert polls[0].lstrip(b"Q") == fast[1:]
    assert polls[1].lstrip(b"Q") == everything[1:]  # on battery: everything at once


def test_every_query_is_read_again_hourly() -> None:
    line = ready()
    line.wait(3600)
    log = line.timed(Replies({b"Q": b"08", b"L": b"230.0", b"f": b"100.0", b"c": b"UPS_IDEN",
                      b"p": b"020", b"u": b"253"}))
    assert b"".join(data for _, data in log) == b"QLcfpu"


def test_na_to_a_polled_query_deletes_its_variable_for_good() -> None:
    line = ready()
    line.wait()
    events = line.exchange((b"Q", b"08"), (b"L", b"NA"), (b"f", b"100.0"))
    assert Deleted(("input.voltage",)) in events and Answering() in events
    line.wait()
    line.exchange((b"Q", b"08"))
    assert line.sent() == b"f"


def test_a_garbled_reply_is_not_published_and_the_next_poll_comes_soon() -> None:
    """Only that value stays as it was: Q was read, so the data is fresh."""
    line = ready()
    line.wait()
    began = line.now
    events = line.exchange((b"Q", b"08"), (b"L", b"23x.0"))
    assert events == [Values({"ups.status": "OL"}), Garbled(b"L", b"23x.0")]
    assert line.sent() == b""  # the rest of it may still come: wait, then flush
    line.answer(b"5\r\n")
    line.wait()
    values_, polled, answering = line.ask(b"f", b"100.0")
    assert values_ == Values({"battery.charge": "100.0"})
    assert isinstance(polled, Polled) and answering == Answering()
    assert (round(polled.seconds, 2), polled.sent, polled.received) == (0.28, 3, 21)
    line.wait()
    assert line.sent() == b"Q"
    assert line.now == pytest.approx(began + 0.28 + 0.25)


def test_a_reply_trodden_on_by_more_bytes_is_garbled() -> None:
    line = ready()
    line.wait()
    line.ask(b"Q", b"08")
    assert line.answer(b"230.0\r\n7") == [Garbled(b"L", b"\x00")]


def test_a_reply_cut_short_is_garbled_not_silence_half_a_second_after_its_last_byte() -> None:
    """A UPS sends a reply in one go: silence inside one means its LF was lost
    (to noise, say), and waiting the 3 s a reply may take to begin would leave
    the data that much older."""
    line = ready()
    line.wait()
    line.ask(b"Q", b"08")
    line.sent()
    line.answer(b"2")
    line.answer(b"3", after=0.3)
    assert line.session.next_deadline() == pytest.approx(line.now + 0.5)
    assert line.wait() == [Garbled(b"L", b"\x00")]


def test_three_garbled_polls_in_a_row_make_the_data_stale() -> None:
    line = ready()
    for poll in range(3):
        line.wait()
        events = line.ask(b"Q", b"0G")
        line.wait()
        assert (Silent("no readable Q in 3 polls in a row") in line.events) == (poll == 2)
        assert events == [Garbled(b"Q", b"0G")]


def test_an_unanswered_q_knocks_with_y_every_interval() -> None:
    line = ready()
    line.wait()
    assert line.sent() == b"Q"
    assert line.wait() == [Silent("no reply to Q")]
    knocked = line.now
    assert line.sent() == b"Y"
    assert line.wait() == [Silent("no SM in reply to Y")]
    line.wait()
    assert (line.now, line.sent()) == (knocked + INTERVAL, b"Y")
    line.answer(b"SM\r\n")
    log = line.timed(Replies({b"Q": b"08", b"L": b"230.0", b"f": b"100.0", b"c": b"UPS_IDEN",
                      b"p": b"020", b"u": b"253"}))
    assert b"".join(data for _, data in log) == b"QLcfpu"  # back: everything read
    assert Answering() in line.events


def test_requests_fail_at_once_while_knocking() -> None:
    line = ready()
    line.wait()
    line.sent()
    line.wait()  # Q unanswered
    line.sent()
    line.wait()  # Y unanswered: holding until the next knock
    ticket = line.session.instcmd("test.battery.start")
    assert line.session.next_deadline() == line.now
    assert line.wait(0) == [Finished(ticket, Verdict.FAILED)]
    assert line.sent() == b""


def test_silent_again_after_knocking_closes_the_session() -> None:
    line = ready()
    line.wait()
    line.sent()
    line.wait()
    line.ask(b"Y", b"SM")
    assert line.sent() == b"Q"
    assert line.wait() == [Closed("no reply to Q")]


# ---- alerts: hints put to Q, and status changes confirmed ------------------------------------


def statuses(events: Iterable[Event]) -> list[str]:
    """Every ups.status the events publish, in order."""
    return [e.values["ups.status"] for e in events
            if isinstance(e, Values) and "ups.status" in e.values]


def on(register: bytes) -> Line:
    """A ready line, idle after a poll that found ``register`` (read twice if a change)."""
    line = ready()
    line.wait()
    events = line.ask(b"Q", register)
    if register != b"08":
        events += line.ask(b"Q", register)
    events += line.exchange((b"L", b"230.0"), (b"f", b"100.0"))
    assert line.session.phase is Phase.IDLE
    assert statuses(events)[-1:] == [" ".join(status_tokens(int(register, 16)))]
    return line


ALERTS = [  # (Q before, alert byte, Q after it, ups.status then)
    (b"08", b"!", b"10", "OB"), (b"10", b"$", b"08", "OL"), (b"10", b"%", b"50", "OB LB"),
    (b"50", b"+", b"10", "OB"), (b"08", b"#", b"88", "OL RB"), (b"08", b"?", b"28", "OL OVER"),
    (b"28", b"=", b"08", "OL"),
    (b"0A", b"!", b"10", "OB"),  # trimming ends on battery
    (b"50", b"$", b"08", "OL"),  # and low battery on line
]


@pytest.mark.parametrize(("before", "alert", "after", "status"), ALERTS)
def test_an_alert_is_put_to_q_at_once_and_published_when_q_bears_it_out(
        before: bytes, alert: bytes, after: bytes, status: str) -> None:
    line = on(before)
    assert line.answer(alert, after=0.002) == [AlertSeen(Alert(alert[0]))]  # nothing on its word
    events = line.ask(b"Q", after)
    assert statuses(events) == [status]
    assert not of(Unconfirmed, events)
    assert line.sent() == b"L"  # one Q was enough: the rest of the poll follows


@pytest.mark.parametrize(("before", "alert"), [
    (b"08", b"!"), (b"08", b"%"), (b"08", b"#"), (b"08", b"?"), (b"10", b"$"),
    (b"28", b"="), (b"50", b"+")])
def test_an_alert_the_q_after_it_does_not_bear_out_publishes_nothing(
        before: bytes, alert: bytes) -> None:
    line = on(before)
    was = " ".join(status_tokens(int(before, 16)))
    line.answer(alert)
    events = line.exchange((b"Q", before), (b"L", b"230.0"), (b"f", b"100.0"))
    assert set(statuses(events)) == {was}
    assert of(Unconfirmed, events) == [Unconfirmed(Alert(alert[0]), int(before, 16))]


def test_a_noise_alert_that_happens_to_be_true_is_true_and_one_that_says_nothing_new_asks_nothing(
        ) -> None:
    line = on(b"10")
    for byte in b"!&|*":  # on battery already; the other three claim no status at all
        assert line.answer(bytes((byte,))) == [AlertSeen(Alert(byte))]
        assert line.sent() == b""
    assert line.session.phase is Phase.IDLE


@pytest.mark.parametrize("reply", [b"1G", b"1", b"108", b"18", b"1A", b"0E", b"14"])
def test_a_garbled_or_impossible_q_after_an_alert_publishes_nothing(reply: bytes) -> None:
    """18 is on line and on battery, 1A and 14 trim and boost on battery, 0E both:
    one noise byte away from 08 or 10, never published."""
    line = on(b"08")
    line.answer(b"!")
    assert line.ask(b"Q", reply) == [Garbled(b"Q", reply)]
    assert not statuses(line.wait()) and not statuses(line.wait())  # resync, soon a poll
    events = line.ask(b"Q", b"10")
    assert statuses(events) == ["OB"]  # the alert, borne out by the next readable Q
    assert not of(Unconfirmed, events)


def test_an_impossible_register_is_never_published_even_twice_and_makes_the_data_stale(
        ) -> None:
    line = on(b"08")
    seen: list[Event] = []
    for _ in range(3):
        line.wait()
        seen += line.ask(b"Q", b"18")
        seen += line.wait()
    assert not statuses(seen) and not of(Answering, seen)
    assert Silent("no readable Q in 3 polls in a row") in seen


def test_an_alert_during_a_poll_is_put_to_q_before_the_next_query() -> None:
    line = on(b"08")
    line.wait()
    line.ask(b"Q", b"08")
    assert line.sent() == b"L"
    # The alert comes before L's reply: that reply is not trusted (the byte might
    # have taken the place of one of its own).
    events = line.answer(b"!230.0\r\n")
    assert events == [AlertSeen(Alert.LINE_FAIL), Doubtful(b"L", b"230.0")]
    assert statuses(line.ask(b"Q", b"10")) == ["OB"]
    assert values(line.ask(b"f", b"100.0")) == {"battery.charge": "100.0"}


@pytest.mark.parametrize("reply", [b"23!0.0", b"23!.0", b"!30.0", b"230.0!"])
def test_a_reply_an_alert_came_into_is_not_published(reply: bytes) -> None:
    """``23!.0`` may be a real alert inside ``23.0`` or noise in place of a digit of
    ``230.0``: both parse, neither is published."""
    line = on(b"08")
    line.wait()
    line.ask(b"Q", b"08")
    events = line.ask(b"L", reply)
    assert Doubtful(b"L", reply.replace(b"!", b"")) in events
    assert "input.voltage" not in values(events)
    assert line.sent() == b"Q"


@pytest.mark.parametrize("pair", [b"!%", b"%!", b"!$", b"$!", b"!#", b"?=", b"%+", b"#?"])
def test_a_pair_of_alerts_on_line_is_one_q_and_nothing_when_q_says_on_line(pair: bytes) -> None:
    line = on(b"08")
    events = line.answer(pair)
    assert events == [AlertSeen(Alert(pair[0])), AlertSeen(Alert(pair[1]))]
    assert line.sent() == b"Q"  # one for both
    events = line.answer(b"08\r\n") + line.exchange((b"L", b"230.0"), (b"f", b"100.0"))
    assert set(statuses(events)) == {"OL"}
    assert line.session.phase is Phase.IDLE


def test_a_power_cut_on_a_low_battery_is_two_alerts_borne_out_by_one_q() -> None:
    line = on(b"08")
    line.answer(b"!%")
    assert statuses(line.ask(b"Q", b"50")) == ["OB LB"]


def test_an_alert_while_q_is_under_way_is_put_to_another_q() -> None:
    """That Q may have been answered before the UPS knew."""
    line = on(b"08")
    line.answer(b"!")
    assert line.sent() == b"Q"
    line.answer(b"%")
    events = line.answer(b"10\r\n")
    assert events == [Doubtful(b"Q", b"10")]
    assert statuses(line.ask(b"Q", b"50")) == ["OB LB"]


def test_an_alert_during_a_request_is_put_to_the_q_of_the_poll_after_it() -> None:
    line = on(b"08")
    ticket = line.session.instcmd("test.battery.start")
    line.wait(0)
    assert line.sent() == b"W"
    events = line.answer(b"OK\r\n!")  # the self-test puts it on battery
    assert Finished(ticket, Verdict.SUCCESS) in events and not statuses(events)
    line.wait()
    assert statuses(line.ask(b"Q", b"10")) == ["OB"]


@pytest.mark.parametrize("reply", [b"0A", b"0C", b"09", b"00"])
def test_a_change_no_alert_announced_is_published_once_the_next_q_repeats_it(
        reply: bytes) -> None:
    line = on(b"08")
    line.wait()
    events = line.ask(b"Q", reply)
    assert set(statuses(events)) == {"OL"}
    events = line.ask(b"Q", reply)
    assert statuses(events) == [" ".join(status_tokens(int(reply, 16)))]
    assert line.sent() == b"L"


@pytest.mark.parametrize("noise", [b"48", b"00", b"88", b"28", b"09", b"0A", b"10", b"50"])
def test_a_q_reading_the_next_one_does_not_repeat_is_not_published(noise: bytes) -> None:
    """What one noise byte in 08 (or two) reads as: on line with a low battery,
    off, replace battery, overload... the second Q says 08, so nothing changes."""
    line = on(b"08")
    line.wait()
    events = line.exchange((b"Q", noise), (b"Q", b"08"), (b"L", b"230.0"), (b"f", b"100.0"))
    assert set(statuses(events)) == {"OL"}
    assert of(Unconfirmed, events) == [Unconfirmed(None, int(noise, 16))]


def test_q_readings_that_keep_changing_are_asked_three_times_then_left_to_the_next_poll(
        ) -> None:
    line = on(b"08")
    line.wait()
    events = line.exchange((b"Q", b"48"), (b"Q", b"88"), (b"Q", b"28"),
                           (b"L", b"230.0"), (b"f", b"100.0"))
    assert set(statuses(events)) == {"OL"} and Answering() in events
    line.wait()
    assert statuses(line.ask(b"Q", b"28")) == ["OL OVER"]  # the last reading, repeated


def test_the_first_status_of_a_session_is_published_when_a_second_q_agrees() -> None:
    line = Line()
    line.exchange((b"Y", b"SM"), (b"V", b"NA"), (b"b", b"NA"), (b"a", CMDSET), *PROBES,
                  (b"\x1a", CAPS))
    assert not statuses(line.ask(b"Q", b"48"))
    assert not statuses(line.ask(b"Q", b"08"))
    assert statuses(line.ask(b"Q", b"08")) == ["OL"]


# A unit with a runtime (j) and a low-battery warning time (q, minutes).
BATTERY_CMDSET = b"3.!$%+?=#|.Qfjq"


def on_battery_with_runtime(runtime: bytes) -> Line:
    line = Line()
    line.exchange((b"Y", b"SM"), (b"V", b"NA"), (b"b", b"NA"), (b"a", BATTERY_CMDSET),
                  (b"f", b"100.0"), (b"j", b"0090:"), (b"q", b"02"))
    events = line.exchange((b"Q", b"10"), (b"Q", b"10"), (b"f", b"030.0"), (b"j", runtime))
    assert statuses(events) == ["OB"] and line.session.phase is Phase.IDLE
    return line


def test_low_battery_after_a_percent_is_borne_out_by_the_runtime_under_its_warning_time(
        ) -> None:
    """For a unit whose Q lags: LB when, on battery, j is at or under q (the UPS's
    own rule), read in the poll the % starts; gone when the mains return."""
    line = on_battery_with_runtime(b"0009:")
    line.answer(b"%")
    events = line.exchange((b"Q", b"10"), (b"f", b"009.0"), (b"j", b"0002:"))
    assert statuses(events) == ["OB", "OB LB"] and not of(Unconfirmed, events)
    line.wait()
    assert statuses(line.exchange((b"Q", b"10"), (b"f", b"008.0"), (b"j", b"0001:"))) == [
        "OB LB"]
    line.answer(b"$")
    assert statuses(line.exchange((b"Q", b"08"), (b"f", b"008.0"), (b"j", b"0001:"))) == [
        "OL"]


def test_a_percent_with_the_runtime_above_its_warning_time_publishes_nothing() -> None:
    line = on_battery_with_runtime(b"0009:")
    line.answer(b"%")
    events = line.exchange((b"Q", b"10"), (b"f", b"029.0"), (b"j", b"0008:"))
    assert set(statuses(events)) == {"OB"}


def test_a_runtime_under_its_warning_time_without_a_percent_is_not_low_battery() -> None:
    line = on_battery_with_runtime(b"0001:")
    line.wait()
    assert set(statuses(line.exchange((b"Q", b"10"), (b"f", b"003.0"), (b"j", b"0001:")))) == {
        "OB"}


# ---- instant commands -----------------------------------------------------------------------


def run(line: Line, submit: Callable[[], int], replies: Replies
        ) -> tuple[Verdict, list[tuple[float, bytes]], tuple[str, ...]]:
    """Bring the session to rest, then carry out a request: its verdict, the bytes it
    sent (times from its first byte), its notes."""
    line.timed(Replies())
    ticket = submit()
    first = line.wait(0)
    log: list[tuple[float, bytes]] = []
    if not of(Finished, first):
        log = line.timed(replies, until_finished=True)
        line.events = first + line.events
    start = log[0][0] if log else line.now
    done = finished(line.events)
    assert done.ticket == ticket
    return done.verdict, [(round(t - start, 3), data) for t, data in log], done.notes


def command(line: Line, name: str, param: str | None = None,
            replies: dict[bytes, bytes | None] | None = None
            ) -> tuple[Verdict, bytes, list[float], tuple[str, ...]]:
    verdict, log, notes = run(line, lambda: line.session.instcmd(name, param),
                              Replies(replies or {}))
    return verdict, b"".join(data for _, data in log), gaps(log), notes


def test_a_simple_command_is_one_byte_answered_ok() -> None:
    assert command(ready(), "test.battery.start", replies={b"W": b"OK"})[:2] == (
        Verdict.SUCCESS, b"W")


def test_a_simple_command_refused_fails() -> None:
    verdict, sent, _, notes = command(ready(), "test.failure.start", replies={b"U": b"NA"})
    assert (verdict, sent, notes) == (Verdict.FAILED, b"U", ("refused or unanswered",))


def test_a_command_this_unit_lacks_is_invalid_and_an_unknown_one_unknown() -> None:
    line = ready()
    assert command(line, "calibrate.start")[:2] == (Verdict.INVALID, b"")
    assert command(line, "beeper.on")[:2] == (Verdict.UNKNOWN, b"")
    assert command(line, "test.battery.start", "now")[:2] == (Verdict.INVALID, b"")


def test_cut_commands_need_the_same_request_again_3_to_15_s_later() -> None:
    line = ready()
    verdict, sent, _, notes = command(line, "shutdown.stayoff")
    assert (verdict, sent) == (Verdict.FAILED, b"")
    assert notes[0].startswith("not sent: NUT's rule")
    line.wait(16)
    assert command(line, "load.off")[:2] == (Verdict.FAILED, b"")  # 16 s: too late
    line.wait(2)
    assert command(line, "load.off")[:2] == (Verdict.FAILED, b"")  # 2 s: too soon
    line.wait(5)
    assert command(line, "load.off")[0] is Verdict.SUCCESS


def confirmed(line: Line) -> Line:
    """A line on which a power-cutting command was asked for two polls (4 s) ago."""
    command(line, "shutdown.return")
    for _ in range(2):
        line.timed(Replies())
        line.wait()
    line.timed(Replies())
    return line


def test_shutdown_stayoff_presses_k_twice_1_5_s_apart() -> None:
    verdict, sent, times, _ = command(confirmed(ready()), "shutdown.stayoff",
                                      replies={b"K": None})
    assert (verdict, sent, times) == (Verdict.FAILED, b"KK", [1.5])  # no OK after the 2nd


def first_k() -> tuple[Line, int]:
    """A confirmed shutdown.stayoff, its first K just sent: the line and its ticket."""
    line = confirmed(ready())
    ticket = line.session.instcmd("shutdown.stayoff")
    line.wait(0)
    assert line.sent() == b"K"
    return line, ticket


def test_shutdown_stayoff_confirmed_by_ok() -> None:
    line, ticket = first_k()
    line.wait()
    assert line.session.next_deadline() == pytest.approx(line.now + 1.3)
    line.wait()
    assert line.sent() == b"K"
    assert finished(line.answer(b"OK\r\n")) == Finished(ticket, Verdict.SUCCESS)


def test_a_reply_in_the_peek_window_aborts_the_double_press() -> None:
    line, ticket = first_k()
    events = line.answer(b"NA\r\n", after=0.1)
    assert finished(events) == Finished(ticket, Verdict.FAILED, ("refused or unanswered",))


def test_load_off_takes_silence_after_the_second_z_as_done() -> None:
    assert command(confirmed(ready()), "load.off", replies={b"Z": None})[:3] == (
        Verdict.SUCCESS, b"ZZ", [1.5])


def test_shutdown_return_confirmed_by_a_bare_star() -> None:
    line = confirmed(ready())
    ticket = line.session.instcmd("shutdown.return")
    line.wait(0)
    assert line.sent() == b"S"
    assert finished(line.answer(b"*")) == Finished(ticket, Verdict.SUCCESS)


def test_shutdown_return_at_sends_three_digits_paced() -> None:
    assert command(confirmed(ready()), "shutdown.return", "at:3",
                   replies={b"@003": b"OK"})[:3] == (
        Verdict.SUCCESS, b"@003", [0.2, 0.05, 0.05])


def test_shutdown_return_at_two_digits_refused_is_reset_with_y() -> None:
    verdict, sent, times, _ = command(confirmed(ready()), "shutdown.return", "at:12",
                                      replies={b"Y": b"SM"})
    assert (verdict, sent, times) == (Verdict.FAILED, b"@12Y", [0.2, 0.05, 1.5])


def test_shutdown_return_cs_on_line_simulates_a_failure_first() -> None:
    verdict, sent, times, _ = command(confirmed(ready()), "shutdown.return", "cs",
                                      replies={b"U": b"OK", b"S": b"OK"})
    assert (verdict, sent) == (Verdict.SUCCESS, b"QUS")
    assert times == [REPLY, 3.5 + REPLY]


def test_calibration_reads_q_first_and_sends_d_only_if_it_changes_something() -> None:
    line = Line()
    line.exchange((b"Y", b"SM"), (b"V", b"NA"), (b"b", b"NA"), (b"a", b"3.!.DQ"))
    line.timed(Replies({b"Q": b"08"}))
    assert command(line, "calibrate.stop")[:2] == (Verdict.SUCCESS, b"Q")
    assert command(line, "calibrate.start", replies={b"D": b"OK"})[:2] == (
        Verdict.SUCCESS, b"QD")
    assert command(line, "calibrate.start", replies={b"Q": b"0G"})[:2] == (
        Verdict.FAILED, b"Q")


def test_load_on_presses_twice_and_reads_nothing() -> None:
    line = Line()
    line.exchange((b"Y", b"SM"), (b"V", b"NA"), (b"b", b"NA"), (b"a", b"3.!.\x0eQ"))
    line.timed(Replies({b"Q": b"08"}))
    assert command(line, "load.on")[:3] == (Verdict.SUCCESS, b"\x0e\x0e", [1.5])


# ---- writes ---------------------------------------------------------------------------------


def setvar(line: Line, name: str, value: str, replies: Replies
           ) -> tuple[Verdict, bytes, list[float], list[Event]]:
    verdict, log, _ = run(line, lambda: line.session.set_variable(name, value), replies)
    return verdict, b"".join(data for _, data in log), gaps(log), line.events


class Eeprom(Replies):
    """``u`` answers from a list of values, moving on at every ``-`` answered OK."""

    def __init__(self, values: list[bytes], minus: bytes = b"OK") -> None:
        super().__init__({b"-": minus})
        self.choices = values

    def answer(self, sent: bytes) -> bytes | None:
        if sent.endswith(b"u"):
            return self.choices[0]
        if sent.endswith(b"-") and self[b"-"] == b"OK":
            self.choices.append(self.choices.pop(0))
        return super().answer(sent)


def test_an_enum_is_stepped_with_minus_until_it_reads_the_value() -> None:
    verdict, sent, _, events = setvar(ready(), "input.transfer.high", "261",
                                      Eeprom([b"253", b"257", b"261", b"265"]))
    assert (verdict, sent) == (Verdict.SUCCESS, b"u-u-u")
    assert Values({"input.transfer.high": "261"}) in events


def test_an_enum_once_round_its_caps_list_gives_up() -> None:
    verdict, sent, _, events = setvar(ready(), "input.transfer.high", "300",
                                      Eeprom([b"253", b"257", b"261", b"265"]))
    assert (verdict, sent) == (Verdict.FAILED, b"u-u-u-u-u")  # four entries, four steps
    assert Values({"input.transfer.high": "253"}) in events


def test_an_enum_whose_minus_is_refused_gives_up() -> None:
    verdict, sent, _, events = setvar(ready(), "input.transfer.high", "261",
                                      Eeprom([b"253", b"257"], minus=b"NO"))
    assert (verdict, sent) == (Verdict.FAILED, b"u-")
    assert Values({"input.transfer.high": "253"}) in events  # what it read stands


def test_a_string_is_written_as_minus_and_eight_cr_padded_bytes() -> None:
    line = ready()
    ticket = line.session.set_variable("ups.id", "rack7")
    line.wait(0)
    answers = {0: b"UPS_IDEN", 9: b"OK", 10: b"rack7"}  # by the byte's place in the exchange
    log: list[tuple[float, bytes]] = []
    while not of(Finished, line.events):
        out = line.sent()
        if out:
            log.append((line.now, out))
            if len(log) - 1 in answers:
                line.answer(answers[len(log) - 1] + b"\r\n")
                continue
        line.wait()
    assert b"".join(data for _, data in log) == b"c-rack7\r\r\rc"
    assert gaps(log)[1:3] == [0.2, 0.05]
    assert finished(line.events) == Finished(ticket, Verdict.SUCCESS)
    assert Values({"ups.id": "rack7"}) in line.events


def test_a_string_too_long_is_invalid_after_reading_the_current_one() -> None:
    assert setvar(ready(), "ups.id", "123456789", Replies({b"c": b"UPS_IDEN"}))[:2] == (
        Verdict.INVALID, b"c")


def test_writing_the_current_value_writes_nothing() -> None:
    assert setvar(ready(), "input.transfer.high", "253", Replies({b"u": b"253"}))[:2] == (
        Verdict.SUCCESS, b"u")


def test_a_variable_that_is_not_writable_is_unknown() -> None:
    line = ready()
    assert setvar(line, "battery.charge", "50", Replies())[:2] == (Verdict.UNKNOWN, b"")
    assert setvar(line, "no.such.thing", "1", Replies())[:2] == (Verdict.UNKNOWN, b"")


# ---- killpower --------------------------------------------------------------------------------

KILLPOWER = [  # (ups.conf options, Q, the UPS's answers, bytes sent)
    ({}, b"08", {b"@000": b"OK"}, b"Q@000"),
    ({}, b"10", {b"S": b"OK"}, b"QS"),
    ({"sdtype": "0"}, b"10", {b"S": b"OK"}, b"QS"),
    ({"sdtype": "1"}, b"08", {b"@000": b"OK"}, b"Q@000"),
    ({"sdtype": "1"}, b"10", {b"S": b"OK"}, b"QS"),
    ({"sdtype": "1"}, b"10", {b"S": b"NA", b"@000": b"OK"}, b"QS@000"),
    ({"sdtype": "2"}, b"08", {b"Z": None}, b"QZZ"),
    ({"sdtype": "3"}, b"10", {b"KK": b"OK"}, b"QKK"),
    ({"sdtype": "4"}, b"08", {b"U": b"OK", b"S": b"OK"}, b"QUS"),
    ({"sdtype": "4"}, b"10", {b"S": b"OK"}, b"QS"),
    ({"sdtype": "5", "awd": "12"}, b"10", {b"@12": b"OK"}, b"Q@12"),
    ({"advorder": "20"}, b"10", {b"K": None, b"S": b"OK"}, b"QKKS"),
    ({"advorder": "3"}, b"08", {b"Z": None}, b"QZZ"),
    ({"advorder": "N", "sdtype": "3"}, b"10", {b"KK": b"OK"}, b"QKK"),
]


@pytest.mark.parametrize(("options", "register", "replies", "wire"), KILLPOWER)
def test_killpower_follows_sdtype_and_advorder(options: dict[str, str], register: bytes,
                                               replies: dict[bytes, bytes | None],
                                               wire: bytes) -> None:
    line = ready(**options)
    verdict, log, notes = run(line, line.session.killpower,
                              Replies({b"Q": register, **replies}))
    assert (verdict, b"".join(data for _, data in log)) == (Verdict.SUCCESS, wire)
    assert notes[-1].endswith("confirmed; output off after its 20 s shutdown delay, "
                              + ("staying off until switched on" if wire[-1:] in b"KZ"
                                 else "back on when the mains return"))


def test_killpower_names_each_refusal() -> None:
    line = ready(advorder="01")
    verdict, _, notes = run(line, line.session.killpower,
                            Replies({b"S": b"NA", b"@000": b"OK"}))
    assert verdict is Verdict.SUCCESS
    assert notes == ("on line: soft hibernate (S) refused or unanswered",
                     "on line: hard hibernate (@000) confirmed; output off after its 20 s "
                     "shutdown delay, back on when the mains return")


def test_killpower_with_an_unreadable_status_assumes_on_battery() -> None:
    line = ready(sdtype="1")
    verdict, log, notes = run(line, line.session.killpower, Replies({b"Q": b"0G"}))
    assert verdict is Verdict.FAILED
    assert notes[0] == "status unreadable: assuming on battery and low, as NUT does"
    assert b"".join(data for _, data in log).startswith(b"QS")


@pytest.mark.parametrize("options", [{"sdtype": "9"}, {"advorder": "15"}, {"awd": "1234"}])
def test_unusable_shutdown_options_are_refused(options: dict[str, str]) -> None:
    with pytest.raises(ValueError):
        Session(interval=INTERVAL, **options)


# ---- the end of the line ----------------------------------------------------------------------


def test_end_of_stream_fails_the_request_under_way_and_those_queued() -> None:
    line = ready()
    first = line.session.instcmd("test.battery.start")
    second = line.session.instcmd("test.battery.start")
    line.wait(0)
    assert line.sent() == b"W"
    events = line.answer(b"")
    assert events == [Finished(first, Verdict.FAILED), Finished(second, Verdict.FAILED),
                      Closed("end of file on the port")]
    assert line.session.phase is Phase.CLOSED


def test_a_closed_session_fails_new_requests_and_ignores_bytes() -> None:
    line = Line()
    line.answer(b"")
    ticket = line.session.instcmd("test.battery.start")
    assert line.answer(b"SM\r\n") == [Finished(ticket, Verdict.FAILED)]
    assert line.sent() == b"" and line.session.next_deadline() is None


def test_goodbye_is_r() -> None:
    assert Line().session.goodbye() == b"R"


# ---- dual-byte queries, old units, phases and tickets --------------------------------

# The small unit with F and the fourth section of ``a``: 9F D3 (frequency), 9F D4.
DUAL_CMDSET = b"3.!$%+?=#|.KLQSUWZcfpuF.\x9f:\xd3\xd4"
DUAL_POLL = {b"Q": b"08", b"L": b"230.0", b"F": b"50.00", b"f": b"100.0",
             b"\x9f\xd3": b"50.0", b"\x9f\xd4": b"01.3"}


def dual_unit() -> tuple[Line, list[Event]]:
    line = Line()
    events = line.exchange((b"Y", b"SM"), (b"V", b"NA"), (b"b", b"NA"), (b"a", DUAL_CMDSET),
                           (b"\x9f\xd3", b"50.0"), (b"\x9f\xd4", b"01.2"), *PROBES[:-1],
                           (b"u", b"253"), (b"F", b"50.00"))
    return line, events


def poll_once(line: Line, answers: dict[bytes, bytes]) -> tuple[bytes, list[Event]]:
    """One whole poll (the next, if none is under way): the bytes sent, the events."""
    query = line.sent()
    if not query:
        line.wait()
        query = line.sent()
    sent, events = b"", []
    while query:
        sent += query
        events += line.answer(answers[query] + b"\r\n")
        query = line.sent()
    return sent, events


def test_dual_byte_queries_are_probed_first_and_rename_f_output_frequency() -> None:
    _, events = dual_unit()
    assert values(events) == {
        "input.frequency": "50.0", "battery.current": "01.2", "input.voltage": "230.0",
        "ups.id": "UPS_IDEN", "battery.charge": "100.0", "ups.delay.shutdown": "020",
        "input.transfer.high": "253", "output.frequency": "50.00", "ups.mfr": "APC"}
    assert events[-1] == Discovered("NA", 6, 6)  # NUT counts the one-byte queries


def test_dual_byte_queries_are_polled_last_and_na_drops_one_for_good() -> None:
    line, _ = dual_unit()
    sent, events = poll_once(line, DUAL_POLL)
    assert sent == b"QQLFf\x9f\xd3\x9f\xd4"  # the first Q read twice
    assert values(events) == {"ups.status": "OL", "input.voltage": "230.0",
                              "output.frequency": "50.00", "battery.charge": "100.0",
                              "input.frequency": "50.0", "battery.current": "01.3"}
    sent, events = poll_once(line, {**DUAL_POLL, b"\x9f\xd3": b"NA"})
    assert Deleted(("input.frequency",)) in events
    assert "input.frequency" not in line.session.values
    assert line.session.values["battery.current"] == "01.3"
    sent, events = poll_once(line, DUAL_POLL)
    assert sent == b"QLf\x9f\xd4"  # 9F D3 is not asked again (nor F, a slow one, till the fifth)
    assert of(Garbled, poll_once(line, {**DUAL_POLL, b"\x9f\xd4": b"x"})[1]) == [
        Garbled(b"\x9f\xd4", b"x")]


def test_without_a_a_unit_answering_no_output_current_is_named_smart_ups() -> None:
    line = Line()
    line.exchange((b"Y", b"SM"), (b"V", b"NA"), (b"b", b"NA"), (b"a", b"NA"))
    line.timed(Replies({b"C": b"032.8", b"L": b"230.0", b"Q": b"08", b"Y": b"SM"}))
    assert values(line.events)["ups.model"] == "Smart-UPS"


def phase(line: Line) -> Phase:
    return line.session.phase


def test_the_phases_a_session_goes_through() -> None:
    line = Line()
    assert phase(line) is Phase.CONNECTING
    line.exchange((b"Y", b"SM"))
    assert phase(line) is Phase.DISCOVERING
    line.exchange((b"V", b"NA"), (b"b", b"NA"), (b"a", CMDSET), *PROBES, (b"\x1a", CAPS))
    assert phase(line) is Phase.POLLING
    line.exchange((b"Q", b"08"), (b"Q", b"08"), (b"L", b"230.0"), (b"f", b"100.0"))
    assert phase(line) is Phase.IDLE
    line.session.instcmd("test.battery.start")
    line.wait(0)
    assert line.sent() == b"W" and phase(line) is Phase.BUSY
    line.answer(b"OK\r\n")
    line.wait()
    assert line.sent() == b"Q"
    line.wait()  # Q unanswered
    assert phase(line) is Phase.KNOCKING


def test_every_request_has_its_own_ticket_counting_from_1() -> None:
    line = ready()
    tickets = [line.session.instcmd("test.battery.start"),
               line.session.set_variable("ups.id", "RACK1"),
               line.session.instcmd("test.battery.stop")]
    assert tickets == [1, 2, 3]
    line.wait(0)
    events = line.answer(b"")
    assert [e.ticket for e in events if isinstance(e, Finished)] == tickets


def test_a_cut_command_refused_by_nut_s_rule_says_so_in_full() -> None:
    notes = command(ready(), "shutdown.stayoff")[3]
    assert notes == ("not sent: NUT's rule wants the same request again "
                     "3 to 15 s later to confirm it",)


def test_killpower_on_battery_with_no_known_delay_says_so() -> None:
    line = Line()
    line.exchange((b"Y", b"SM"), (b"V", b"NA"), (b"b", b"NA"), (b"a", b"3.!$%+?=#|.KLQSUWZcfu"),
                  (b"L", b"230.0"), (b"c", b"UPS_IDEN"), (b"f", b"100.0"), (b"u", b"253"))
    line.exchange((b"Q", b"08"), (b"Q", b"08"), (b"L", b"230.0"), (b"f", b"100.0"))
    verdict, log, notes = run(line, line.session.killpower,
                              Replies({b"Q": b"10", b"S": b"OK"}))
    assert (verdict, b"".join(data for _, data in log)) == (Verdict.SUCCESS, b"QS")
    assert notes == ("on battery: soft hibernate (S) confirmed; output off after its "
                     "delay, back on when the mains return",)


def test_the_byte_counters_count_from_0() -> None:
    line = Line()
    assert (line.session.bytes_sent, line.session.bytes_received) == (1, 0)  # Y
    line.ask(b"Y", b"SM")
    assert (line.session.bytes_sent, line.session.bytes_received) == (2, 4)  # Y V, SM CR LF


def test_an_alert_before_the_first_q_is_seen_and_serves_nothing() -> None:
    line = Line()
    line.ask(b"Y", b"SM")
    assert line.sent() == b"V"
    assert line.answer(b"!") == [AlertSeen(Alert.LINE_FAIL)]  # only a Q may bear it out


def test_killpower_s_two_digit_hibernate_unanswered_is_reset_with_y() -> None:
    line = ready(sdtype="5", awd="12")
    verdict, log, notes = run(line, line.session.killpower,
                              Replies({b"Q": b"10", b"Y": b"SM"}))
    assert (verdict, b"".join(data for _, data in log)) == (Verdict.FAILED, b"Q@12Y")
    assert notes == ("on battery: hard hibernate (@12) refused or unanswered",)


def test_a_discovery_probe_is_given_up_after_1_5_s_of_y() -> None:
    line = Line()
    line.exchange((b"Y", b"SM"), (b"V", b"NA"), (b"b", b"NA"), (b"a", CMDSET))
    assert line.sent() == b"L"
    line.wait()
    assert line.now == pytest.approx(3.04) and line.sent() == b"Y"  # L's 3 s
    assert line.wait() == [Closed("no reply to b'L' during discovery")]
    assert line.now == pytest.approx(4.54)  # Y's 1.5 s


def test_an_unanswered_text_probe_publishes_nothing() -> None:
    line = Line()
    line.exchange((b"Y", b"SM"), (b"V", b"NA"), (b"b", b"NA"), (b"a", CMDSET), PROBES[0])
    assert line.sent() == b"c"
    line.wait()
    line.ask(b"Y", b"SM")
    events = line.exchange(*PROBES[2:], (b"\x1a", CAPS))
    assert "ups.id" not in values(events)
    assert of(Settable, events) == [  # the caps' only: no ups.id string
        Settable("input.transfer.high", "253", enums=("253", "257", "261", "265"))]


# ---- the poll plan on a literal timeline, requests and alerts in the middle of a poll ---------


def test_a_request_queued_during_a_poll_is_sent_right_after_the_poll_s_last_reply() -> None:
    line = ready()
    line.wait()
    ticket = line.session.instcmd("test.battery.start")
    line.exchange((b"Q", b"08"), (b"L", b"230.0"))
    line.ask(b"f", b"100.0")
    assert line.sent() == b"W"  # in the same call: no wait for a deadline
    assert finished(line.answer(b"OK\r\n")) == Finished(ticket, Verdict.SUCCESS)


def test_an_ok_sent_between_the_two_presses_is_read_as_the_second_press_s_answer() -> None:
    """As NUT's apc_write_rep: nothing is flushed between the presses."""
    line, ticket = first_k()
    line.wait()  # the first press's 0.2 s without a reply
    assert line.answer(b"OK\r\n", after=0.5) == []
    events = line.wait()
    assert line.sent() == b"K"
    assert finished(events) == Finished(ticket, Verdict.SUCCESS)


def test_a_star_while_a_reply_is_awaited_is_an_alert_not_the_reply() -> None:
    line = ready()
    line.wait()
    assert line.sent() == b"Q"
    assert line.answer(b"*") == [AlertSeen(Alert.TURNING_OFF)]
    assert line.sent() == b""


def test_the_alert_characters_in_the_a_reply_are_no_alerts() -> None:
    line = Line()
    events = line.exchange((b"Y", b"SM"), (b"V", b"NA"), (b"b", b"NA"), (b"a", CMDSET))
    assert not of(AlertSeen, events)
    assert line.sent() == b"L"


def test_a_unit_that_names_no_firmware_is_discovered_with_an_empty_one() -> None:
    line = Line()
    line.ask(b"Y", b"SM")
    assert line.sent() == b"V"
    line.wait()
    assert line.sent() == b"b"
    line.wait()
    events = line.exchange((b"a", CMDSET), *PROBES, (b"\x1a", CAPS))
    assert events[-1] == Discovered("", 5, 6)


def test_caps_of_a_locale_x_are_ignored_without_a_firmware() -> None:
    line = Line()
    line.exchange((b"Y", b"SM"), (b"V", b"NA"), (b"b", b"NA"), (b"a", CMDSET), *PROBES)
    assert not of(Settable, line.ask(b"\x1a", b"#uX43127130133136"))


@pytest.mark.parametrize(("firmware", "usable"), [("451.2.I", True), ("60.11.I", False)])
def test_a_caps_string_running_past_its_end_is_used_only_from_the_quirky_firmware(
        firmware: str, usable: bool) -> None:
    line = Line()
    line.exchange((b"Y", b"SM"), (b"V", b"NA"), (b"b", firmware.encode()), (b"a", CMDSET),
                  *PROBES)
    events = line.ask(b"\x1a", CAPS + b"uI4")  # an entry cut off in its header
    settable = [Settable("input.transfer.high", "253", enums=("253", "257", "261", "265"))]
    assert of(Settable, events) == (settable if usable else [])
    assert bool(of(UnusableCaps, events)) != usable


def test_two_caps_entries_for_one_query_make_one_round_of_both() -> None:
    line = polled(discover(Line(), caps=CAPS + b"u423270275"))
    verdict, sent, _, _ = setvar(line, "input.transfer.high", "300",
                                 Eeprom([b"253", b"257", b"261", b"265", b"270", b"275"]))
    assert (verdict, sent) == (Verdict.FAILED, b"u" + b"-u" * 6)


def test_garbled_qs_from_the_first_poll_on_make_the_data_stale_on_the_third() -> None:
    """Each garbled poll is followed by the next 0.25 s after its resync."""
    line = discover(Line())
    for poll in range(3):
        assert line.ask(b"Q", b"0G") == [Garbled(b"Q", b"0G")]
        line.wait()  # the resync pause
        assert (Silent("no readable Q in 3 polls in a row") in line.events) == (poll == 2)
        assert line.session.next_deadline() == pytest.approx(line.now + 0.25)
        line.wait()


def instant(session: Session, now: float, replies: Replies, until: float
            ) -> list[tuple[float, bytes]]:
    """Every byte the session sends up to ``until`` and when, each answered at once."""
    log: list[tuple[float, bytes]] = []
    for _ in range(100_000):
        out = session.data_to_send()
        if out:
            log.append((now, out))
            reply = replies.answer(out)
            if reply is not None:
                session.receive_data(reply + b"\r\n", now)
                continue
        deadline = session.next_deadline()
        assert deadline is not None
        if deadline > until:
            return log
        now = deadline
        session.handle_timeout(now)
    raise AssertionError("the session never went past the time asked for")


def test_the_hourly_scan_comes_3600_s_after_the_last_one_to_the_poll() -> None:
    """Polls every 2 s from 1000.0 s, answered at once: c (read by no poll) is read
    in discovery, then in the polls at 4600.0 s and 8200.0 s."""
    session = Session(interval=INTERVAL)
    session.start(1000.0)
    replies = Replies({b"Y": b"SM", b"V": b"NA", b"b": b"NA", b"a": CMDSET,
                       **dict(PROBES), b"\x1a": CAPS})
    log = instant(session, 1000.0, replies, until=8204.0)
    assert [when for when, data in log if data == b"c"] == [1000.0, 4600.0, 8200.0]
    assert sum(data == b"Q" for _, data in log) == 2 + 3602  # discovery's poll reads Q twice


def at_l() -> Line:
    """A ready line in its next poll: Q read, L just sent."""
    line = ready()
    line.wait()
    line.ask(b"Q", b"08")
    assert line.sent() == b"L"
    return line


def test_three_doubtful_qs_end_the_poll_and_the_alert_in_the_last_starts_another() -> None:
    line = ready()
    line.answer(b"!")
    for _ in range(3):
        assert line.sent() == b"Q"
        events = line.answer(b"0!8\r\n")
        assert events[:2] == [AlertSeen(Alert.LINE_FAIL), Doubtful(b"Q", b"08")]
    assert of(Polled, events)  # that poll is over, without a status: no L
    assert line.sent() == b"Q"  # and the alert in its last reply starts the next at once


def test_three_doubtful_qs_in_the_middle_of_a_poll_leave_the_poll_going() -> None:
    line = at_l()
    line.answer(b"230.0\r\n!")
    for _ in range(3):
        assert line.sent() == b"Q"
        line.answer(b"0!8\r\n")
    assert line.sent() == b"f"


def test_an_alert_in_the_resync_after_a_garbled_reply_still_makes_the_next_poll_soon() -> None:
    line = ready()
    line.wait()
    line.exchange((b"Q", b"08"), (b"L", b"23x.0"))
    line.answer(b"!", after=0.1)
    line.wait()  # the resync pause: then the alert is put to Q
    line.exchange((b"Q", b"08"), (b"f", b"100.0"))
    assert line.session.next_deadline() == pytest.approx(line.now + 0.25)


def test_a_garbled_q_after_an_alert_in_a_poll_makes_the_next_poll_soon() -> None:
    line = at_l()
    line.answer(b"230.0\r\n!")
    line.ask(b"Q", b"0G")
    line.wait()  # the resync pause
    line.ask(b"f", b"100.0")
    assert line.session.next_deadline() == pytest.approx(line.now + 0.25)


def test_an_alert_just_after_the_q_reply_is_seen_along_with_the_reading() -> None:
    line = ready()
    line.answer(b"!")
    assert line.sent() == b"Q"
    events = line.answer(b"08\r\n%")
    assert AlertSeen(Alert.LOW_BATTERY) in events
    assert Unconfirmed(Alert.LINE_FAIL, 0x08) in events


def test_an_unanswered_polled_query_says_which_and_knocks() -> None:
    line = at_l()
    assert Silent("no reply to b'L'") in line.wait()
    assert line.sent() == b"Y"


def test_after_na_to_a_polled_query_the_next_poll_is_a_full_interval_later() -> None:
    line = ready()
    line.wait()
    line.exchange((b"Q", b"08"), (b"L", b"NA"), (b"f", b"100.0"))
    assert line.session.next_deadline() == pytest.approx(line.now + INTERVAL)


def test_a_reply_longer_than_nut_s_buffer_is_garbled() -> None:
    line = at_l()
    assert line.answer(b"2" * 600 + b"\r\n") == [Garbled(b"L", b"\x00")]


@pytest.mark.parametrize("reply", [None, b"NA"])
def test_a_write_whose_first_read_fails_writes_nothing(reply: bytes | None) -> None:
    verdict, sent, _, _ = setvar(ready(), "ups.id", "NEWNAME", Replies({b"c": reply}))
    assert (verdict, sent) == (Verdict.FAILED, b"c")


def test_the_poll_after_a_request_reads_everything_nut_polls() -> None:
    ups = SmartUps.from_dev((FIXTURES / "smart-ups-1500.dev").read_bytes())
    tickets: list[int] = []

    def request(session: Session, poll: int) -> None:
        if poll == 1 and not tickets:
            tickets.append(session.instcmd("test.panel.start"))

    polls = _polls_of_a_real_unit(ups, 7, request)
    everything = b"QCPXLF9GMNOfBj"
    fast = b"QPLOfj"
    assert polls[1].endswith(everything)  # the request's bytes, then everything
    assert polls[2:] == [fast] * 4 + [everything]


def test_a_timeout_handled_before_the_deadline_sends_nothing() -> None:
    line = ready()
    assert line.wait(0.5) == [] and line.sent() == b""  # the poll is due 2 s after the last
    line.wait()
    assert line.sent() == b"Q"


def test_a_q_reply_cut_short_is_garbled_not_doubtful() -> None:
    line = ready()
    line.wait()
    assert line.sent() == b"Q"
    line.answer(b"0")
    assert line.wait() == [Garbled(b"Q", b"\x00")]
    assert line.sent() == b""  # the resync pause, not another Q
