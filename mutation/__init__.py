"""``make mutate``: mutation testing of the core modules (docs/testing.md)."""
