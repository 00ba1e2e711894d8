"""DNS-SD over mDNS: how NUT's clients, nut-scanner and Home Assistant find nutpy.

``services`` decides what to announce (pure); ``responder`` announces it
with python-zeroconf and keeps it current.  Start it with
``reload_hook = await nursery.start(serve_announce, cfg, store)``.
"""

from nutpy.frontends.announce.responder import Announcer, serve_announce

__all__ = ["Announcer", "serve_announce"]
