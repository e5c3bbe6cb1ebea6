"""Signals, ``--fail-on`` conditions, ``--new-only`` state and ``--notify`` webhooks."""
