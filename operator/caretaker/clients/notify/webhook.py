"""A generic JSON webhook: for automation (runbooks, chat bridges, ticketing) that is neither
PagerDuty nor Slack.

Each event is one ``POST`` with ``Content-Type: application/json`` and ``Idempotency-Key``; a retry
sends the very same bytes and the same key, so a receiver can drop duplicates. With a signing
secret, ``X-Caretaker-Signature: sha256=<hex>`` carries HMAC-SHA256 of the body; receivers check it
with ``verify_signature``. Extra headers (``Authorization``, ...) may be ``Secret``; header values
whose names look like credentials are treated as secrets even when given as plain strings. The URL
is a secret too (many webhooks carry a token in it). Any 2xx is delivered.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from urllib.parse import urlsplit

from caretaker.clients.notify.notification import JsonValue, Notification, iso_utc
from caretaker.clients.notify.outcome import Delivered
from caretaker.clients.notify.secret import Secret, as_secret
from caretaker.clients.notify.transport import Transport
from caretaker.clients.notify.wire import (
    DEFAULT_RETRY,
    Request,
    RetryPolicy,
    encode_json,
    judge_2xx,
)

SIGNATURE_HEADER = "X-Caretaker-Signature"
IDEMPOTENCY_HEADER = "Idempotency-Key"
EVENT_VERSION = "caretaker.event/v1"
RESERVED_HEADERS = frozenset({"content-type", "idempotency-key", SIGNATURE_HEADER.lower()})
_SENSITIVE_WORDS = ("authorization", "cookie", "token", "key", "secret", "password", "signature")


def sign(body: bytes, secret: Secret) -> str:
    """``sha256=<hex>``: HMAC-SHA256 of ``body`` under ``secret``."""
    digest = hmac.new(secret.reveal().encode(), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def content_key(body: bytes) -> str:
    """An idempotency key derived from the body: the same event always gets the same key."""
    return hashlib.sha256(body).hexdigest()[:32]


def webhook_event(notification: Notification) -> dict[str, JsonValue]:
    """The JSON event for ``notification`` (``version`` names the schema)."""
    n = notification
    return {
        "version": EVENT_VERSION,
        "key": n.key,
        "state": n.state,
        "title": n.title,
        "summary": n.summary,
        "severity": n.severity,
        "rule": n.rule,
        "target": n.target,
        "value": n.value,
        "source": n.source,
        "occurred_at": iso_utc(n.occurred_at) if n.occurred_at is not None else None,
        "details": dict(n.details),
        "links": [{"href": link.href, "text": link.text} for link in n.links],
    }


def is_sensitive_header(name: str) -> bool:
    lowered = name.lower()
    return any(word in lowered for word in _SENSITIVE_WORDS)


def _checked_headers(headers: Mapping[str, str | Secret]) -> dict[str, str | Secret]:
    checked: dict[str, str | Secret] = {}
    for name, value in headers.items():
        if name.lower() in RESERVED_HEADERS:
            raise ValueError(f"header {name} is set by the webhook client")
        text = value.reveal() if isinstance(value, Secret) else value
        if any(c in name + text for c in "\r\n\0") or not name.strip():
            raise ValueError(f"header {name!r} has an invalid name or value")
        sensitive = isinstance(value, Secret) or is_sensitive_header(name)
        checked[name] = Secret(text) if sensitive else text
    return checked


class WebhookClient:
    """Posts JSON events to one URL; thread-safe."""

    def __init__(
        self,
        url: str | Secret,
        *,
        name: str = "webhook",
        headers: Mapping[str, str | Secret] | None = None,
        signing_secret: str | Secret | None = None,
        timeout: float = 10.0,
        retry: RetryPolicy = DEFAULT_RETRY,
    ) -> None:
        self._url = as_secret(url)
        parts = urlsplit(self._url.reveal())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"webhook {name}: URL must be an http(s) URL")
        self.name = name
        self.host = parts.hostname
        self._headers = _checked_headers(headers or {})
        self._signing_secret = as_secret(signing_secret) if signing_secret is not None else None
        secrets = [self._url, Secret(parts.path), Secret(parts.query)]
        for value in self._headers.values():
            if isinstance(value, Secret):  # "Bearer <token>": the token alone is secret too
                secrets += [value, Secret(value.reveal().split()[-1] if value else "")]
        if self._signing_secret is not None:
            secrets.append(self._signing_secret)
        self._transport = Transport(
            f"webhook {name}", timeout=timeout, retry=retry, secrets=secrets
        )

    def __repr__(self) -> str:
        return (
            f"WebhookClient(name={self.name!r}, host={self.host!r}, url={self._url!r}, "
            f"headers={sorted(self._headers)!r}, signed={self._signing_secret is not None})"
        )

    def notify(self, notification: Notification) -> Delivered:
        """Sends ``webhook_event(notification)`` keyed by its content."""
        return self.send(webhook_event(notification))

    def send(self, event: Mapping[str, JsonValue], idempotency_key: str | None = None) -> Delivered:
        """Posts ``event``; the key (default: derived from the body) is the same on retries."""
        body = encode_json(dict(event))
        key = idempotency_key or content_key(body)
        if any(c in key for c in "\r\n\0"):
            raise ValueError("idempotency key must be a single line")
        headers: dict[str, str | Secret] = {
            **self._headers,
            "Content-Type": "application/json",
            IDEMPOTENCY_HEADER: key,
        }
        if self._signing_secret is not None:
            headers[SIGNATURE_HEADER] = sign(body, self._signing_secret)
        request = Request("POST", self._url, body, headers)
        answer, attempts = self._transport.send(request, judge_2xx(self._transport.receiver))
        return Delivered(answer.status, key, attempts)
