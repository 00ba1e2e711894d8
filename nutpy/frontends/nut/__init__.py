"""The NUT network server: protocol (pure), sessions, listeners."""
