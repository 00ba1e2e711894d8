"""Front ends: each serves the store to one kind of client, and knows no other.

``nut`` is the NUT network protocol (upsd's port 3493); ``control`` the local
socket ``nutpy killpower`` talks to.  Each reads the store and its feed and
sends requests back through it; none imports a driver or another front end.
"""
