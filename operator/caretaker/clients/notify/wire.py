"""The values an HTTP exchange with a receiver is made of, and the pure rules about them.

``Request`` and ``Answer``; ``RetryPolicy``; a ``Judge`` (a function of the ``Answer``) decides
whether an answer means delivered, "try again" (408, 425, 429, 5xx) or "give up" (anything else);
``Retry-After`` parsing; compact JSON encoding. No I/O here: ``transport`` sends.
"""

from __future__ import annotations

import email.utils
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType

from caretaker.clients.notify.outcome import DeliveryFailed
from caretaker.clients.notify.secret import Secret

MAX_ANSWER_BYTES = 64 * 1024
MESSAGE_CHARS = 500


@dataclass(frozen=True)
class RetryPolicy:
    """Retries of transient failures (no answer, 408, 429, 5xx)."""

    max_attempts: int = 5
    max_total_seconds: float = 30.0
    initial_backoff: float = 0.5
    max_backoff: float = 8.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if min(self.max_total_seconds, self.initial_backoff, self.max_backoff) < 0:
            raise ValueError("retry durations must not be negative")


DEFAULT_RETRY = RetryPolicy()
NO_RETRIES = RetryPolicy(max_attempts=1, max_total_seconds=0.0)


@dataclass(frozen=True)
class Answer:
    """A receiver's HTTP answer (body cut at ``MAX_ANSWER_BYTES``)."""

    status: int
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def json(self) -> object:
        """The body as JSON, or None when it is not JSON."""
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        return next((v for k, v in self.headers.items() if k.lower() == lowered), None)


@dataclass(frozen=True)
class Request:
    """An HTTP request; header values given as ``Secret`` are revealed only on the wire."""

    method: str
    url: Secret
    body: bytes | None = None
    headers: Mapping[str, str | Secret] = field(default_factory=lambda: MappingProxyType({}))


Judge = Callable[[Answer], DeliveryFailed | None]  # None: accepted


def encode_json(document: object) -> bytes:
    """Compact UTF-8 JSON; NaN and infinities are refused (they are not JSON)."""
    return json.dumps(
        document, ensure_ascii=False, allow_nan=False, separators=(",", ":"), default=_plain
    ).encode()


def _plain(value: object) -> object:
    """Read-only mappings and other sequences (``JsonValue`` allows them) as dicts and lists."""
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON")


def is_transient_status(status: int) -> bool:
    """Statuses worth another attempt: timeout, rate limit, server-side trouble."""
    return status in (408, 425, 429) or 500 <= status <= 599


def judge_2xx(receiver: str) -> Judge:
    """The usual rule: 2xx accepted; 408/429/5xx retryable; anything else refused for good."""

    def judge(answer: Answer) -> DeliveryFailed | None:
        if 200 <= answer.status <= 299:
            return None
        return failure_for(receiver, answer, answer.text)

    return judge


def failure_for(receiver: str, answer: Answer, explanation: str) -> DeliveryFailed:
    """A ``DeliveryFailed`` for a non-accepted answer, retryable when the status is transient."""
    detail = " ".join(explanation.split())
    message = f"{receiver} answered HTTP {answer.status}" + (f": {detail}" if detail else "")
    return DeliveryFailed(
        message,
        retryable=is_transient_status(answer.status),
        status=answer.status,
        retry_after=retry_after_seconds(answer.header("Retry-After")),
    )


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """``Retry-After`` (seconds or an HTTP date) as seconds from now; None if absent or bad."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        return None
    return max(0.0, (moment - (now or datetime.now(UTC))).total_seconds())
