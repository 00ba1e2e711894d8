"""APC Microlink, the binary protocol of SMT/SMC/SMX units."""
