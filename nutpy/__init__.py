"""nutpy: a Network UPS Tools compatible UPS server on trio."""

__version__ = "0.1.0"
