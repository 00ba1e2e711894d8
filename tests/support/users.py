"""The upsd.users the in-process tests of the NUT and HTTP front ends share."""

from __future__ import annotations

# An admin who may SET, set FSD and run one command; a primary and a secondary upsmon.
USERS = b"""
[admin]
  password = pw
  actions = SET FSD
  instcmds = test.battery.start
[mon]
  password = mp
  upsmon primary
[sec]
  password = sp
  upsmon secondary
"""
