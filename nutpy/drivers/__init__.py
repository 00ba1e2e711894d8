"""UPS drivers: each one owns a UPS's entry in the store and its port."""
