"""Pure functions from candles to report pieces (no I/O)."""
