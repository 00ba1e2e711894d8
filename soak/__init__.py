"""The soak run (``make soak``): long, loaded, and not part of ``make test``."""
