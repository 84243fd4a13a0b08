"""Changes to Remediation records: merge patches of a record's status, one per record."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from caretaker.domain.health.status import Result, stamp


@dataclass(frozen=True)
class RecordUpdate:
    """A merge patch for a record's status: a result, or the episode's recovery."""

    name: str
    result: Result | None = None
    message: str | None = None
    finished_at: datetime | None = None
    recovered_at: datetime | None = None
    time_to_recover: timedelta | None = None
    delivery: Mapping[str, Any] | None = None  # merge patch of status.delivery
    resolve: Mapping[str, Any] | None = None  # merge patch of status.resolve

    def patch(self) -> dict[str, Any]:
        status: dict[str, Any] = {}
        if self.result is not None:
            status["result"] = str(self.result)
        if self.message:
            status["message"] = self.message
        if self.finished_at is not None:
            status["finishedAt"] = stamp(self.finished_at)
        if self.recovered_at is not None:
            status["recoveredAt"] = stamp(self.recovered_at)
        if self.time_to_recover is not None:
            status["timeToRecoverSeconds"] = int(self.time_to_recover.total_seconds())
        if self.delivery is not None:
            status["delivery"] = dict(self.delivery)
        if self.resolve is not None:
            status["resolve"] = dict(self.resolve)
        return {"status": status}


def merge_updates(updates: Sequence[RecordUpdate]) -> tuple[RecordUpdate, ...]:
    """One update per record, in first-seen order; later non-empty fields win."""
    merged: dict[str, RecordUpdate] = {}
    for update in updates:
        old = merged.get(update.name)
        if old is None:
            merged[update.name] = update
            continue
        merged[update.name] = RecordUpdate(
            update.name,
            update.result if update.result is not None else old.result,
            update.message if update.message is not None else old.message,
            update.finished_at or old.finished_at,
            update.recovered_at or old.recovered_at,
            update.time_to_recover if update.time_to_recover is not None else old.time_to_recover,
            _merged(old.delivery, update.delivery),
            _merged(old.resolve, update.resolve),
        )
    return tuple(merged.values())


def _merged(
    old: Mapping[str, Any] | None, new: Mapping[str, Any] | None
) -> Mapping[str, Any] | None:
    if old is None or new is None:
        return new if new is not None else old
    return {**old, **new}
