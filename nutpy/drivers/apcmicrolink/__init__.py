"""APC Microlink (serial) support: a pure codec now, the trio driver later."""
