"""``spec.notifications``: receivers (PagerDuty, Slack, webhook) and routes by severity."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from caretaker.constants import Severity
from caretaker.domain.common.receivers import (
    PagerDutyReceiver,
    Receiver,
    ReceiverConfig,
    SlackReceiver,
    WebhookReceiver,
    objects_at,
    read_receivers,
    read_webhook_target,
)
from caretaker.domain.common.validation import SpecReader

__all__ = [
    "NotificationsSpec",
    "PagerDutyReceiver",
    "Receiver",
    "ReceiverConfig",
    "Route",
    "SlackReceiver",
    "WebhookReceiver",
    "read_notifications",
    "read_webhook_target",
]


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


def read_notifications(r: SpecReader, raw: Mapping[str, Any]) -> NotificationsSpec:
    path = "spec.notifications"
    r.unknown_keys(raw, {"receivers", "routes"}, path)
    receivers = read_receivers(r, raw.get("receivers", []), f"{path}.receivers")
    known = {receiver.name for receiver in receivers}
    routes = _read_routes(r, raw.get("routes", []), f"{path}.routes", known)
    return NotificationsSpec(receivers, routes)


def _read_routes(r: SpecReader, value: Any, path: str, known: set[str]) -> tuple[Route, ...]:
    routes: list[Route] = []
    seen: set[Severity] = set()
    for item_path, item in objects_at(r, value, path):
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
