"""``upsd.users``: who may log in, and what each user may do."""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field

from nutpy.config.syntax import Diagnostic, Sink, lines, section

__all__ = ["User", "authenticate", "parse_upsd_users"]


@dataclass
class User:
    name: str
    password: str | None = None
    actions: set[str] = field(default_factory=set)  # upper-case
    instcmds: set[str] = field(default_factory=set)  # lower-case, or "all"
    upsmon: str | None = None  # "primary" or "secondary"

    def may(self, action: str) -> bool:
        """Whether the user holds an action right (SET, FSD, LOGIN, MASTER...)."""
        action = action.upper()
        if action in self.actions:
            return True
        if self.upsmon == "primary":
            return action in ("LOGIN", "MASTER", "PRIMARY", "FSD")
        if self.upsmon == "secondary":
            return action == "LOGIN"
        return False

    def may_run(self, command: str) -> bool:
        return "all" in self.instcmds or command.lower() in self.instcmds


def parse_upsd_users(data: bytes, path: str) -> tuple[dict[str, User], list[Diagnostic]]:
    sink = Sink(path)
    users: dict[str, User] = {}
    current: User | None = None
    for line in lines(data, sink):
        words = line.words
        name = section(words[0])
        if name is not None:
            if name in users:
                sink.warning(line.lineno, f"duplicate user [{name}] ignored")
                current = None
            else:
                current = users[name] = User(name)
            continue
        if current is None:
            if users or not words:
                continue
            sink.error(line.lineno, f"'{words[0]}' outside any [user] section")
            continue
        key = words[0].lower()
        args = words[2:] if len(words) > 1 and words[1] == "=" else words[1:]
        if not args:
            sink.error(line.lineno, f"'{words[0]}' needs a value")
        elif key == "password":
            if current.password is None:
                current.password = args[0]
        elif key == "actions":
            current.actions.update(a.upper() for a in args)
        elif key == "instcmds":
            current.instcmds.update(a.lower() for a in args)
        elif key == "upsmon":
            role = {"primary": "primary", "master": "primary",
                    "secondary": "secondary", "slave": "secondary"}.get(args[0].lower())
            if role is None:
                sink.error(line.lineno, f"upsmon needs primary or secondary, "
                           f"not {args[0]!r}")
            else:
                current.upsmon = role
        elif key == "allowfrom":
            sink.warning(line.lineno, "allowfrom is obsolete and ignored")
        else:
            sink.warning(line.lineno, f"unknown setting '{words[0]}' ignored")
    for user in users.values():
        if user.password is None:
            sink.warning(0, f"user [{user.name}] has no password and can never log in")
    return users, sink.items


def authenticate(users: dict[str, User], name: str, password: str) -> User | None:
    """The user ``name`` if ``password`` is theirs, else None.

    Compared in constant time, and compared even for an unknown user, so
    timing tells neither the password nor whether the user exists.
    """
    user = users.get(name)
    expected = user.password if user is not None else None
    same = hmac.compare_digest((expected or "").encode(), password.encode())
    if user is None or expected is None or not same:
        return None
    return user
