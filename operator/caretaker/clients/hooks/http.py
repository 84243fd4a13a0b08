"""One HTTP hook call: a JSON body sent with POST or PUT, retried on no answer, 408, 429 and
5xx (``clients.notify.transport``: exponential backoff with jitter, ``Retry-After`` honoured);
any 2xx is success, anything else a ``DeliveryFailed`` whose text names the status and the
receiver's own words. A stable ``Idempotency-Key`` goes with every attempt (and with a request
sent again after a restart), so the receiver can drop duplicates.

The URL is treated as a secret (it may carry a token): errors name the host only."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from caretaker.clients.notify.secret import Secret, as_secret
from caretaker.clients.notify.transport import Transport
from caretaker.clients.notify.webhook import is_sensitive_header
from caretaker.clients.notify.wire import Request, RetryPolicy, encode_json, judge_2xx

IDEMPOTENCY_HEADER = "Idempotency-Key"
MAX_BACKOFF_SECONDS = 8.0


@dataclass(frozen=True)
class HookAnswer:
    status: int
    document: object  # the answer's JSON (None when it is not JSON)
    attempts: int


def hook_retry(timeout: float, retries: int) -> RetryPolicy:
    """``retries`` more attempts after the first, each with the full ``timeout``."""
    return RetryPolicy(
        max_attempts=retries + 1,
        max_total_seconds=(timeout + MAX_BACKOFF_SECONDS) * (retries + 1),
        initial_backoff=1.0,
        max_backoff=MAX_BACKOFF_SECONDS,
    )


def call_hook(
    url: str | Secret,
    *,
    name: str,
    method: str,
    headers: Mapping[str, str],
    body: Mapping[str, object],
    idempotency_key: str,
    timeout: float,
    retries: int,
) -> HookAnswer:
    """Sends ``body`` as JSON; the 2xx answer, or ``DeliveryFailed`` after the retries."""
    secret_url = as_secret(url)
    parts = urlsplit(secret_url.reveal())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"hook {name}: the URL must be an http(s) URL")
    secrets = [secret_url, Secret(parts.path), Secret(parts.query)]
    wire: dict[str, str | Secret] = {}
    for header, value in headers.items():
        wire[header] = Secret(value) if is_sensitive_header(header) else value
        if is_sensitive_header(header):  # "Bearer <token>": the token alone is secret too
            secrets += [Secret(value), Secret(value.split()[-1] if value.strip() else "")]
    wire["Content-Type"] = "application/json"
    wire[IDEMPOTENCY_HEADER] = idempotency_key
    receiver = f"hook {name} ({parts.hostname})"
    transport = Transport(
        receiver, timeout=timeout, retry=hook_retry(timeout, retries), secrets=secrets
    )
    request = Request(method, secret_url, encode_json(dict(body)), wire)
    answer, attempts = transport.send(request, judge_2xx(receiver))
    return HookAnswer(answer.status, answer.json(), attempts)
