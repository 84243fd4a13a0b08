"""PagerDuty Events API v2 change events: "something changed" on a service's timeline, not an
incident (nobody is paged). Caretaker sends its Maintenance notifications this way.

One ``POST`` per event to ``https://events.pagerduty.com/v2/change/enqueue`` (the events URL with
``/v2/enqueue`` replaced; configurable through it) with body ``{routing_key, payload{summary,
source, timestamp, custom_details}, links}``. The API has no dedup key: Caretaker's stable key
travels in ``custom_details.dedup_key``. PagerDuty answers 202; 400 is not retried (its
``message`` and ``errors`` end up in ``DeliveryFailed``); 429 and 5xx are retried.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from caretaker.clients.notify.notification import JsonValue, Link, iso_utc
from caretaker.clients.notify.outcome import Delivered
from caretaker.clients.notify.pagerduty import (
    DEFAULT_EVENTS_URL,
    MAX_SUMMARY_CHARS,
    PagerDutyEndpoint,
)
from caretaker.clients.notify.secret import Secret
from caretaker.clients.notify.wire import DEFAULT_RETRY, RetryPolicy

_ENQUEUE = "/v2/enqueue"
CHANGE_ENQUEUE = "/v2/change/enqueue"


def change_events_url(events_url: str = DEFAULT_EVENTS_URL) -> str:
    """The change-events URL beside an events URL (``.../v2/enqueue`` → ``.../v2/change/enqueue``);
    a URL of another form is taken as the change-events URL itself."""
    base = events_url.rstrip("/")
    if base.endswith(_ENQUEUE) and not base.endswith(CHANGE_ENQUEUE):
        return base[: -len(_ENQUEUE)] + CHANGE_ENQUEUE
    return base


def change_body(
    routing_key: Secret,
    *,
    summary: str,
    source: str,
    timestamp: datetime | None = None,
    custom_details: Mapping[str, JsonValue] | None = None,
    links: Sequence[Link] = (),
) -> dict[str, JsonValue]:
    """The body of one change event; an empty summary or source raises ``ValueError``."""
    if not summary.strip() or not source.strip():
        raise ValueError("summary and source must not be empty")
    cut = summary if len(summary) <= MAX_SUMMARY_CHARS else summary[: MAX_SUMMARY_CHARS - 1] + "…"
    payload: dict[str, JsonValue] = {"summary": cut, "source": source}
    if timestamp is not None:
        payload["timestamp"] = iso_utc(timestamp)
    if custom_details is not None:
        payload["custom_details"] = dict(custom_details)
    body: dict[str, JsonValue] = {"routing_key": routing_key.reveal(), "payload": payload}
    if links:
        body["links"] = [{"href": link.href, "text": link.text} for link in links]
    return body


class PagerDutyChangeClient:
    """Sends change events for one integration (routing key); thread-safe."""

    def __init__(
        self,
        routing_key: str | Secret,
        *,
        events_url: str = DEFAULT_EVENTS_URL,
        timeout: float = 10.0,
        retry: RetryPolicy = DEFAULT_RETRY,
    ) -> None:
        self.url = change_events_url(events_url)
        self._endpoint = PagerDutyEndpoint(routing_key, self.url, timeout, retry)
        self._routing_key = self._endpoint.routing_key

    def __repr__(self) -> str:
        return f"PagerDutyChangeClient(url={self.url!r}, routing_key={self._routing_key!r})"

    def change(
        self,
        summary: str,
        source: str,
        *,
        timestamp: datetime | None = None,
        custom_details: Mapping[str, JsonValue] | None = None,
        links: Sequence[Link] = (),
    ) -> Delivered:
        body = change_body(
            self._routing_key,
            summary=summary,
            source=source,
            timestamp=timestamp,
            custom_details=custom_details,
            links=links,
        )
        answer, attempts = self._endpoint.post(body)
        return Delivered(answer.status, None, attempts)
