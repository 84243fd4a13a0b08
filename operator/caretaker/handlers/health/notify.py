"""Sends a HealthPolicy notification (trigger or resolve) to each of its receivers, and records
on the notify step's Remediation record what reached whom (delivery is at least once: what is
not recorded as delivered is sent again by a later evaluation).

Credentials (PagerDuty routing keys, Slack webhook URLs, webhook URLs kept in Secrets) are read
from Secrets in the policy's namespace at send time, travel as ``Secret`` values and never
reach a log, an Event, a record or the status; failure texts come from the notify clients,
which redact them.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from kubernetes.client import ApiClient

from caretaker.clients.kube.api import KubeApiError
from caretaker.clients.kube.records import patch_record
from caretaker.clients.kube.secrets import SecretUnavailable, read_secret_value
from caretaker.clients.notify import (
    DeliveryFailed,
    PagerDutyClient,
    RetryPolicy,
    Secret,
    SlackClient,
    WebhookClient,
    check_severity,
    pagerduty_severity,
    webhook_event,
)
from caretaker.clients.notify import Notification as Message
from caretaker.domain.common.reasons import Note
from caretaker.domain.health.keys import PolicyRef
from caretaker.domain.health.notify_spec import (
    PagerDutyReceiver,
    Receiver,
    SlackReceiver,
    WebhookReceiver,
)
from caretaker.domain.health.outputs import Notification, NotificationEvent
from caretaker.domain.health.paging import after_send
from caretaker.domain.health.refs import SecretKeyRef
from caretaker.domain.health.status import Result
from caretaker.handlers.health.bookkeeping import count_result

logger = logging.getLogger("caretaker.health")

NOTIFY_RETRY = RetryPolicy(max_attempts=3, max_total_seconds=10.0)
NOTIFY_TIMEOUT = 10.0


@dataclass(frozen=True)
class Delivery:
    """Where a policy's notifications go from: its namespace (for Secrets) and endpoints."""

    kube: ApiClient
    namespace: str
    pagerduty_url: str


@dataclass(frozen=True)
class SendOutcome:
    sent: tuple[str, ...]  # receivers that accepted it
    failures: tuple[str, ...]  # "<receiver>: <why>" for the others

    @property
    def ok(self) -> bool:
        return not self.failures


@dataclass(frozen=True)
class DeliveryReport:
    notes: tuple[Note, ...]  # Events to post (first failure, delivered after failures)
    undelivered: tuple[str, ...]  # "<dedup key>: <why>" of each notification not delivered


class Notifier(Protocol):
    """Sends to the receivers, and records on the Remediation record what reached whom."""

    def send(self, namespace: str, notification: Notification) -> SendOutcome:
        """Credentials are read from Secrets in ``namespace``; nothing is raised."""
        ...

    def patch_record(self, namespace: str, name: str, patch: Mapping[str, Any]) -> None:
        """Raises ``KubeApiError`` when the record cannot be written."""
        ...

    def clock(self) -> datetime:
        """The time a result is recorded at."""
        ...


@dataclass(frozen=True)
class KubeNotifier:
    """The real receivers (PagerDuty, Slack, webhooks) and the records in Kubernetes."""

    kube: ApiClient
    pagerduty_url: str

    def send(self, namespace: str, notification: Notification) -> SendOutcome:
        return send_notification(Delivery(self.kube, namespace, self.pagerduty_url), notification)

    def patch_record(self, namespace: str, name: str, patch: Mapping[str, Any]) -> None:
        patch_record(self.kube, namespace, name, dict(patch))

    def clock(self) -> datetime:
        return datetime.now(UTC)


def send_notification(delivery: Delivery, notification: Notification) -> SendOutcome:
    """Sends to every receiver; ok only when every one accepted it."""
    sent: list[str] = []
    failed: list[str] = []
    for receiver in notification.receivers:
        try:
            _send_one(delivery, receiver, notification)
        except (DeliveryFailed, SecretUnavailable, ValueError) as error:
            failed.append(f"{receiver.name}: {error}")
            continue
        sent.append(receiver.name)
    return SendOutcome(tuple(sent), tuple(failed))


def deliver_all(
    notifier: Notifier, policy: PolicyRef, notifications: Iterable[Notification]
) -> DeliveryReport:
    """Sends each notification and records on its record what the send achieved (delivered,
    or when it is sent again: ``paging.after_send``)."""
    notes: list[Note] = []
    undelivered: list[str] = []
    for notification in notifications:
        outcome = notifier.send(policy.namespace, notification)
        update, more = after_send(notification, outcome.sent, outcome.failures, notifier.clock())
        notes.extend(more)
        action = "notify" if notification.event is NotificationEvent.TRIGGER else "resolve"
        result = Result.SUCCEEDED if outcome.ok else Result.FAILED
        count_result(policy, notification.rule, action, result)
        if not outcome.ok:
            undelivered.append(f"{notification.dedup_key}: {'; '.join(outcome.failures)}")
            logger.warning("%s/%s: %s", policy.namespace, policy.name, update.message)
        try:
            notifier.patch_record(policy.namespace, update.name, update.patch())
        except KubeApiError as error:  # not recorded: the next evaluation sends it again
            logger.warning("recording the delivery of %s failed: %s", update.name, error)
    return DeliveryReport(tuple(notes), tuple(undelivered))


def _send_one(delivery: Delivery, receiver: Receiver, notification: Notification) -> None:
    config = receiver.config
    if isinstance(config, PagerDutyReceiver):
        key = _secret(delivery, config.routing_key)
        _pagerduty(delivery, key, notification)
    elif isinstance(config, SlackReceiver):
        url = _secret(delivery, config.webhook_url)
        SlackClient(url, timeout=NOTIFY_TIMEOUT, retry=NOTIFY_RETRY).notify(_message(notification))
    else:
        _webhook(delivery, receiver.name, config, notification)


def _pagerduty(delivery: Delivery, key: Secret, notification: Notification) -> None:
    client = PagerDutyClient(
        key, url=delivery.pagerduty_url, timeout=NOTIFY_TIMEOUT, retry=NOTIFY_RETRY
    )
    if notification.event is NotificationEvent.RESOLVE:
        client.resolve(notification.dedup_key)
        return
    client.trigger(
        notification.summary,
        source=notification.target.node_name or notification.target.key,
        severity=pagerduty_severity(check_severity(str(notification.severity))),
        dedup_key=notification.dedup_key,
        component=notification.target.key,
        group=notification.details.get("policy") or delivery.namespace,
        class_=notification.rule,
        custom_details=dict(notification.details),
    )


def _webhook(
    delivery: Delivery, name: str, config: WebhookReceiver, notification: Notification
) -> None:
    url: str | Secret = config.url
    if config.url_secret is not None:
        url = _secret(delivery, config.url_secret)
    client = WebhookClient(
        url, name=name, headers=dict(config.headers), timeout=NOTIFY_TIMEOUT, retry=NOTIFY_RETRY
    )
    client.send(webhook_event(_message(notification)), idempotency_key=notification.key)


def _message(notification: Notification) -> Message:
    """The receiver-neutral message the Slack and webhook clients render."""
    return Message(
        key=notification.dedup_key,
        title=f"{notification.rule} on {notification.target.key}",
        summary=notification.summary,
        severity=check_severity(str(notification.severity)),
        rule=notification.rule,
        target=notification.target.key,
        value=notification.details.get("value"),
        resolved=notification.event is NotificationEvent.RESOLVE,
        details=dict(notification.details),
    )


def _secret(delivery: Delivery, ref: SecretKeyRef) -> Secret:
    return read_secret_value(delivery.kube, delivery.namespace, ref.name, ref.key)
