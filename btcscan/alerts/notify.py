"""``--notify URL``: where notifications go, checked before the scan, sent after it.

* ``http://`` and ``https://``: btcscan's JSON webhook (stdlib urllib), one POST per run
  of ``{"schema_version", "idempotency_key", "signals": [record, ...]}`` with the header
  ``Idempotency-Key``; timeouts, connection errors, 429 and 5xx are retried with backoff.
* anything else: an apprise URL (``tgram://``, ``discord://``, ``slack://``, ``mailto://``,
  ``ntfy://``, ``json://``, ``form://``...), one message per market and timeframe: a title
  naming them and one line per signal (:mod:`btcscan.alerts.message`). ``json://`` also
  carries the records (``signals``) and ``idempotency_key`` in its body, ``json://`` and
  ``form://`` the ``Idempotency-Key`` header. apprise is imported only here, so a scan
  without such a URL never loads it.

No delivery follows a redirect: a 3xx reply is a failure (a 302 would turn the POST into a
GET with no body). A URL that cannot be parsed, or that apprise does not support, is refused
before the scan. Messages name a URL without its credentials, path or query (where tokens
live).
"""

from __future__ import annotations

import hashlib
import http.client
import json
import logging
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from btcscan import __version__
from btcscan.errors import ConfigError, NotifyError, UsageError

_sleep = time.sleep  # tests replace it to record the waits

DEFAULT_TIMEOUT = 10.0
DEFAULT_RETRIES = 3


def destination_id(url: str) -> str:
    """What ``--state`` records for a URL: 12 hex digits of its SHA-256 (never the URL)."""
    return hashlib.sha256(url.encode("utf-8")).hexdigest()[:12]


def redact(url: str) -> str:
    """``https://hooks.example.com/…`` for a message: scheme, host and port only."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        port = ""
    rest = "/…" if parts.path.strip("/") or parts.query or parts.username else ""
    return f"{parts.scheme}://{host}{port}{rest}"


@dataclass
class Destination:
    """One ``--notify`` URL, checked. ``send`` raises :class:`NotifyError` when delivery
    failed (retry later) and :class:`UsageError` when the URL is wrong (the peer does not
    speak HTTP)."""

    url: str = field(repr=False)
    label: str
    timeout: float
    retries: int

    @property
    def id(self) -> str:
        return destination_id(self.url)

    def batches(self, records: Sequence[dict]) -> list[list[dict]]:
        return [list(records)] if records else []

    def send(self, records: Sequence[dict]) -> None:
        raise NotImplementedError


class Webhook(Destination):
    """btcscan's JSON webhook (``http://``, ``https://``)."""

    def send(self, records: Sequence[dict]) -> None:
        from btcscan.alerts.message import batch_key
        from btcscan.models import SCHEMA_VERSION

        key = batch_key(records)
        post_json(self.url, {"schema_version": SCHEMA_VERSION, "idempotency_key": key,
                             "signals": list(records)},
                  timeout=self.timeout, retries=self.retries, label=self.label,
                  headers={"Idempotency-Key": key})


@dataclass
class AppriseTarget(Destination):
    """An apprise service: one message per market and timeframe. ``own_headers`` and
    ``own_fields`` are what the URL itself set (``+Header=``, ``:field=``)."""

    plugin: object = None
    own_headers: dict = field(default_factory=dict)
    own_fields: dict = field(default_factory=dict)

    def batches(self, records: Sequence[dict]) -> list[list[dict]]:
        from btcscan.alerts.message import group_by_market

        return group_by_market(records)

    def send(self, records: Sequence[dict]) -> None:
        import apprise
        from apprise.plugins.custom_form import NotifyForm
        from apprise.plugins.custom_json import NotifyJSON

        from btcscan.alerts.message import batch_key, text, title
        from btcscan.models import SCHEMA_VERSION

        key = batch_key(records)
        p = self.plugin
        if isinstance(p, (NotifyJSON, NotifyForm)):  # the URL's own +headers / :fields stay
            p.headers = {**self.own_headers, "Idempotency-Key": key}
            extras = ({"schema_version": SCHEMA_VERSION, "idempotency_key": key,
                       "signals": list(records)} if isinstance(p, NotifyJSON) else
                      {"idempotency_key": key, "ids": ",".join(r["id"] for r in records)})
            p.payload_extras = {**self.own_fields, **extras}
        app = apprise.Apprise(asset=p.asset)
        app.add(p)
        result = app.notify(body=text(records), title=title(records),
                            body_format=apprise.NotifyFormat.TEXT)
        if not result:
            said = [e.message for e in result.logs() if e.level in ("WARNING", "ERROR")]
            reason = said[-1].rstrip(".") if said else "the service refused it"
            raise NotifyError(f"--notify {self.label}: delivery failed after "
                              f"{self.retries + 1} attempt(s) ({reason})")


def _apprise_target(url: str, timeout: float, retries: int) -> AppriseTarget | None:
    import apprise

    logger = logging.getLogger("apprise")  # its reasons reach us through the result;
    if not logger.handlers:                 # never let logging print them (or a URL)
        logger.addHandler(logging.NullHandler())
        logger.propagate = False
    # each attempt: connect + read timeouts, then a 1 s wait: the service's whole budget
    asset = apprise.AppriseAsset(app_id="btcscan", app_desc=f"btcscan {__version__}",
                                 http_redirects=False, default_service_retry=retries,
                                 default_service_wait=1.0,
                                 service_timeout=(retries + 1) * (2 * timeout + 1))
    plugin = apprise.Apprise.instantiate(url, asset=asset)
    if plugin is None:
        return None
    plugin.socket_connect_timeout = plugin.socket_read_timeout = timeout
    label = plugin.url(privacy=True).split("?", 1)[0]
    return AppriseTarget(url, label, timeout, retries, plugin,
                         dict(getattr(plugin, "headers", {})),
                         dict(getattr(plugin, "payload_extras", {})))


def check_notify_table(value: object, where: str) -> None:
    """The config's ``[notify]`` table: ``urls`` (list of texts), ``timeout`` (> 0 s),
    ``retries`` (whole number >= 0); anything else is a :class:`ConfigError`."""
    import math

    if not isinstance(value, dict):
        raise ConfigError(f"{where}: [notify] must be a table (urls, timeout, retries)")
    for key in value:
        if key not in ("urls", "timeout", "retries"):
            raise ConfigError(f"{where}: notify.{key} is not a setting; use urls, timeout "
                              "or retries")
    urls = value.get("urls", [])
    if not isinstance(urls, list) or not all(isinstance(u, str) and u.strip() for u in urls):
        raise ConfigError(f"{where}: notify.urls must be a list of URLs, e.g. "
                          'urls = ["ntfy://ntfy.example.com/btc"]')
    t = value.get("timeout", DEFAULT_TIMEOUT)
    if isinstance(t, bool) or not isinstance(t, (int, float)) or not math.isfinite(t) or t <= 0:
        raise ConfigError(f"{where}: notify.timeout must be a number of seconds > 0 "
                          f"(got {t!r})")
    r = value.get("retries", DEFAULT_RETRIES)
    if isinstance(r, bool) or not isinstance(r, int) or r < 0:
        raise ConfigError(f"{where}: notify.retries must be a whole number >= 0 (got {r!r})")


def destinations(urls: Sequence[str], *, timeout: float = DEFAULT_TIMEOUT,
                 retries: int = DEFAULT_RETRIES, where: str | None = None
                 ) -> list[Destination]:
    """Check every URL now (before the scan) and return where to send. A bad URL is a
    :class:`UsageError` (exit 2) naming ``--notify``, or a :class:`ConfigError` (exit 8)
    naming the config file ``where`` and its ``notify.urls`` entry."""
    out: list[Destination] = []
    for i, raw in enumerate(urls):
        url = raw.strip()
        scheme = url.partition("://")[0].lower() if "://" in url else ""
        shown = redact(url) if scheme in ("http", "https") else (
            f"{scheme}://…" if scheme else repr(url[:12] + ("…" if len(url) > 12 else "")))
        if scheme in ("http", "https"):
            parts = urllib.parse.urlsplit(url)
            try:
                parts.port  # noqa: B018 - raises on a port that is not a number 0-65535
            except ValueError:
                why = "its port is not a number from 1 to 65535"
            else:
                why = "" if parts.hostname else "it names no host"
            dest: Destination | None = None if why else Webhook(url, shown, timeout, retries)
        else:
            why = "" if scheme else "it has no scheme (give http(s):// or an apprise URL)"
            dest = _apprise_target(url, timeout, retries) if scheme else None
            if dest is None and not why:
                why = ("apprise does not know this service or cannot parse the URL (a "
                       "missing token, host or target?); URL formats: "
                       "https://appriseit.com/services/")
        if dest is None:
            if where is None:
                raise UsageError(f"--notify {shown}: {why}")
            raise ConfigError(f"{where}: notify.urls[{i}] {shown}: {why}")
        out.append(dest)
    return out


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is not a delivery: hand the 3xx back as an error, never follow it."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # noqa: PLR0913
        return None


_opener = urllib.request.build_opener(_NoRedirect)


def post_json(url: str, payload: dict, *, timeout: float = DEFAULT_TIMEOUT,
              retries: int = DEFAULT_RETRIES, backoff: float = 1.0,
              sleep: Callable[[float], None] | None = None, label: str | None = None,
              headers: dict[str, str] | None = None) -> int:
    """POST ``payload`` as JSON; returns the HTTP status of the accepted attempt (2xx).

    Tries ``1 + retries`` times, waiting ``backoff * 2**k`` seconds between attempts, on
    timeouts, connection errors, 429 and 5xx; a 3xx or any other 4xx fails at once (retrying
    cannot help). Raises :class:`NotifyError` with the last reason, or :class:`UsageError`
    when the peer does not answer HTTP at all."""
    label = label or redact(url)
    if not url.startswith(("http://", "https://")):
        raise UsageError(f"--notify {label}: give an http:// or https:// URL")
    body = json.dumps(payload, allow_nan=False).encode()
    reason = ""
    for attempt in range(retries + 1):
        if attempt:
            (sleep or _sleep)(backoff * 2 ** (attempt - 1))
        req = urllib.request.Request(url, data=body, method="POST", headers={
            "Content-Type": "application/json", "User-Agent": f"btcscan/{__version__}",
            **(headers or {})})
        try:
            with _opener.open(req, timeout=timeout) as resp:
                return int(resp.status)
        except urllib.error.HTTPError as exc:
            reason = f"HTTP {exc.code} {exc.reason}"
            if 300 <= exc.code < 400:
                reason += ": a redirect is not a delivery; give the URL it points to"
                break
            if exc.code != 429 and exc.code < 500:
                break
        except (http.client.RemoteDisconnected, OSError) as exc:  # refused, reset, timeout
            inner = exc.reason if isinstance(exc, urllib.error.URLError) else exc
            reason = (f"no answer within {timeout:g} s" if isinstance(inner, TimeoutError)
                      else f"{type(inner).__name__}: {inner}")
        except http.client.HTTPException as exc:  # BadStatusLine, LineTooLong...
            raise UsageError(f"--notify {label}: the server did not answer HTTP "
                             f"({type(exc).__name__}); check the URL's host and port") from None
    raise NotifyError(f"--notify {label}: delivery failed after {attempt + 1} attempt(s) "
                      f"({reason})")
