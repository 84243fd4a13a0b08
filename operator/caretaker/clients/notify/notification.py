"""The event Caretaker tells people about, as the notifiers receive it.

``Notification`` is receiver-neutral: Slack and the generic webhook render it themselves
(``slack.slack_message``, ``webhook.webhook_event``); PagerDuty takes its fields explicitly
(``PagerDutyClient.trigger``). Severities are Caretaker's own: ``routine`` (look at it during work
hours), ``urgent`` (look at it today) and ``critical`` (wake someone up).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Literal, TypeAlias

from caretaker.constants import Severity

JsonValue: TypeAlias = (
    "str | int | float | bool | Sequence[JsonValue] | Mapping[str, JsonValue] | None"
)
SEVERITIES: tuple[Severity, ...] = tuple(Severity)


def check_severity(severity: str) -> Severity:
    """``severity`` if it is one of Caretaker's severities, else ``ValueError``."""
    try:
        return Severity(severity)
    except ValueError:
        known = ", ".join(SEVERITIES)
        raise ValueError(f"unknown severity {severity!r}; expected one of {known}") from None


@dataclass(frozen=True)
class Link:
    """A link shown with the event (a runbook, a dashboard)."""

    href: str
    text: str = ""

    def __post_init__(self) -> None:
        if not self.href.startswith(("http://", "https://")):
            raise ValueError("link href must be an http(s) URL")


@dataclass(frozen=True)
class Notification:
    """One event about one target, e.g. rule "osd-down" firing for target "osd.3".

    ``key`` identifies the problem across its lifetime (the PagerDuty dedup key: the trigger and
    the resolve of one problem share it). ``value`` is the observed value that broke the rule,
    already formatted ("3 of 12 OSDs down").
    """

    key: str
    title: str
    summary: str
    severity: Severity
    rule: str
    target: str
    value: str | None = None
    resolved: bool = False
    details: Mapping[str, JsonValue] = field(default_factory=lambda: MappingProxyType({}))
    links: tuple[Link, ...] = ()
    occurred_at: datetime | None = None
    source: str = "caretaker"

    def __post_init__(self) -> None:
        if not self.key:
            raise ValueError("notification key must not be empty")
        if self.occurred_at is not None and self.occurred_at.tzinfo is None:
            raise ValueError("occurred_at must carry a time zone")
        check_severity(self.severity)
        object.__setattr__(self, "details", MappingProxyType(dict(self.details)))
        object.__setattr__(self, "links", tuple(self.links))

    @property
    def state(self) -> Literal["firing", "resolved"]:
        return "resolved" if self.resolved else "firing"


def iso_utc(moment: datetime) -> str:
    """RFC 3339 in UTC with milliseconds, e.g. ``2024-05-01T10:00:00.000Z``."""
    if moment.tzinfo is None:
        raise ValueError("datetime must carry a time zone")
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
