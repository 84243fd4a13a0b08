"""``spec.notifications`` of a Maintenance: who is told how the maintenance goes, and of what.

The receivers have the schema of a HealthPolicy's (``domain.common.receivers``), or come from a
HealthPolicy of the same namespace (``receiversFrom.healthPolicy``) so a team keeps them in one
place. ``events`` picks what is sent (default: every event)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from caretaker.domain.common.receivers import Receiver, read_receivers
from caretaker.domain.common.validation import SpecReader

PATH = "spec.notifications"


class NotifyEvent(StrEnum):
    STARTED = "Started"  # the first node started
    NODE_READY = "NodeReady"  # a node is drained and held for the technician
    RELEASED = "Released"  # a held node was released (by a person, or its hold ended)
    NODE_COMPLETED = "NodeCompleted"  # a node is restored and healthy
    COMPLETED = "Completed"  # every node is done
    FAILED = "Failed"  # the Maintenance failed or was aborted
    STALLED = "Stalled"  # it cannot go on by itself (once per stall)


ALL_EVENTS = frozenset(NotifyEvent)


@dataclass(frozen=True)
class NotificationsSpec:
    receivers: tuple[Receiver, ...] = ()
    health_policy: str = ""  # receiversFrom.healthPolicy: that policy's receivers instead
    events: frozenset[NotifyEvent] = ALL_EVENTS


def read_maintenance_notifications(r: SpecReader, raw: Mapping[str, Any]) -> NotificationsSpec:
    r.unknown_keys(raw, {"receivers", "receiversFrom", "events"}, PATH)
    receivers: tuple[Receiver, ...] = ()
    if "receivers" in raw:
        receivers = read_receivers(r, raw["receivers"], f"{PATH}.receivers", owner="Maintenance")
        if not receivers and isinstance(raw["receivers"], list) and not raw["receivers"]:
            r.fail(f"{PATH}.receivers", "list at least one receiver, or use receiversFrom")
    policy = ""
    if "receiversFrom" in raw:
        section = r.section(raw, "receiversFrom", PATH)
        r.unknown_keys(section, {"healthPolicy"}, f"{PATH}.receiversFrom")
        policy = r.string(section, "healthPolicy", f"{PATH}.receiversFrom") or ""
        if "healthPolicy" not in section and isinstance(raw["receiversFrom"], Mapping):
            r.fail(
                f"{PATH}.receiversFrom.healthPolicy",
                "required: the name of a HealthPolicy in the Maintenance's namespace",
            )
    if ("receivers" in raw) == ("receiversFrom" in raw):
        r.fail(PATH, "give exactly one of receivers or receiversFrom")
    return NotificationsSpec(receivers, policy, _read_events(r, raw))


def _read_events(r: SpecReader, raw: Mapping[str, Any]) -> frozenset[NotifyEvent]:
    if "events" not in raw:
        return ALL_EVENTS
    path = f"{PATH}.events"
    names = r.string_list(raw, "events", PATH)
    if not names and isinstance(raw["events"], list):
        r.fail(path, "list at least one event, or leave events out to send them all")
    events: set[NotifyEvent] = set()
    known = ", ".join(NotifyEvent)
    for index, name in enumerate(names):
        try:
            event = NotifyEvent(name)
        except ValueError:
            r.fail(f"{path}[{index}]", f"{name!r} is not an event; use {known}")
            continue
        if event in events:
            r.fail(f"{path}[{index}]", f"{name} is listed twice")
        events.add(event)
    return frozenset(events)
