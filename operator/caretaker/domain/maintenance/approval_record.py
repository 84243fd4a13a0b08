"""What the status remembers of an approval: who gave it and when the operator first saw it
(``status.approval`` for the Maintenance, ``approvedBy``/``approvedAt`` on a node's record)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from caretaker.domain.common.timestamps import format_time, parse_time


@dataclass(frozen=True)
class ApprovalRecord:
    by: str
    at: datetime


def approval_to_dict(record: ApprovalRecord | None) -> dict[str, Any] | None:
    if record is None:
        return None
    return {"approvedBy": record.by, "approvedAt": format_time(record.at)}


def approval_from_dict(raw: object) -> ApprovalRecord | None:
    if not isinstance(raw, Mapping):
        return None
    at = parse_time(raw.get("approvedAt"))
    by = str(raw.get("approvedBy") or "")
    return ApprovalRecord(by, at) if by and at else None
