"""Notification receivers (PagerDuty, Slack, webhook) as a spec names them, and their reader.

One schema for every object that notifies people: a HealthPolicy's and a Maintenance's
``spec.notifications.receivers`` are read by ``read_receivers``. Credentials (routing keys,
webhook URLs) stay in Secrets of the object's namespace; the spec only names them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from caretaker.domain.common.secret_refs import SecretKeyRef, read_secret_key_ref
from caretaker.domain.common.validation import SpecReader

RECEIVER_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
RECEIVER_KINDS = ("pagerduty", "slack", "webhook")
_URL = re.compile(r"^https?://[^\s/]+")


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


def objects_at(r: SpecReader, value: Any, path: str) -> list[tuple[str, Mapping[str, Any]]]:
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


def read_receivers(
    r: SpecReader, value: Any, path: str, *, owner: str = "policy"
) -> tuple[Receiver, ...]:
    """``[{name, pagerduty | slack | webhook}]``; ``owner`` names the object in messages."""
    receivers: list[Receiver] = []
    seen: set[str] = set()
    for item_path, item in objects_at(r, value, path):
        r.unknown_keys(item, {"name", *RECEIVER_KINDS}, item_path)
        name = r.string(item, "name", item_path)
        if name is None:
            r.fail(f"{item_path}.name", "required")
        elif not RECEIVER_NAME.match(name):
            r.fail(f"{item_path}.name", f"{name!r}: use lowercase letters, digits and '-'")
        elif name in seen:
            r.fail(f"{item_path}.name", f"receiver {name!r} is defined twice")
        kinds = [kind for kind in RECEIVER_KINDS if kind in item]
        if len(kinds) != 1:
            r.fail(item_path, "give exactly one of pagerduty, slack or webhook")
            continue
        config = _read_config(r, item, kinds[0], item_path, owner)
        if name and config is not None and name not in seen:
            receivers.append(Receiver(name, config))
        seen.add(name or "")
    return tuple(receivers)


def _read_config(
    r: SpecReader, item: Mapping[str, Any], kind: str, item_path: str, owner: str
) -> ReceiverConfig | None:
    section = r.section(item, kind, item_path)
    path = f"{item_path}.{kind}"
    if kind == "pagerduty":
        r.unknown_keys(section, {"routingKeySecretRef"}, path)
        key = optional_key_ref(r, section, "routingKeySecretRef", path, owner=owner)
        if "routingKeySecretRef" not in section:
            r.fail(f"{path}.routingKeySecretRef", "required: the Secret key with the routing key")
        return PagerDutyReceiver(key) if key else None
    if kind == "slack":
        r.unknown_keys(section, {"webhookUrlSecretRef", "channel"}, path)
        url = optional_key_ref(r, section, "webhookUrlSecretRef", path, owner=owner)
        if "webhookUrlSecretRef" not in section:
            r.fail(f"{path}.webhookUrlSecretRef", "required: the Secret key with the webhook URL")
        channel = r.string(section, "channel", path) or ""
        return SlackReceiver(url, channel) if url else None
    return read_webhook_target(r, section, path, owner=owner)


def read_webhook_target(
    r: SpecReader, section: Mapping[str, Any], path: str, *, owner: str = "policy"
) -> WebhookReceiver:
    """``{url | urlSecretRef, headers}``: shared by the webhook receiver and webhook action."""
    r.unknown_keys(section, {"url", "urlSecretRef", "headers", "disruptive"}, path)
    url = read_url(r, section, "url", path) or ""
    secret = optional_key_ref(r, section, "urlSecretRef", path, owner=owner)
    if ("url" in section) == ("urlSecretRef" in section):
        r.fail(path, "give exactly one of url or urlSecretRef")
    return WebhookReceiver(url, secret, r.string_map(section, "headers", path))


def optional_key_ref(
    r: SpecReader, raw: Mapping[str, Any], key: str, path: str, *, owner: str = "policy"
) -> SecretKeyRef | None:
    if key not in raw:
        return None
    section = r.section(raw, key, path)
    if not section and not isinstance(raw[key], Mapping):
        return None  # the reader already said "must be an object"
    return read_secret_key_ref(r, section, f"{path}.{key}", owner=owner)


def read_url(r: SpecReader, raw: Mapping[str, Any], key: str, path: str) -> str | None:
    url = r.string(raw, key, path)
    problem = url_problem(url) if url is not None else None
    if problem:
        r.fail(f"{path}.{key}", problem)
        return None
    return url


def url_problem(url: str) -> str | None:
    """Why ``url`` cannot be called, or None: an http(s) URL with a host and a usable port."""
    if not _URL.match(url):
        return f"{url!r} is not an http:// or https:// URL"
    try:
        parts = urlsplit(url)
    except ValueError:
        return f"{url!r} is not a valid URL (check the [IPv6] host)"
    if not parts.hostname:
        return f"{url!r} has no host name"
    try:
        port = parts.port
    except ValueError:
        port = 0  # not a number, or out of range
    if port == 0:
        return f"{url!r} has no valid port: give a number from 1 to 65535 after the host"
    return None
