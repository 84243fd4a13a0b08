"""``spec.notifications``: receivers (PagerDuty, Slack, webhook) and routes by severity."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from caretaker.constants import Severity
from caretaker.domain.common.validation import SpecReader
from caretaker.domain.health.refs import SecretKeyRef, optional_key_ref, read_url

_RECEIVER_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")


@dataclass(frozen=True)
class PagerDutyReceiver:
    """PagerDuty Events API v2; the routing (integration) key comes from a Secret."""

    routing_key: SecretKeyRef


@dataclass(frozen=True)
class SlackReceiver:
    """A Slack incoming webhook; its URL (which is a credential) comes from a Secret."""

    webhook_url: SecretKeyRef
    channel: str = ""


@dataclass(frozen=True)
class WebhookReceiver:
    """A generic JSON webhook: a URL, or a URL kept in a Secret, and optional headers."""

    url: str = ""
    url_secret: SecretKeyRef | None = None
    headers: Mapping[str, str] = field(default_factory=dict)


ReceiverConfig = PagerDutyReceiver | SlackReceiver | WebhookReceiver


@dataclass(frozen=True)
class Receiver:
    name: str
    config: ReceiverConfig


@dataclass(frozen=True)
class Route:
    severity: Severity
    receivers: tuple[str, ...]


@dataclass(frozen=True)
class NotificationsSpec:
    receivers: tuple[Receiver, ...] = ()
    routes: tuple[Route, ...] = ()

    def route(self, severity: Severity) -> tuple[str, ...]:
        return next((r.receivers for r in self.routes if r.severity is severity), ())

    def receiver(self, name: str) -> Receiver | None:
        return next((r for r in self.receivers if r.name == name), None)


_KINDS = ("pagerduty", "slack", "webhook")


def read_notifications(r: SpecReader, raw: Mapping[str, Any]) -> NotificationsSpec:
    path = "spec.notifications"
    r.unknown_keys(raw, {"receivers", "routes"}, path)
    receivers = _read_receivers(r, raw.get("receivers", []), f"{path}.receivers")
    known = {receiver.name for receiver in receivers}
    routes = _read_routes(r, raw.get("routes", []), f"{path}.routes", known)
    return NotificationsSpec(receivers, routes)


def _objects(r: SpecReader, value: Any, path: str) -> list[tuple[str, Mapping[str, Any]]]:
    """The items of a list of objects with their paths; reports what is not an object."""
    if not isinstance(value, list):
        r.fail(path, "must be a list")
        return []
    items: list[tuple[str, Mapping[str, Any]]] = []
    for index, item in enumerate(value):
        if not isinstance(item, Mapping):
            r.fail(f"{path}[{index}]", "must be an object")
            continue
        items.append((f"{path}[{index}]", item))
    return items


def _read_receivers(r: SpecReader, value: Any, path: str) -> tuple[Receiver, ...]:
    receivers: list[Receiver] = []
    seen: set[str] = set()
    for item_path, item in _objects(r, value, path):
        r.unknown_keys(item, {"name", *_KINDS}, item_path)
        name = r.string(item, "name", item_path)
        if name is None:
            r.fail(f"{item_path}.name", "required")
        elif not _RECEIVER_NAME.match(name):
            r.fail(f"{item_path}.name", f"{name!r}: use lowercase letters, digits and '-'")
        elif name in seen:
            r.fail(f"{item_path}.name", f"receiver {name!r} is defined twice")
        kinds = [kind for kind in _KINDS if kind in item]
        if len(kinds) != 1:
            r.fail(item_path, "give exactly one of pagerduty, slack or webhook")
            continue
        config = _read_config(r, item, kinds[0], item_path)
        if name and config is not None and name not in seen:
            receivers.append(Receiver(name, config))
        seen.add(name or "")
    return tuple(receivers)


def _read_config(
    r: SpecReader, item: Mapping[str, Any], kind: str, item_path: str
) -> ReceiverConfig | None:
    section = r.section(item, kind, item_path)
    path = f"{item_path}.{kind}"
    if kind == "pagerduty":
        r.unknown_keys(section, {"routingKeySecretRef"}, path)
        key = optional_key_ref(r, section, "routingKeySecretRef", path)
        if "routingKeySecretRef" not in section:
            r.fail(f"{path}.routingKeySecretRef", "required: the Secret key with the routing key")
        return PagerDutyReceiver(key) if key else None
    if kind == "slack":
        r.unknown_keys(section, {"webhookUrlSecretRef", "channel"}, path)
        url = optional_key_ref(r, section, "webhookUrlSecretRef", path)
        if "webhookUrlSecretRef" not in section:
            r.fail(f"{path}.webhookUrlSecretRef", "required: the Secret key with the webhook URL")
        channel = r.string(section, "channel", path) or ""
        return SlackReceiver(url, channel) if url else None
    return read_webhook_target(r, section, path)


def read_webhook_target(r: SpecReader, section: Mapping[str, Any], path: str) -> WebhookReceiver:
    """``{url | urlSecretRef, headers}``: shared by the webhook receiver and webhook action."""
    r.unknown_keys(section, {"url", "urlSecretRef", "headers", "disruptive"}, path)
    url = read_url(r, section, "url", path) or ""
    secret = optional_key_ref(r, section, "urlSecretRef", path)
    if ("url" in section) == ("urlSecretRef" in section):
        r.fail(path, "give exactly one of url or urlSecretRef")
    return WebhookReceiver(url, secret, r.string_map(section, "headers", path))


def _read_routes(r: SpecReader, value: Any, path: str, known: set[str]) -> tuple[Route, ...]:
    routes: list[Route] = []
    seen: set[Severity] = set()
    for item_path, item in _objects(r, value, path):
        r.unknown_keys(item, {"severity", "receivers"}, item_path)
        text = item.get("severity")
        try:
            severity = Severity(text if isinstance(text, str) else "")
        except ValueError:
            r.fail(f"{item_path}.severity", f"must be routine, urgent or critical, not {text!r}")
            continue
        if severity in seen:
            r.fail(f"{item_path}.severity", f"severity {severity} has two routes")
        seen.add(severity)
        names = r.string_list(item, "receivers", item_path)
        if not names:
            r.fail(f"{item_path}.receivers", "list at least one receiver")
        for index, name in enumerate(names):
            if name not in known:
                r.fail(f"{item_path}.receivers[{index}]", f"no receiver named {name!r}")
        routes.append(Route(severity, names))
    return tuple(routes)
