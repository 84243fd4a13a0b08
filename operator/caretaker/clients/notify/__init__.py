"""Telling people (and automation) about Caretaker events: PagerDuty, Slack, JSON webhooks; and
Alertmanager silences.

Usage::

    pagerduty = PagerDutyClient(Secret(routing_key))            # url= for a proxy or a test
    pagerduty.trigger("3 OSDs down on node-7", source="osd.3", severity="critical",
                      dedup_key="caretaker/osd-down/osd.3", custom_details={"down": 3})
    pagerduty.resolve("caretaker/osd-down/osd.3")
    PagerDutyChangeClient(Secret(routing_key)).change("node-7 ready", source="node-7")

    SlackClient(Secret(webhook_url)).notify(notification)         # text + blocks
    WebhookClient(url, headers={"Authorization": Secret("Bearer t")},
                  signing_secret=Secret(key)).notify(notification)

    silences = AlertmanagerClient("http://alertmanager:9093")
    silence_id = silences.create_silence([Matcher("instance", "node-7")], start, end,
                                         created_by="caretaker", comment="maintenance MW-12")
    silences.expire_silence(silence_id)

Every send returns ``Delivered`` or raises ``DeliveryFailed`` (``retryable``, ``status``,
``message``). Transient failures are retried within a bounded time (``RetryPolicy``). Clients
block: call them from async code with ``asyncio.to_thread``. Secrets (routing keys, webhook URLs,
Authorization headers, signing keys) are ``Secret`` values and never appear in reprs, errors or
logs.
"""

from caretaker.clients.notify.alertmanager import AlertmanagerClient
from caretaker.clients.notify.notification import (
    SEVERITIES,
    JsonValue,
    Link,
    Notification,
    check_severity,
)
from caretaker.clients.notify.outcome import Delivered, DeliveryFailed
from caretaker.clients.notify.pagerduty import (
    DEFAULT_EVENTS_URL,
    PagerDutyClient,
    PagerDutySeverity,
    action_body,
    pagerduty_severity,
    trigger_body,
)
from caretaker.clients.notify.pagerduty_change import (
    PagerDutyChangeClient,
    change_body,
    change_events_url,
)
from caretaker.clients.notify.secret import Secret, redact
from caretaker.clients.notify.silences import Matcher, Silence, SilenceState
from caretaker.clients.notify.slack import SlackClient, slack_escape, slack_message
from caretaker.clients.notify.webhook import (
    IDEMPOTENCY_HEADER,
    SIGNATURE_HEADER,
    WebhookClient,
    sign,
    webhook_event,
)
from caretaker.clients.notify.wire import (
    NO_RETRIES,
    RetryPolicy,
)
from caretaker.constants import Severity

__all__ = [
    "DEFAULT_EVENTS_URL",
    "IDEMPOTENCY_HEADER",
    "NO_RETRIES",
    "SEVERITIES",
    "SIGNATURE_HEADER",
    "AlertmanagerClient",
    "Delivered",
    "DeliveryFailed",
    "JsonValue",
    "Link",
    "Matcher",
    "Notification",
    "PagerDutyChangeClient",
    "PagerDutyClient",
    "PagerDutySeverity",
    "RetryPolicy",
    "Secret",
    "Severity",
    "Silence",
    "SilenceState",
    "SlackClient",
    "WebhookClient",
    "action_body",
    "change_body",
    "change_events_url",
    "check_severity",
    "pagerduty_severity",
    "redact",
    "sign",
    "slack_escape",
    "slack_message",
    "trigger_body",
    "webhook_event",
]
