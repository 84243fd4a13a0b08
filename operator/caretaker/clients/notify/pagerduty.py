"""PagerDuty Events API v2: trigger and resolve alerts.

One ``POST`` per event to ``https://events.pagerduty.com/v2/enqueue`` (configurable) with body
``{routing_key, event_action, dedup_key, payload{summary, source, severity, timestamp, component,
group, class, custom_details}, links, client, client_url}``; resolve carries no payload. PagerDuty
answers 202 ``{"status": "success", "dedup_key": ...}``; 400 means the event is invalid (not
retried; PagerDuty's ``message`` and ``errors`` end up in ``DeliveryFailed``); 429 and 5xx are
retried. The routing key is a ``Secret``: it never shows in reprs, errors or logs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Literal, TypedDict

from caretaker.clients.notify.notification import (
    JsonValue,
    Link,
    Notification,
    iso_utc,
)
from caretaker.clients.notify.outcome import Delivered, DeliveryFailed
from caretaker.clients.notify.secret import Secret, as_secret
from caretaker.clients.notify.transport import Transport
from caretaker.clients.notify.wire import (
    DEFAULT_RETRY,
    Answer,
    Request,
    RetryPolicy,
    encode_json,
    failure_for,
)
from caretaker.constants import Severity

DEFAULT_EVENTS_URL = "https://events.pagerduty.com/v2/enqueue"
MAX_SUMMARY_CHARS = 1024
MAX_DEDUP_KEY_CHARS = 255
RECEIVER = "PagerDuty"

PagerDutySeverity = Literal["critical", "error", "warning", "info"]
PAGERDUTY_SEVERITIES: tuple[PagerDutySeverity, ...] = ("critical", "error", "warning", "info")
_FROM_CARETAKER: Mapping[Severity, PagerDutySeverity] = {
    Severity.ROUTINE: "warning",
    Severity.URGENT: "error",
    Severity.CRITICAL: "critical",
}


def pagerduty_severity(severity: Severity) -> PagerDutySeverity:
    """Caretaker's severity as PagerDuty's: routine→warning, urgent→error, critical→critical."""
    try:
        return _FROM_CARETAKER[severity]
    except KeyError:
        raise ValueError(f"unknown severity {severity!r}") from None


def trigger_body(
    routing_key: Secret,
    *,
    summary: str,
    source: str,
    severity: PagerDutySeverity,
    dedup_key: str,
    component: str | None = None,
    group: str | None = None,
    class_: str | None = None,
    custom_details: Mapping[str, JsonValue] | None = None,
    links: Sequence[Link] = (),
    timestamp: datetime | None = None,
    client: str | None = "Caretaker",
    client_url: str | None = None,
) -> dict[str, JsonValue]:
    """The Events API v2 body of a trigger; optional fields that are None are left out.

    ``summary`` is cut to PagerDuty's 1024 characters; an empty summary or source, an unknown
    severity or a bad dedup key raise ``ValueError``.
    """
    if not summary.strip() or not source.strip():
        raise ValueError("summary and source must not be empty")
    if severity not in PAGERDUTY_SEVERITIES:
        raise ValueError(f"unknown PagerDuty severity {severity!r}")
    payload: dict[str, JsonValue] = {
        "summary": _cut(summary, MAX_SUMMARY_CHARS),
        "source": source,
        "severity": severity,
    }
    optional: dict[str, JsonValue] = {
        "timestamp": iso_utc(timestamp) if timestamp is not None else None,
        "component": component,
        "group": group,
        "class": class_,
        "custom_details": dict(custom_details) if custom_details is not None else None,
    }
    payload.update({k: v for k, v in optional.items() if v is not None})
    body = action_body(routing_key, "trigger", dedup_key)
    body["payload"] = payload
    if links:
        body["links"] = [{"href": link.href, "text": link.text} for link in links]
    if client is not None:
        body["client"] = client
    if client_url is not None:
        body["client_url"] = client_url
    return body


def action_body(
    routing_key: Secret,
    action: Literal["trigger", "resolve"],
    dedup_key: str,
) -> dict[str, JsonValue]:
    """``{routing_key, event_action, dedup_key}``: the whole body of resolve."""
    check_dedup_key(dedup_key)
    return {"routing_key": routing_key.reveal(), "event_action": action, "dedup_key": dedup_key}


def check_dedup_key(dedup_key: str) -> str:
    """``dedup_key`` if PagerDuty accepts it (1 to 255 characters), else ``ValueError``."""
    if not dedup_key or len(dedup_key) > MAX_DEDUP_KEY_CHARS:
        raise ValueError(f"dedup_key must have 1 to {MAX_DEDUP_KEY_CHARS} characters")
    return dedup_key


def judge_pagerduty(answer: Answer) -> DeliveryFailed | None:
    """2xx accepted; 400 invalid event with PagerDuty's explanation; 429 and 5xx retryable."""
    if 200 <= answer.status <= 299:
        return None
    return failure_for(RECEIVER, answer, pagerduty_explanation(answer))


def pagerduty_explanation(answer: Answer) -> str:
    """PagerDuty's ``message`` and ``errors`` ("Event object is invalid: ..."), else the text."""
    document = answer.json()
    if not isinstance(document, dict):
        return answer.text
    message = str(document.get("message") or document.get("status") or "")
    errors = document.get("errors")
    if isinstance(errors, list) and errors:
        detail = "; ".join(str(error) for error in errors)
        message = f"{message}: {detail}" if message else detail
    return message or answer.text


def accepted_dedup_key(answer: Answer, sent: str) -> str:
    """The dedup key in PagerDuty's answer (the one it filed the event under), else ``sent``."""
    document = answer.json()
    found = document.get("dedup_key") if isinstance(document, dict) else None
    return found if isinstance(found, str) and found else sent


class PagerDutyEndpoint:
    """One PagerDuty URL and routing key: the checks, the retrying transport and the JSON POST
    that the events client and the change-events client share."""

    def __init__(
        self, routing_key: str | Secret, url: str, timeout: float, retry: RetryPolicy
    ) -> None:
        self.routing_key = as_secret(routing_key)
        if not self.routing_key:
            raise ValueError("routing key must not be empty")
        if not url.startswith(("http://", "https://")):
            raise ValueError("PagerDuty events URL must be an http(s) URL")
        self.url = url
        self._transport = Transport(
            RECEIVER, timeout=timeout, retry=retry, secrets=[self.routing_key]
        )

    def post(self, body: dict[str, JsonValue]) -> tuple[Answer, int]:
        """Sends ``body``, retried; PagerDuty's answer and the attempts it took."""
        request = Request(
            "POST",
            Secret(self.url),
            encode_json(body),
            {"Content-Type": "application/json", "Accept": "application/json"},
        )
        return self._transport.send(request, judge_pagerduty)


class PagerDutyClient:
    """Events API v2 client for one integration (routing key); thread-safe."""

    def __init__(
        self,
        routing_key: str | Secret,
        *,
        url: str = DEFAULT_EVENTS_URL,
        timeout: float = 10.0,
        retry: RetryPolicy = DEFAULT_RETRY,
        client: str | None = "Caretaker",
        client_url: str | None = None,
    ) -> None:
        self._endpoint = PagerDutyEndpoint(routing_key, url, timeout, retry)
        self._routing_key = self._endpoint.routing_key
        self.url = url
        self.client = client
        self.client_url = client_url

    def __repr__(self) -> str:
        return f"PagerDutyClient(url={self.url!r}, routing_key={self._routing_key!r})"

    def trigger(
        self,
        summary: str,
        source: str,
        severity: PagerDutySeverity,
        dedup_key: str,
        *,
        component: str | None = None,
        group: str | None = None,
        class_: str | None = None,
        custom_details: Mapping[str, JsonValue] | None = None,
        links: Sequence[Link] = (),
        timestamp: datetime | None = None,
    ) -> Delivered:
        """Opens (or updates) the alert ``dedup_key``."""
        body = trigger_body(
            self._routing_key,
            summary=summary,
            source=source,
            severity=severity,
            dedup_key=dedup_key,
            component=component,
            group=group,
            class_=class_,
            custom_details=custom_details,
            links=links,
            timestamp=timestamp,
            client=self.client,
            client_url=self.client_url,
        )
        return self._send(body, dedup_key)

    def resolve(self, dedup_key: str) -> Delivered:
        """Resolves the alert ``dedup_key``."""
        return self._send(action_body(self._routing_key, "resolve", dedup_key), dedup_key)

    def notify(self, notification: Notification) -> Delivered:
        """Triggers ``notification`` (or resolves it, when it is resolved) under its key."""
        if notification.resolved:
            return self.resolve(notification.key)
        return self.trigger(**trigger_fields(notification))

    def _send(self, body: dict[str, JsonValue], dedup_key: str) -> Delivered:
        answer, attempts = self._endpoint.post(body)
        return Delivered(answer.status, accepted_dedup_key(answer, dedup_key), attempts)


def trigger_fields(notification: Notification) -> TriggerFields:
    """``PagerDutyClient.trigger`` arguments for a Caretaker notification."""
    details: dict[str, JsonValue] = {"rule": notification.rule, "target": notification.target}
    if notification.value is not None:
        details["value"] = notification.value
    details.update(notification.details)
    return {
        "summary": f"{notification.title}: {notification.summary}",
        "source": notification.target,
        "severity": pagerduty_severity(notification.severity),
        "dedup_key": notification.key,
        "class_": notification.rule,
        "custom_details": details,
        "links": notification.links,
        "timestamp": notification.occurred_at,
    }


class TriggerFields(TypedDict):
    summary: str
    source: str
    severity: PagerDutySeverity
    dedup_key: str
    class_: str
    custom_details: Mapping[str, JsonValue]
    links: Sequence[Link]
    timestamp: datetime | None


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
