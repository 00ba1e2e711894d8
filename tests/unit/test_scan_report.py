"""What ``nutpy scan`` prints: ups.conf sections that parse back, and verdicts a user can act on."""

from __future__ import annotations

import io

from nutpy.config import parse_ups_conf
from nutpy.protocols.identify import Identity, NoUps, Unreadable
from nutpy.scan import Port, PortResult, render
from nutpy.scan.holders import Holder
from nutpy.scan.report import NOTHING_ANSWERS, Found, heard_line, quote, section, section_name
from nutpy.scan.tty import Busy

SMART = Identity("apcsmart", "APC Smart", 2400, "Smart-UPS 1500", "AS0537230534(", "601.3.I")
SMT = Identity("apcmicrolink", "APC Microlink", 9600, "Smart-UPS 1500", "AS2101123456",
               "UPS 15.0", "SMT1500I")


def parsed(text: str) -> dict[str, tuple[str, str, str | None]]:
    conf, problems = parse_ups_conf(text.encode(), "ups.conf")
    assert problems == []
    return {u.name: (u.driver, u.port, u.desc) for u in conf.ups}


def test_a_section_parses_back_to_what_was_found() -> None:
    by_id = "/dev/serial/by-id/usb-FTDI_FT232R_USB_UART_A10K5Z3X-if00-port0"
    found = Found(SMART, by_id, "/dev/ttyUSB0", "smart-ups-1500")
    text = section(found)
    assert text.startswith("# Smart-UPS 1500, serial AS0537230534(: firmware 601.3.I, "
                           "APC Smart at 2400 baud, on /dev/ttyUSB0\n")
    assert parsed(text) == {"smart-ups-1500": ("apcsmart", by_id,
                                               "Smart-UPS 1500, serial AS0537230534(")}


def test_awkward_values_are_quoted_so_they_read_back_unchanged() -> None:
    for value in ['Back-UPS "Pro" 650', "C:\\ups #2", "a=b", "/dev/my port"]:
        text = f"[u]\ndriver = apcsmart\nport = {quote(value)}\ndesc = {quote(value)}\n"
        conf, problems = parse_ups_conf(text.encode(), "ups.conf")
        assert problems == [], value
        assert (conf.ups[0].port, conf.ups[0].desc) == (value, value)
    assert quote("/dev/ttyS0") == "/dev/ttyS0"


def test_names_come_from_the_part_number_or_model_and_never_repeat() -> None:
    taken: set[str] = set()
    assert section_name(SMT, taken) == "smt1500i"
    assert section_name(SMART, taken) == "smart-ups-1500"
    assert section_name(SMART, taken) == "smart-ups-1500-2"
    blank = Identity("apcsmart", "APC Smart", 2400)
    assert section_name(blank, taken) == "apc-ups"


def test_render_writes_sections_to_stdout_and_a_verdict_per_port_to_stderr() -> None:
    results = [
        PortResult(Port("/dev/ttyUSB0", None, "/dev/serial/by-id/usb-x"), identity=SMART),
        PortResult(Port("/dev/ttyUSB1"), identity=SMT),
        PortResult(Port("/dev/ttyS1"), misses=[NoUps("APC Smart", 2400, b"YYY", b"")]),
        PortResult(Port("/dev/ttyUSB2"), busy=Busy([Holder("lock file /run/lock/LCK..ttyUSB2",
                                                           812, "apcupsd")])),
        PortResult(Port("/dev/ttyUSB3"), unreadable=Unreadable("APC Microlink", 9600,
                                                               "its descriptor is cut short")),
    ]
    out, err = io.StringIO(), io.StringIO()
    assert render(results, out, err) == 0
    assert parsed(out.getvalue()) == {
        "smart-ups-1500": ("apcsmart", "/dev/serial/by-id/usb-x",
                           "Smart-UPS 1500, serial AS0537230534("),
        "smt1500i": ("apcmicrolink", "/dev/ttyUSB1",
                     "Smart-UPS 1500 (SMT1500I), serial AS2101123456"),
    }
    lines = err.getvalue().splitlines()
    assert lines[0] == ("/dev/ttyUSB0: APC Smart UPS at 2400 baud: Smart-UPS 1500, serial "
                        "AS0537230534(, firmware 601.3.I -> [smart-ups-1500]")
    assert lines[2] == f"/dev/ttyS1: {NOTHING_ANSWERS}"
    assert lines[3].startswith("/dev/ttyUSB2: in use by PID 812 (apcupsd), by lock file "
                               "/run/lock/LCK..ttyUSB2: not probed.")
    assert "answers in APC Microlink at 9600 baud, but its descriptor is cut short" in lines[4]


def test_nothing_found_is_exit_1_with_empty_stdout() -> None:
    out, err = io.StringIO(), io.StringIO()
    assert render([PortResult(Port("/dev/ttyS0"), problem="no such device")], out, err) == 1
    assert out.getvalue() == ""
    assert err.getvalue() == "/dev/ttyS0: no such device\n"


def test_silence_echo_and_chatter_are_told_apart() -> None:
    silent = [NoUps("APC Microlink", 9600, b"\xfd" * 3, b""), NoUps("APC Smart", 2400, b"YYY", b"")]
    assert heard_line(silent) == NOTHING_ANSWERS
    assert "940-0024" in NOTHING_ANSWERS and "null-modem" in NOTHING_ANSWERS
    assert "ser2net" in heard_line(silent, tcp=True)
    echo = [NoUps("APC Microlink", 9600, b"\xfd" * 3, b"\xfd" * 3),
            NoUps("APC Smart", 2400, b"YYY", b"YYY")]
    assert heard_line(echo).startswith("answers, but only echoes back what it is sent")
    chatter = [NoUps("APC Smart", 2400, b"YYY", b"login: ")]
    assert heard_line(chatter) == (
        'something talks, but neither APC Smart nor Microlink (at 2400 baud "login: "): another '
        "device (a modem, a console, another make of UPS), or a UPS set to another speed")
    binary = [NoUps("APC Microlink", 9600, b"\xfd", bytes(range(0x80, 0x84)))]
    assert "at 9600 baud 80 81 82 83" in heard_line(binary)
