"""Sends one Maintenance notification to one receiver with the notify clients, and finds the
receivers of a HealthPolicy (``spec.notifications.receiversFrom``).

Credentials (PagerDuty routing keys, Slack webhook URLs, webhook URLs kept in Secrets) are read
from Secrets in the Maintenance's namespace at send time, travel as ``Secret`` values and never
reach a log, an Event or the status: failure texts come from the clients, which redact them.
PagerDuty gets a change event (nobody is paged), Slack the text, a webhook a JSON event with the
stable dedup key as Idempotency-Key."""

from __future__ import annotations

from kubernetes.client import ApiClient

from caretaker.clients.kube.api import KubeApiError
from caretaker.clients.kube.custom import CustomRef, get_custom
from caretaker.clients.kube.secrets import read_secret_value
from caretaker.clients.notify import (
    JsonValue,
    PagerDutyChangeClient,
    RetryPolicy,
    Secret,
    SlackClient,
    WebhookClient,
    slack_escape,
)
from caretaker.clients.notify.notification import iso_utc
from caretaker.constants import HEALTH_POLICIES
from caretaker.domain.common.receivers import (
    PagerDutyReceiver,
    Receiver,
    SlackReceiver,
    read_receivers,
)
from caretaker.domain.common.secret_refs import SecretKeyRef
from caretaker.domain.common.validation import SpecReader
from caretaker.domain.maintenance.notify_record import Dispatch

# A reconcile must not wait long for a receiver: one retry, a few seconds each.
NOTIFY_RETRY = RetryPolicy(max_attempts=2, max_total_seconds=6.0, initial_backoff=0.3)
NOTIFY_TIMEOUT = 5.0
EVENT_VERSION = "caretaker.maintenance/v1"


class SentHere:
    """What this process has delivered, as (dedup key, receiver): a notification whose status
    write was lost (another writer changed the object in between: a conflict) is then not sent
    again by the next round. Bounded (the oldest are forgotten); gone with the process."""

    def __init__(self, limit: int = 2000) -> None:
        self._seen: dict[tuple[str, str], None] = {}
        self._limit = limit

    def __contains__(self, item: tuple[str, str]) -> bool:
        return item in self._seen

    def add(self, item: tuple[str, str]) -> None:
        self._seen[item] = None
        while len(self._seen) > self._limit:
            del self._seen[next(iter(self._seen))]

    def clear(self) -> None:
        self._seen.clear()


def maintenance_event(dispatch: Dispatch) -> dict[str, JsonValue]:
    """The webhook's JSON event (``version`` names the schema)."""
    record = dispatch.record
    return {
        "version": EVENT_VERSION,
        "key": dispatch.dedup_key,
        "event": str(record.event),
        "maintenance": {"namespace": dispatch.namespace, "name": dispatch.maintenance},
        "node": record.node or None,
        "osds": list(record.osds),
        "text": record.text,
        "occurred_at": iso_utc(record.at),
    }


def slack_text(dispatch: Dispatch) -> dict[str, JsonValue]:
    return {"text": f"*{slack_escape(dispatch.title)}*\n{slack_escape(dispatch.record.text)}"}


def change_details(dispatch: Dispatch) -> dict[str, JsonValue]:
    """PagerDuty's ``custom_details``: the webhook event, whose ``dedup_key`` is the stable key."""
    details = maintenance_event(dispatch)
    details["dedup_key"] = details.pop("key")
    return details


def send_to(kube: ApiClient, pagerduty_url: str, receiver: Receiver, dispatch: Dispatch) -> None:
    """Raises ``DeliveryFailed``, ``SecretUnavailable`` or ``ValueError`` (a bad URL)."""
    config, namespace = receiver.config, dispatch.namespace
    if isinstance(config, PagerDutyReceiver):
        key = _secret(kube, namespace, config.routing_key)
        client = PagerDutyChangeClient(
            key, events_url=pagerduty_url, timeout=NOTIFY_TIMEOUT, retry=NOTIFY_RETRY
        )
        source = dispatch.record.node or f"maintenance/{namespace}/{dispatch.maintenance}"
        summary = f"{dispatch.title}: {dispatch.record.text}"
        client.change(
            summary, source, timestamp=dispatch.record.at, custom_details=change_details(dispatch)
        )
    elif isinstance(config, SlackReceiver):
        url = _secret(kube, namespace, config.webhook_url)
        message = slack_text(dispatch)
        if config.channel:
            message["channel"] = config.channel
        SlackClient(url, timeout=NOTIFY_TIMEOUT, retry=NOTIFY_RETRY).post(message)
    else:
        target: str | Secret = config.url
        if config.url_secret is not None:
            target = _secret(kube, namespace, config.url_secret)
        webhook = WebhookClient(
            target,
            name=receiver.name,
            headers=dict(config.headers),
            timeout=NOTIFY_TIMEOUT,
            retry=NOTIFY_RETRY,
        )
        webhook.send(maintenance_event(dispatch), idempotency_key=dispatch.dedup_key)


def policy_receivers(kube: ApiClient, namespace: str, name: str) -> tuple[Receiver, ...]:
    """The receivers of HealthPolicy ``name``; ``LookupError`` says why there are none."""
    where = f"spec.notifications.receiversFrom: HealthPolicy {namespace}/{name}"
    try:
        policy = get_custom(kube, CustomRef(HEALTH_POLICIES, namespace, name))
    except KubeApiError as error:
        raise LookupError(f"{where} could not be read: {error}") from None
    if policy is None:
        raise LookupError(f"{where} does not exist")
    notifications = (policy.get("spec") or {}).get("notifications") or {}
    reader = SpecReader()
    path = "spec.notifications.receivers"
    receivers = read_receivers(reader, notifications.get("receivers") or [], path)
    if reader.errors:
        raise LookupError(f"{where} has invalid receivers: {reader.errors[0]}")
    if not receivers:
        raise LookupError(f"{where} has no receivers")
    return receivers


def _secret(kube: ApiClient, namespace: str, ref: SecretKeyRef) -> Secret:
    return read_secret_value(kube, namespace, ref.name, ref.key)
