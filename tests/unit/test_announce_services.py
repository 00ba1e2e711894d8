"""What nutpy announces on the LAN, decided from the config and the UPS list."""

from __future__ import annotations

from nutpy.config import Listen
from nutpy.frontends.announce.services import (
    HTTP_TYPE,
    NUT_TYPE,
    TXT_MAX,
    UPSD_TYPE,
    Service,
    device_list,
    lan_addresses,
    plan,
    wanted,
)

HOST = ["127.0.0.1", "192.0.2.1", "198.51.100.7", "::1", "fe80::1%eth0", "2001:db8::5"]
NUT_TXT = (("txtvers", "1"), ("protovers", "1.3"), ("device_list", "demo;smt"))


def test_loopback_listeners_are_never_announced() -> None:
    assert plan([Listen("127.0.0.1"), Listen("::1"), Listen("localhost")], [Listen("::1")],
                "vm", ["demo"], HOST, {"localhost": ["127.0.0.1", "::1"]}) == []


def test_a_specific_address_is_announced_alone_with_the_nut_txt_record() -> None:
    assert plan([Listen("127.0.0.1"), Listen("192.0.2.1", 3493)], [], "vm", ["demo", "smt"],
                HOST) == [
        Service(NUT_TYPE, "vm", 3493, ("192.0.2.1",), NUT_TXT),
        Service(UPSD_TYPE, "vm", 3493, ("192.0.2.1",), NUT_TXT),
    ]


def test_wildcards_take_the_machines_lan_addresses_of_their_family() -> None:
    [nut, _] = plan([Listen("0.0.0.0")], [], "vm", [], HOST)
    assert nut.addresses == ("192.0.2.1", "198.51.100.7")
    [nut, _] = plan([Listen("::")], [], "vm", [], HOST)
    assert nut.addresses == ("2001:db8::5",)  # link-local left out
    [nut, _] = plan([Listen("*")], [], "vm", [], HOST)
    assert nut.addresses == ("192.0.2.1", "198.51.100.7", "2001:db8::5")


def test_each_port_is_its_own_instance_and_http_has_its_own_type() -> None:
    services = plan([Listen("192.0.2.1", 3493), Listen("198.51.100.7", 3494)],
                    [Listen("0.0.0.0", 9199)], "vm", ["demo"], HOST)
    assert [(s.type, s.name, s.port) for s in services] == [
        (NUT_TYPE, "vm", 3493), (UPSD_TYPE, "vm", 3493),
        (NUT_TYPE, "vm (port 3494)", 3494), (UPSD_TYPE, "vm (port 3494)", 3494),
        (HTTP_TYPE, "nutpy on vm", 9199)]
    assert services[-1].txt == (("path", "/"),)


def test_device_list_keeps_whole_names_within_one_txt_string() -> None:
    names = [f"ups{i:03d}" for i in range(100)]
    text = device_list(names)
    assert len("device_list=" + text) <= TXT_MAX
    assert text.split(";") == names[:len(text.split(";"))]
    assert device_list([]) == ""


def test_announce_off_turns_it_off_and_unset_means_on() -> None:
    assert (wanted(None), wanted(True), wanted(False)) == (True, True, False)


def test_lan_addresses() -> None:
    assert lan_addresses(["0.0.0.0", "127.0.0.5", "10.1.2.3", "fe80::2", "fd00::1", "x"]) == [
        "10.1.2.3", "fd00::1"]


def test_a_device_list_filling_the_txt_string_exactly_is_kept_whole() -> None:
    # "device_list=" is 12 bytes: 243 more fill the 255 a TXT string's length byte allows.
    names = ["a" * 121, "b" * 121]  # 121 + ";" + 121 = 243
    assert device_list(names) == ";".join(names)
    assert device_list([*names[:1], "b" * 122]) == "a" * 121  # 244: the second is dropped
