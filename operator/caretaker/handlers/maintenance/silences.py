"""Carries out the round's silence work (``domain.maintenance.silence``) against Alertmanager.

Before creating, the node's active silences are looked up by ID and by the marker in their
comment, so a restarted operator, or one whose create answer was lost, extends the silence that
exists instead of adding another. Nothing here raises: a failure is handed back as text, and
becomes the ``Silenced`` condition and a Warning Event; the maintenance goes on."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

from caretaker.clients.kube.secrets import SecretUnavailable
from caretaker.clients.notify.outcome import DeliveryFailed
from caretaker.clients.notify.silences import Matcher, Silence
from caretaker.domain.common.reasons import Note
from caretaker.domain.maintenance.silence import (
    ExpireSilences,
    HoldSilences,
    SilenceWork,
    plan_silences,
    settle,
    silence_spec_of,
)
from caretaker.domain.maintenance.silence_record import CREATED_BY
from caretaker.domain.maintenance.status import MaintenanceStatus
from caretaker.domain.maintenance.world import World
from caretaker.handlers.maintenance.ports import MaintenancePorts, SilenceDraft

logger = logging.getLogger("caretaker.maintenance")


def keep_silences(
    ports: MaintenancePorts, world: World, status: MaintenanceStatus
) -> tuple[MaintenanceStatus, tuple[Note, ...]]:
    """Creates, extends or expires the silences this round calls for; returns the status with
    the outcome in each node's record, and the Events to post."""
    spec = silence_spec_of(world)
    status, work = plan_silences(status, spec, world.identity, world.now, world.deleting)
    notes: tuple[Note, ...] = ()
    for item in work:
        record = status.node(item.node)
        if record is None:
            continue
        ids, error = _carry_out(ports, item, world.now)
        record, more = settle(record, item, ids, error, world.now)
        status, notes = status.replace_node(record), (*notes, *more)
    return status, notes


def _carry_out(
    ports: MaintenancePorts, item: SilenceWork, now: datetime
) -> tuple[tuple[str, ...] | None, str]:
    try:
        if isinstance(item, HoldSilences):
            return _hold(ports, item), ""
        _expire(ports, item)
        return item.ids, ""
    except Exception as error:  # noqa: BLE001 - a silence never stops the maintenance
        logger.warning("silence work for node %s failed: %s", item.node, error)
        return None, _failure_text(error)


def _hold(ports: MaintenancePorts, item: HoldSilences) -> tuple[str, ...]:
    active = ports.live_silences(item.alertmanager)
    ids: list[str] = []
    for known, marker, group in zip(item.ids, item.markers, item.matchers, strict=True):
        found = _find(active, known, marker)
        draft = SilenceDraft(
            matchers=tuple(Matcher(m.name, m.value, m.is_regex, m.is_equal) for m in group),
            starts_at=found.starts_at if found is not None else item.starts_at,
            ends_at=item.ends_at,
            created_by=CREATED_BY,
            comment=f"{item.comment} [{marker}]",
        )
        ids.append(ports.put_silence(item.alertmanager, found.id if found else None, draft))
    return tuple(ids)


def _find(active: Sequence[Silence], known: str, marker: str) -> Silence | None:
    by_id = next((s for s in active if known and s.id == known), None)
    if by_id is not None:
        return by_id
    tag = f"[{marker}]"
    return next((s for s in active if s.created_by == CREATED_BY and tag in s.comment), None)


def _expire(ports: MaintenancePorts, item: ExpireSilences) -> None:
    active = ports.live_silences(item.alertmanager)
    mine = {s.id for s in active if f"[{item.marker_prefix}" in s.comment}
    for silence_id in sorted(mine | ({i for i in item.ids if i} & {s.id for s in active})):
        ports.expire_silence(item.alertmanager, silence_id)


def _failure_text(error: Exception) -> str:
    """What went wrong, in words (the clients' errors already say it; others get a prefix)."""
    if isinstance(error, DeliveryFailed | SecretUnavailable | ValueError):
        return str(error)
    return f"Alertmanager call failed: {error}"
