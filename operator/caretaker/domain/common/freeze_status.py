"""A MaintenanceFreeze's own status: whether it is active now, until when, and when it next
opens, so that ``kubectl get maintenancefreeze`` answers "is anything frozen right now?"
without reading cron expressions. Pure; ``handlers.freeze.status`` writes it.

Whether a freeze is active is decided by ``domain.common.freeze.active_freeze``, the function
the Maintenances and HealthPolicies use, so the freeze's status cannot disagree with theirs. A
freeze with an invalid spec is active everywhere (fail closed): its status says so, names the
field, and is Stalled until a person fixes it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from caretaker.domain.common.conditions import FALSE, TRUE, Condition, kstatus, merge_conditions
from caretaker.domain.common.freeze import Freeze, active_freeze, next_start
from caretaker.domain.common.timestamps import format_time

ACTIVE = "Active"
EVERYWHERE = ""  # active_freeze asks per namespace; a freeze without namespaces names none


@dataclass(frozen=True)
class FreezeStatus:
    doc: dict[str, Any]  # the status subresource as it should be
    changes_at: datetime | None  # when it will next change by itself (a window opens or ends)


def freeze_status(
    freeze: Freeze,
    now: datetime,
    generation: int,
    previous: Sequence[Mapping[str, Any]] = (),
) -> FreezeStatus:
    """The status of one freeze at ``now``."""
    if freeze.spec is None:
        why = "; ".join(str(e) for e in freeze.errors[:5])
        message = f"invalid spec, counted as active in every namespace until fixed: {why}"
        wanted = [
            Condition(ACTIVE, TRUE, "InvalidSpec", message),
            *kstatus(False, "InvalidSpec", message, stalled=True),
        ]
        doc = _doc(_Seen(True, None, None, message), wanted, previous, now, generation)
        return FreezeStatus(doc, None)
    namespaces = freeze.spec.namespaces or (EVERYWHERE,)
    found = next(
        (a for ns in namespaces if (a := active_freeze(freeze, ns, now)) is not None), None
    )
    upcoming = next_start((freeze,), now)
    where = ", ".join(freeze.spec.namespaces) if freeze.spec.namespaces else "every namespace"
    if found is not None:
        until = f" until {format_time(found.until)}" if found.until else ""
        message = f"active{until} in {where}: {freeze.spec.reason}"
        active = Condition(ACTIVE, TRUE, "WindowOpen", message)
    else:
        opens = f"; next window opens {format_time(upcoming)}" if upcoming else "; no window ahead"
        message = f"not active{opens}"
        active = Condition(ACTIVE, FALSE, "NoWindowOpen", message)
    wanted = [active, *kstatus(True, active.reason, message, stalled=False)]
    until_at = found.until if found else None
    seen = _Seen(found is not None, until_at, upcoming, message)
    doc = _doc(seen, wanted, previous, now, generation)
    changes = [t for t in (until_at, upcoming) if t is not None and t > now]
    return FreezeStatus(doc, min(changes, default=None))


@dataclass(frozen=True)
class _Seen:
    active: bool
    until: datetime | None
    upcoming: datetime | None
    message: str


def _doc(
    seen: _Seen,
    wanted: Sequence[Condition],
    previous: Sequence[Mapping[str, Any]],
    now: datetime,
    generation: int,
) -> dict[str, Any]:
    return {
        "active": seen.active,
        "activeUntil": format_time(seen.until) if seen.until else None,
        "nextStart": format_time(seen.upcoming) if seen.upcoming else None,
        "message": seen.message,
        "observedGeneration": generation,
        "conditions": merge_conditions(previous, wanted, now, generation),
    }
