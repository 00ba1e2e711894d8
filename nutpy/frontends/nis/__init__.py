"""apcupsd's network protocol (NIS), so apcupsd's clients read nutpy's UPSes.

:mod:`~nutpy.frontends.nis.status` and :mod:`~nutpy.frontends.nis.events`
turn the store and the event log into apcupsd's lines (pure);
:mod:`~nutpy.frontends.nis.server` serves them on a port per ``NIS_LISTEN``.
The framing is :mod:`nutpy.protocols.nis`.
"""

from nutpy.frontends.nis.server import serve_nis

__all__ = ["serve_nis"]
