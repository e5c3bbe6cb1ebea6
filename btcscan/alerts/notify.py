"""``--notify URL``: POST JSON to a webhook with a timeout and retries (stdlib urllib)."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable

from btcscan import __version__
from btcscan.errors import NotifyError

_sleep = time.sleep  # tests replace it to record the waits


def post_json(url: str, payload: dict, *, timeout: float = 10.0, retries: int = 3,
              backoff: float = 1.0, sleep: Callable[[float], None] | None = None) -> int:
    """POST ``payload`` as JSON; returns the HTTP status of the accepted attempt.

    Tries ``1 + retries`` times, waiting ``backoff * 2**k`` seconds between attempts, on
    timeouts, connection errors, 429 and 5xx; any other 4xx fails at once (retrying
    cannot help). Raises :class:`NotifyError` with the last reason."""
    if not url.startswith(("http://", "https://")):
        raise NotifyError(f"--notify {url!r}: give an http:// or https:// URL")
    body = json.dumps(payload, allow_nan=False).encode()
    reason = ""
    for attempt in range(retries + 1):
        if attempt:
            (sleep or _sleep)(backoff * 2 ** (attempt - 1))
        req = urllib.request.Request(url, data=body, method="POST", headers={
            "Content-Type": "application/json", "User-Agent": f"btcscan/{__version__}"})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                return int(resp.status)
        except urllib.error.HTTPError as exc:
            reason = f"HTTP {exc.code} {exc.reason}"
            if exc.code != 429 and exc.code < 500:
                break
        except OSError as exc:  # URLError, socket timeouts, refused connections
            inner = exc.reason if isinstance(exc, urllib.error.URLError) else exc
            reason = (f"no answer within {timeout:g} s" if isinstance(inner, TimeoutError)
                      else f"{type(inner).__name__}: {inner}")
    raise NotifyError(f"--notify {url}: delivery failed after {attempt + 1} attempt(s) "
                      f"({reason})")
