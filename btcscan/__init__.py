"""btcscan: says what a crypto chart says, with numbers a trader can check."""

__version__ = "0.1.0"
