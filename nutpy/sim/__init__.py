"""Simulated UPSes that speak the real wire protocols.

Each simulator is a pure engine (bytes and the current time in, bytes out);
the transports that put one on a pseudo-terminal or behind a ``sim:`` port
are separate.
"""
