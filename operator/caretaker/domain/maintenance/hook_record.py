"""What a Maintenance's status remembers of its hooks (``status.hooks``): one entry per
(stage, node, hook name). A hook whose entry says Succeeded is never run again, so a restarted
operator neither repeats a finished Job nor opens a second ticket once the first was recorded."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from caretaker.domain.common.timestamps import format_time, parse_time


class HookState(StrEnum):
    RUNNING = "Running"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"


@dataclass(frozen=True)
class HookRecord:
    stage: str  # a HookStage value
    node: str  # "" for the Maintenance stages
    name: str
    kind: str  # "http" or "job"
    state: HookState = HookState.RUNNING
    attempts: int = 0  # HTTP requests sent (job: Jobs created)
    ticket: str = ""  # from the answer's ticketField
    job: str = ""  # the Job's name
    message: str = ""
    generation: int = 0  # the Maintenance generation the hook last ran under
    started_at: datetime | None = None
    finished_at: datetime | None = None

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.stage, self.node, self.name)

    def with_(self, **changes: Any) -> HookRecord:
        return replace(self, **changes)


def find_hook(
    records: tuple[HookRecord, ...], stage: str, node: str, name: str
) -> HookRecord | None:
    return next((h for h in records if h.key == (stage, node, name)), None)


def put_hook(records: tuple[HookRecord, ...], record: HookRecord) -> tuple[HookRecord, ...]:
    """``records`` with ``record`` in place of the entry of the same key (or added)."""
    if any(h.key == record.key for h in records):
        return tuple(record if h.key == record.key else h for h in records)
    return (*records, record)


def hook_to_dict(record: HookRecord) -> dict[str, Any]:
    out: dict[str, Any] = {
        "stage": record.stage,
        "name": record.name,
        "kind": record.kind,
        "state": str(record.state),
        "attempts": record.attempts,
        "generation": record.generation,
        "startedAt": format_time(record.started_at) if record.started_at else None,
        "finishedAt": format_time(record.finished_at) if record.finished_at else None,
    }
    optional = {
        "node": record.node,
        "ticket": record.ticket,
        "job": record.job,
        "message": record.message,
    }
    out.update({key: value for key, value in optional.items() if value})
    return out


def hook_from_dict(raw: Mapping[str, Any]) -> HookRecord:
    try:
        state = HookState(raw.get("state", HookState.RUNNING))
    except ValueError:
        state = HookState.RUNNING
    return HookRecord(
        stage=str(raw.get("stage") or ""),
        node=str(raw.get("node") or ""),
        name=str(raw.get("name") or ""),
        kind=str(raw.get("kind") or "http"),
        state=state,
        attempts=int(raw.get("attempts") or 0),
        ticket=str(raw.get("ticket") or ""),
        job=str(raw.get("job") or ""),
        message=str(raw.get("message") or ""),
        generation=int(raw.get("generation") or 0),
        started_at=parse_time(raw.get("startedAt")),
        finished_at=parse_time(raw.get("finishedAt")),
    )


def hooks_from_status(raw: Mapping[str, Any] | None) -> tuple[HookRecord, ...]:
    items = (raw or {}).get("hooks") or ()
    return tuple(hook_from_dict(h) for h in items if isinstance(h, Mapping))


@dataclass(frozen=True)
class HookJobView:
    """A hook's Job as the snapshot read it: finished (Complete or Failed) or not yet."""

    name: str
    complete: bool = False
    failed: bool = False
    message: str = ""  # the Failed condition's reason and message
