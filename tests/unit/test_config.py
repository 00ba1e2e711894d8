"""ups.conf, upsd.conf and upsd.users parsing, and check-config's report."""

from __future__ import annotations

from pathlib import Path

import pytest

from nutpy import config
from nutpy.cli import check_config
from nutpy.config import Listen, parse_ups_conf, parse_upsd_conf, parse_upsd_users
from nutpy.config.nutpy_conf import parse_nutpy_conf
from tests.support import REPO


def messages(diags: list[config.Diagnostic]) -> list[str]:
    return [str(d) for d in diags]


def test_ups_conf_sections_globals_and_flags() -> None:
    conf, diags = parse_ups_conf(
        b'pollinterval = 5\n[one]\n driver = dummy-ups\n port = a.dev\n'
        b' desc = "First one"\n nolock\n mode=dummy-once\n[Two]\ndriver=apcsmart\n'
        b'port=/dev/x\nsdtype=2\n',
        "ups.conf")
    assert diags == []
    assert conf.globals == {"pollinterval": "5"}
    assert [u.name for u in conf.ups] == ["one", "Two"]
    one = conf.ups[0]
    assert (one.driver, one.port, one.desc) == ("dummy-ups", "a.dev", "First one")
    assert one.options == {"nolock": None, "mode": "dummy-once"}
    assert conf.find("TWO") is conf.ups[1]


def test_ups_conf_problems_name_file_and_line() -> None:
    conf, diags = parse_ups_conf(
        b"[a]\ndriver = dummy-ups\n[A]\ndriver = x\nport = y\n"
        b'[b]\nport = p\ndesc = "bad # quote"\n[c]\ndriver = d\nport = e\n'
        b"pollinterval = soon\nthis is = wrong\n",
        "/etc/nut/ups.conf")
    text = messages(diags)
    assert "/etc/nut/ups.conf:3: error: duplicate UPS [A] (first defined on line 1); " \
           "this one is ignored" in text
    assert "/etc/nut/ups.conf:8: error: parse error: Unbalanced word due to unescaped " \
           "# in quotes" in text
    assert "/etc/nut/ups.conf:1: error: UPS [a] has no 'port'; it is ignored" in text
    assert "/etc/nut/ups.conf:6: error: UPS [b] has no 'driver'; it is ignored" in text
    assert "/etc/nut/ups.conf:12: error: 'pollinterval' needs a number, not 'soon'" in text
    assert "/etc/nut/ups.conf:13: error: expected 'key = value' or a flag: this is = wrong" \
        in text
    assert [u.name for u in conf.ups] == ["c"]


def test_upsd_conf_directives() -> None:
    conf, diags = parse_upsd_conf(
        b"LISTEN 127.0.0.1 3493\nLISTEN ::1\nMAXAGE 25\nMAXCONN 100\n"
        b"TRACKINGDELAY 60\nCERTFILE /etc/nut/cert.pem\nCERTREQUEST REQUIRE\n"
        b"DISABLE_WEAK_SSL true\nALLOW_NO_DEVICE yes\nALLOW_NOT_ALL_LISTENERS 1\n"
        b"debug_min 3\nSTATEPATH /run/nut\nDATAPATH /usr/share/nut\n",
        "upsd.conf")
    assert diags == []
    assert conf.listeners == [Listen("127.0.0.1", 3493), Listen("::1", 3493)]
    assert (conf.maxage, conf.maxconn, conf.trackingdelay) == (25, 100, 60)
    assert conf.certfile == "/etc/nut/cert.pem"
    assert conf.certrequest == 2
    assert conf.disable_weak_ssl and conf.allow_no_device and conf.allow_not_all_listeners
    assert conf.debug_min == 3


def test_upsd_conf_default_listeners_are_loopback_v6_and_v4() -> None:
    conf, _ = parse_upsd_conf(b"", "upsd.conf")
    assert conf.listeners == [Listen("::1", 3493), Listen("127.0.0.1", 3493)]


def test_upsd_conf_errors_and_warnings() -> None:
    _, diags = parse_upsd_conf(
        b"MAXAGE soon\nLISTEN\nLISTEN 1.2.3.4 99999\nACL all 0.0.0.0/0\nFROB 1\n"
        b"ALLOW_NO_DEVICE maybe\nCERTREQUEST sometimes\nmaxage 5\n", "upsd.conf")
    assert messages(diags) == [
        "upsd.conf:1: error: MAXAGE needs one number",
        "upsd.conf:2: error: LISTEN needs an address and optionally a port",
        "upsd.conf:3: error: bad port '99999'",
        "upsd.conf:4: warning: ACL is obsolete and ignored (use upsd.users and "
        "firewall rules)",
        "upsd.conf:5: warning: unknown directive 'FROB' ignored",
        "upsd.conf:6: error: ALLOW_NO_DEVICE needs true/false, yes/no, on/off or 1/0",
        "upsd.conf:7: error: CERTREQUEST needs NO, REQUEST or REQUIRE",
        "upsd.conf:8: warning: unknown directive 'maxage' ignored",  # case-sensitive
    ]


def test_upsd_users_rights() -> None:
    users, diags = parse_upsd_users(
        b"[admin]\n password = s3cret\n actions = SET\n actions = fsd\n"
        b" instcmds = test.battery.start LOAD.OFF\n"
        b"[mon]\n password = a\n upsmon master\n"
        b"[sec]\n password = b\n upsmon = slave\n"
        b"[nopass]\n actions = SET\n"
        b"[admin]\n password = other\n",
        "upsd.users")
    admin, mon, sec = users["admin"], users["mon"], users["sec"]
    assert admin.password == "s3cret"
    assert admin.may("set") and admin.may("FSD")
    assert not admin.may("LOGIN") and not admin.may("PRIMARY")
    assert admin.may_run("load.off") and not admin.may_run("load.on")
    assert mon.may("LOGIN") and mon.may("MASTER") and mon.may("FSD") and not mon.may("SET")
    assert sec.may("LOGIN") and not sec.may("FSD")
    assert messages(diags) == [
        "upsd.users:14: warning: duplicate user [admin] ignored",
        "upsd.users: warning: user [nopass] has no password and can never log in",
    ]


def test_load_reports_missing_files_and_world_readable_users(tmp_path: Path) -> None:
    cfg = config.load(tmp_path)
    assert cfg.fatal is not None and "ups.conf" in cfg.fatal
    (tmp_path / "ups.conf").write_text("[u]\ndriver = dummy-ups\nport = u.dev\n")
    users = tmp_path / "upsd.users"
    users.write_text("[a]\npassword = b\n")
    users.chmod(0o644)
    cfg = config.load(tmp_path)
    assert cfg.fatal is None
    assert f"{users}: warning: readable by everyone; it holds passwords (chmod 640)" \
        in messages(cfg.diagnostics)


def test_load_no_device_is_fatal_unless_allowed(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ALLOW_NO_DEVICE", raising=False)
    (tmp_path / "ups.conf").write_text("# nothing\n")
    assert config.load(tmp_path).fatal is not None
    (tmp_path / "upsd.conf").write_text("ALLOW_NO_DEVICE true\n")
    assert config.load(tmp_path).fatal is None
    monkeypatch.setenv("ALLOW_NO_DEVICE", "false")  # the environment wins
    assert config.load(tmp_path).fatal is not None


def test_check_config_reports_and_exits_nonzero(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "ups.conf").write_text(
        "[good]\ndriver = dummy-ups\nport = g.dev\n[odd]\ndriver = usbhid-ups\nport = auto\n")
    (tmp_path / "upsd.conf").write_text("FROB 1\n")
    assert check_config(tmp_path) == 1
    out = capsys.readouterr().out
    assert f"{tmp_path}/upsd.conf:1: warning: unknown directive 'FROB' ignored" in out
    assert f"{tmp_path}/ups.conf:5: error: [odd] driver 'usbhid-ups' is not one nutpy has" \
        in out
    assert "1 error(s)" in out


def test_check_config_clean_demo_exits_zero(capsys: pytest.CaptureFixture[str]) -> None:
    demo = REPO / "conf"
    assert check_config(demo) == 0
    assert "0 error(s)" in capsys.readouterr().out


# ---- malformed files: every problem names its file and line ------------------------

def test_unterminated_quote_is_reported_where_it_opened() -> None:
    conf, diags = parse_ups_conf(
        b'[a]\ndriver = dummy-ups\nport = a.dev\n[b]\ndesc = "Main UPS\ndriver = apcsmart\n'
        b"port = /dev/ttyS0\n", "ups.conf")
    assert messages(diags) == [
        "ups.conf:5: error: parse error: the quote opened on this line is never closed "
        "(it runs to line 7, the end of the file); line ignored",
        "ups.conf:4: error: UPS [b] has no 'driver'; it is ignored",
        "ups.conf:4: error: UPS [b] has no 'port'; it is ignored",
    ]
    assert [u.name for u in conf.ups] == ["a"]


def test_unknown_keys_are_checked_against_the_named_driver() -> None:
    conf, diags = parse_ups_conf(
        b"[s]\ndriver = apcsmart\nport = /dev/x\ncable = 940-0095B\nsdorder = -1\n"
        b"override.battery.charge.low = 20\nmode = dummy-once\n"
        b"[d]\ndriver = dummy-ups\nport = d.dev\nmode = dummy-once\nCable = x\n"
        b"[u]\ndriver = usbhid-ups\nport = auto\nvendorid = 051d\n", "ups.conf")
    assert messages(diags) == [
        "ups.conf:7: warning: unknown setting 'mode' for driver apcsmart in [s]: ignored "
        "(NUT's driver would refuse to start)",
        "ups.conf:12: warning: unknown setting 'Cable' for driver dummy-ups in [d]: ignored "
        "(NUT's driver would refuse to start)",
    ]
    assert conf.ups[0].options["cable"] == "940-0095B"


def test_bad_numbers_in_ups_conf() -> None:
    conf, diags = parse_ups_conf(
        b"maxretry = 3x\ndebug_min = 2\n[a]\ndriver = dummy-ups\nport = a.dev\n"
        b"pollinterval = 0\nsdorder = first\nsddelay = -5\nmaxstartdelay = 45\n", "ups.conf")
    assert messages(diags) == [
        "ups.conf:1: error: 'maxretry' needs a number, not '3x'",
        "ups.conf:6: error: 'pollinterval' must be from 1 to 3600, not 0",
        "ups.conf:7: error: 'sdorder' needs a whole number, not 'first'",
        "ups.conf:8: error: 'sddelay' needs a number, not '-5'",
    ]
    assert conf.globals == {"debug_min": "2"}
    assert conf.ups[0].options == {"maxstartdelay": "45"}


@pytest.mark.parametrize("kind", ["directory", "dangling-symlink"])
def test_unreadable_files_are_errors_not_crashes(tmp_path: Path, kind: str) -> None:
    """Tests run as root, so chmod 000 would not stop a read: use real unreadable things."""
    (tmp_path / "ups.conf").write_text("[u]\ndriver = dummy-ups\nport = u.dev\n")
    users = tmp_path / "upsd.users"
    if kind == "directory":
        users.mkdir()
        expected = f"{users}: error: cannot read: it is a directory, not a regular file"
    else:
        users.symlink_to(tmp_path / "gone")
        expected = f"{users}: error: cannot read: dangling symbolic link to {tmp_path}/gone"
    cfg = config.load(tmp_path)
    assert expected in messages(cfg.diagnostics)
    assert cfg.unreadable == [str(users)]
    assert cfg.fatal is None  # upsd too serves without users
    assert cfg.users == {}


def test_nutpy_conf_every_directive() -> None:
    conf, diags = parse_nutpy_conf(
        b"HTTP_LISTEN 127.0.0.1\nHTTP_LISTEN ::1 8080\nNIS_LISTEN smart 127.0.0.1\n"
        b"NIS_LISTEN other ::1 3552\nANNOUNCE off\nHISTORY /var/lib/nutpy/h.sqlite\n"
        b"HISTORY_DAYS 400\n", "nutpy.conf")
    assert diags == []
    assert conf.http_listen == [Listen("127.0.0.1", 9199), Listen("::1", 8080)]
    assert [(n.ups, n.listen) for n in conf.nis_listen] == [
        ("smart", Listen("127.0.0.1", 3551)), ("other", Listen("::1", 3552))]
    assert conf.announce is False
    assert conf.history_path(Path("/run/nut"), Path("/etc/nut")) == Path(
        "/var/lib/nutpy/h.sqlite")
    assert conf.history_days == 400


def test_nutpy_conf_defaults_and_history_off() -> None:
    conf, _ = parse_nutpy_conf(b"", "nutpy.conf")
    assert (conf.http_listen, conf.nis_listen, conf.announce) == ([], [], None)
    assert conf.history_days == 30
    assert conf.history_path(Path("/run/nut"), Path("/etc/nut")) == Path(
        "/run/nut/nutpy-history.sqlite")
    conf, _ = parse_nutpy_conf(b"HISTORY off\n", "nutpy.conf")
    assert conf.history_path(Path("/run/nut"), Path("/etc/nut")) is None
    conf, _ = parse_nutpy_conf(b"HISTORY h.sqlite\n", "nutpy.conf")
    assert conf.history_path(Path("/run/nut"), Path("/etc/nut")) == Path("/etc/nut/h.sqlite")


def test_nutpy_conf_errors_name_file_and_line() -> None:
    _, diags = parse_nutpy_conf(
        b"HTTP_LISTEN\nHTTP_LISTEN 127.0.0.1 99999\nNIS_LISTEN smart\nANNOUNCE maybe\n"
        b"HISTORY_DAYS 0\nHISTORY_DAYS " + b"9" * 300 + b"\nHISTORY_DAYS x\nLISTEN ::1\n",
        "nutpy.conf")
    assert messages(diags) == [
        "nutpy.conf:1: error: HTTP_LISTEN needs an address and optionally a port",
        "nutpy.conf:2: error: bad port '99999'",
        "nutpy.conf:3: error: NIS_LISTEN needs a UPS, an address and optionally a port",
        "nutpy.conf:4: error: ANNOUNCE needs true/false, yes/no, on/off or 1/0",
        "nutpy.conf:5: error: HISTORY_DAYS must be from 1 to 3660, not 0",
        "nutpy.conf:6: error: HISTORY_DAYS must be from 1 to 3660, not 999999999999... "
        "(300 digits)",
        "nutpy.conf:7: error: HISTORY_DAYS needs one number",
        "nutpy.conf:8: warning: unknown directive 'LISTEN' ignored",
    ]


def test_nis_listen_for_a_ups_that_is_not_there(tmp_path: Path) -> None:
    (tmp_path / "ups.conf").write_text("[u]\ndriver = dummy-ups\nport = u.dev\n")
    (tmp_path / "nutpy.conf").write_text("HTTP_LISTEN 127.0.0.1\nNIS_LISTEN v 127.0.0.1\n")
    cfg = config.load(tmp_path)
    assert messages(cfg.diagnostics)[-1:] == [
        f"{tmp_path}/nutpy.conf:2: error: NIS_LISTEN names UPS 'v', which ups.conf "
        "does not define"]
    assert cfg.nutpy.http_listen == [Listen("127.0.0.1", 9199)]


def test_without_nutpy_conf_nothing_is_said(tmp_path: Path) -> None:
    (tmp_path / "ups.conf").write_text("[u]\ndriver = dummy-ups\nport = u.dev\n")
    (tmp_path / "upsd.users").write_text("")
    (tmp_path / "upsd.users").chmod(0o600)
    (tmp_path / "upsd.conf").write_text("")
    cfg = config.load(tmp_path)
    assert cfg.diagnostics == [] and cfg.nutpy.http_listen == []


@pytest.mark.parametrize("name", ["ups.conf", "upsd.conf", "upsd.users", "nutpy.conf"])
def test_a_config_file_over_a_mebibyte_is_refused_unread(tmp_path: Path, name: str) -> None:
    """100 MB took 79 s and 3.4 GB to read and parse; now it is not read at all."""
    (tmp_path / "ups.conf").write_text("[u]\ndriver = dummy-ups\nport = u.dev\n")
    big = tmp_path / name
    with open(big, "wb") as f:  # sparse: 100 MB that cost no disk
        f.write(b"# a comment\n")
        f.truncate(100 * 1024 * 1024)
    cfg = config.load(tmp_path)
    assert f"{big}: error: cannot read: it is larger than 1024 KiB, more than a file of " \
        "this kind ever needs" in messages(cfg.diagnostics)
    assert cfg.unreadable == [str(big)]
    (big).write_bytes(b"#" * (1024 * 1024 - 1) + b"\n")  # the largest that is read
    assert str(big) not in config.load(tmp_path).unreadable
