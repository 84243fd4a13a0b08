"""Alertmanager API v2 silences: create, list, expire (hold alerts quiet during maintenance).

``create_silence`` returns the new silence's ID; ``expire_silence`` ends it early and returns
False when Alertmanager does not know it (already gone: nothing to do). Transient failures (no
answer, 5xx) are retried like notifications; note that a retried create after a lost answer may
leave two identical silences, so callers that must not double up look at ``list_active_silences``
first. Credentials (bearer token, sensitive headers) are ``Secret``s.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import TypeVar
from urllib.parse import quote, urlsplit

from caretaker.clients.notify.outcome import DeliveryFailed
from caretaker.clients.notify.secret import Secret, as_secret
from caretaker.clients.notify.silences import (
    BadSilenceAnswer,
    Matcher,
    Silence,
    parse_silence_id,
    parse_silences,
    silence_body,
)
from caretaker.clients.notify.transport import Transport
from caretaker.clients.notify.wire import (
    Answer,
    Judge,
    Request,
    RetryPolicy,
    encode_json,
    failure_for,
)

T = TypeVar("T")
RECEIVER = "Alertmanager"
DEFAULT_RETRY = RetryPolicy(max_attempts=3, max_total_seconds=10.0, initial_backoff=0.3)


def alertmanager_explanation(answer: Answer) -> str:
    """Alertmanager's error text: a JSON string, or ``message`` of an error object."""
    document = answer.json()
    if isinstance(document, str):
        return document
    if isinstance(document, dict) and isinstance(document.get("message"), str):
        return str(document["message"])
    return answer.text


def judge_alertmanager(answer: Answer) -> DeliveryFailed | None:
    """2xx accepted; 5xx and 429 retryable; anything else refused with Alertmanager's text."""
    if 200 <= answer.status <= 299:
        return None
    return failure_for(RECEIVER, answer, alertmanager_explanation(answer))


def is_unknown_silence(answer: Answer) -> bool:
    """Alertmanager's "no such silence" (500 ``silence not found`` in 0.25, 404 elsewhere)."""
    text = alertmanager_explanation(answer).lower()
    return answer.status == 404 or (answer.status == 500 and "not found" in text)


def judge_expire(answer: Answer) -> DeliveryFailed | None:
    """Like ``judge_alertmanager``, but an unknown silence is an answer, not a failure."""
    return None if is_unknown_silence(answer) else judge_alertmanager(answer)


class AlertmanagerClient:
    """Silences of one Alertmanager (``url`` may have a path prefix); thread-safe."""

    def __init__(
        self,
        url: str,
        *,
        bearer_token: str | Secret | None = None,
        headers: Mapping[str, str | Secret] | None = None,
        timeout: float = 10.0,
        retry: RetryPolicy = DEFAULT_RETRY,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("Alertmanager URL must be http(s)://host[:port][/prefix]")
        if parts.username is not None or parts.password is not None:
            raise ValueError("Alertmanager URL must not contain credentials; use bearer_token")
        self.url = url.rstrip("/")
        self._headers: dict[str, str | Secret] = {
            k: as_secret(v) for k, v in (headers or {}).items()
        }
        if bearer_token is not None:
            self._headers["Authorization"] = Secret(f"Bearer {as_secret(bearer_token).reveal()}")
        secrets = [v for v in self._headers.values() if isinstance(v, Secret)]
        if bearer_token is not None:
            secrets.append(as_secret(bearer_token))
        self._transport = Transport(RECEIVER, timeout=timeout, retry=retry, secrets=secrets)

    def __repr__(self) -> str:
        return f"AlertmanagerClient(url={self.url!r}, headers={sorted(self._headers)!r})"

    def create_silence(
        self,
        matchers: Sequence[Matcher],
        starts_at: datetime,
        ends_at: datetime,
        created_by: str,
        comment: str,
        *,
        silence_id: str | None = None,
    ) -> str:
        """Creates a silence (or updates ``silence_id``) and returns its ID."""
        body = silence_body(
            matchers, starts_at, ends_at, created_by, comment, silence_id=silence_id
        )
        answer = self._call("POST", "/api/v2/silences", judge_alertmanager, encode_json(body))
        return self._parsed(lambda: parse_silence_id(answer.json()))

    def expire_silence(self, silence_id: str) -> bool:
        """Ends the silence now; False when Alertmanager does not know it."""
        path = f"/api/v2/silence/{quote(silence_id, safe='')}"
        answer = self._call("DELETE", path, judge_expire)
        return not is_unknown_silence(answer)

    def list_silences(self) -> tuple[Silence, ...]:
        """Every silence Alertmanager still keeps: active, pending and recently expired."""
        answer = self._call("GET", "/api/v2/silences", judge_alertmanager)
        return self._parsed(lambda: parse_silences(answer.json()))

    def list_active_silences(self) -> tuple[Silence, ...]:
        """The silences in force now."""
        return tuple(silence for silence in self.list_silences() if silence.is_active)

    def get_silence(self, silence_id: str) -> Silence | None:
        """The silence with this ID, if Alertmanager still keeps it."""
        return next((s for s in self.list_silences() if s.id == silence_id), None)

    def _call(self, method: str, path: str, judge: Judge, body: bytes | None = None) -> Answer:
        headers: dict[str, str | Secret] = {**self._headers, "Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        request = Request(method, Secret(self.url + path), body, headers)
        answer, _ = self._transport.send(request, judge)
        return answer

    def _parsed(self, parse: Callable[[], T]) -> T:
        try:
            return parse()
        except BadSilenceAnswer as error:
            message = self._transport.redact(f"{RECEIVER} sent an unexpected answer: {error}")
        raise DeliveryFailed(message, retryable=False)
