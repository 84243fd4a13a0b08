"""``status.notifications``: what each Maintenance notification reached, and when to try again.

Delivery is at least once per receiver: a notification is recorded (in the same status write as
the fact it tells) before anyone has it, then sent; what a receiver accepted is recorded as
delivered and never sent to it again, what it refused is sent again ``RETRY_AFTER`` later, at
most ``MAX_ATTEMPTS`` times in all, then reported (the ``NotificationsDelivered`` condition stays
False). One sent but not recorded (the operator stopped, or the status write lost a conflict)
is sent once more. Delivered records beyond the newest ``KEEP_DELIVERED`` are dropped."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from caretaker.domain.common.conditions import FALSE, TRUE, Condition
from caretaker.domain.common.reasons import WARNING, Note, Reason
from caretaker.domain.common.timestamps import format_time, parse_time
from caretaker.domain.maintenance.notifications import Announcement
from caretaker.domain.maintenance.notify_spec import NotifyEvent

CONDITION = "NotificationsDelivered"
MAX_ATTEMPTS = 5
RETRY_AFTER = timedelta(seconds=30)
KEEP_DELIVERED = 20
RESOLVING = "receivers"  # the failure key when the receivers could not be found at all


@dataclass(frozen=True)
class NotificationRecord:
    key: str
    event: NotifyEvent
    text: str
    at: datetime  # when it became due
    node: str = ""
    osds: tuple[int, ...] = ()
    delivered: tuple[str, ...] = ()  # receivers that accepted it
    failed: Mapping[str, str] = field(default_factory=dict)  # receiver -> why, last attempt
    attempts: int = 0
    last_attempt: datetime | None = None

    @property
    def exhausted(self) -> bool:
        return self.attempts >= MAX_ATTEMPTS

    def undelivered(self, receivers: Iterable[str]) -> tuple[str, ...]:
        return tuple(r for r in receivers if r not in self.delivered)


@dataclass(frozen=True)
class Dispatch:
    """One notification on its way to the receivers; ``dedup_key`` is the same on every retry and
    after a restart (webhooks get it as Idempotency-Key, PagerDuty in its custom details)."""

    namespace: str
    maintenance: str
    dedup_key: str
    record: NotificationRecord

    @property
    def title(self) -> str:
        return f"Maintenance {self.namespace}/{self.maintenance}: {self.record.event}"


def dedup_key(uid: str, namespace: str, name: str, key: str) -> str:
    """``caretaker/maintenance/<uid>/<key>`` (a Maintenance made again under the same name is
    another one); without a uid, ``<namespace>/<name>``."""
    return f"caretaker/maintenance/{uid or f'{namespace}/{name}'}/{key}"


def new_record(announcement: Announcement, now: datetime) -> NotificationRecord:
    a = announcement
    return NotificationRecord(a.key, a.event, a.text, now, a.node, a.osds)


def wants_attempt(record: NotificationRecord, now: datetime) -> bool:
    """Whether ``record`` is to be sent this round (to some receivers)."""
    if record.exhausted or (record.attempts and not record.failed):
        return False
    return record.last_attempt is None or now - record.last_attempt >= RETRY_AFTER


def to_send(
    record: NotificationRecord, receivers: Iterable[str] | None, now: datetime
) -> tuple[str, ...] | None:
    """The receivers to send ``record`` to now (``None``: nothing to do this round). With
    ``receivers`` None (they could not be found) a due attempt returns ``()``."""
    if record.exhausted:
        return None
    if record.last_attempt is not None and now - record.last_attempt < RETRY_AFTER:
        return None
    if receivers is None:
        return () if record.attempts == 0 or record.failed else None
    names = record.undelivered(receivers)
    if not names or (record.attempts and not record.failed):
        return None
    return names


def settle(
    record: NotificationRecord, sent: Iterable[str], failed: Mapping[str, str], now: datetime
) -> tuple[NotificationRecord, tuple[Note, ...]]:
    """The record after an attempt, and a Warning Event for each failure."""
    delivered = (*record.delivered, *(s for s in sent if s not in record.delivered))
    record = replace(
        record,
        delivered=delivered,
        failed=dict(failed),
        attempts=record.attempts + 1,
        last_attempt=now,
    )
    notes = tuple(
        Note(WARNING, Reason.NOTIFICATION_FAILED, _failure(record, name, why))
        for name, why in sorted(failed.items())
    )
    return record, notes


def _failure(record: NotificationRecord, receiver: str, why: str) -> str:
    then = (
        "giving up" if record.exhausted else f"trying again in {int(RETRY_AFTER.total_seconds())}s"
    )
    return (
        f"{record.event} notification {record.key} to {receiver} failed "
        f"(attempt {record.attempts} of {MAX_ATTEMPTS}, {then}): {why}"
    )


def bounded(records: Iterable[NotificationRecord]) -> tuple[NotificationRecord, ...]:
    """Every record still failing, and the newest ``KEEP_DELIVERED`` of the others."""
    items = list(records)
    settled = [r for r in items if not r.failed and r.attempts]
    drop = {id(r) for r in settled[: max(0, len(settled) - KEEP_DELIVERED)]}
    return tuple(r for r in items if id(r) not in drop)


def notifications_condition(records: Iterable[NotificationRecord]) -> Condition:
    items = list(records)
    failing = [r for r in items if r.failed]
    if not failing:
        waiting = sum(not r.attempts for r in items)
        text = f"{len(items) - waiting} notification(s) delivered"
        return Condition(CONDITION, TRUE, Reason.NOTIFICATIONS_DELIVERED, text)
    parts = [
        f"{r.key} to {', '.join(sorted(r.failed))}: {'; '.join(r.failed.values())}" for r in failing
    ]
    gave_up = any(r.exhausted for r in failing)
    reason = Reason.NOTIFICATIONS_GAVE_UP if gave_up else Reason.NOTIFICATIONS_PENDING
    return Condition(CONDITION, FALSE, reason, "not delivered: " + " | ".join(parts))


def record_to_dict(record: NotificationRecord) -> dict[str, Any]:
    return {
        "key": record.key,
        "event": str(record.event),
        "node": record.node or None,
        "osds": list(record.osds),
        "text": record.text,
        "at": format_time(record.at),
        "delivered": list(record.delivered),
        "failed": dict(record.failed) or None,
        "attempts": record.attempts,
        "lastAttempt": format_time(record.last_attempt) if record.last_attempt else None,
    }


def records_from(raw: Any) -> tuple[NotificationRecord, ...]:
    """``status.notifications`` as read; entries that cannot be read are left out."""
    if not isinstance(raw, list):
        return ()
    records: list[NotificationRecord] = []
    for item in raw:
        try:
            records.append(_record_from(item))
        except (KeyError, TypeError, ValueError):
            continue
    return tuple(records)


def _record_from(raw: Mapping[str, Any]) -> NotificationRecord:
    at = parse_time(raw["at"])
    if at is None:
        raise ValueError("no time")
    failed = raw.get("failed") or {}
    return NotificationRecord(
        key=str(raw["key"]),
        event=NotifyEvent(raw["event"]),
        text=str(raw.get("text") or ""),
        at=at,
        node=str(raw.get("node") or ""),
        osds=tuple(int(i) for i in raw.get("osds") or ()),
        delivered=tuple(str(r) for r in raw.get("delivered") or ()),
        failed={str(k): str(v) for k, v in failed.items()},
        attempts=int(raw.get("attempts") or 0),
        last_attempt=parse_time(raw.get("lastAttempt")),
    )
