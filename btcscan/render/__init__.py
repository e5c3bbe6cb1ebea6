"""Renderers: each reads a :class:`btcscan.models.ScanResult` and writes one view of it."""
