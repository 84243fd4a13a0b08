"""Carries out the round's notifications (``domain.maintenance.notifications``): records the new
ones, sends what is due to each receiver, and hands back ``status.notifications``, the
``NotificationsDelivered`` condition and the Events. Nothing here raises and nothing here blocks
the maintenance: a receiver that fails is tried again on a later reconcile, a bounded number of
times (``domain.maintenance.notify_record``)."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from caretaker.clients.kube.secrets import SecretUnavailable
from caretaker.clients.notify.outcome import DeliveryFailed
from caretaker.domain.common.conditions import Condition
from caretaker.domain.common.reasons import Note
from caretaker.domain.common.receivers import Receiver
from caretaker.domain.maintenance.notifications import Moment, due
from caretaker.domain.maintenance.notify_record import (
    RESOLVING,
    Dispatch,
    NotificationRecord,
    bounded,
    dedup_key,
    new_record,
    notifications_condition,
    record_to_dict,
    records_from,
    settle,
    to_send,
    wants_attempt,
)
from caretaker.domain.maintenance.spec import MaintenanceSpec, read_maintenance_spec
from caretaker.domain.maintenance.status import MaintenanceStatus
from caretaker.domain.maintenance.summary import Summary
from caretaker.domain.maintenance.world import World
from caretaker.handlers.maintenance.ports import MaintenancePorts

logger = logging.getLogger("caretaker.maintenance")


@dataclass(frozen=True)
class Notified:
    fields: Mapping[str, Any] = field(default_factory=dict)  # {"notifications": [...]} or {}
    condition: Condition | None = None
    notes: tuple[Note, ...] = ()


def send_notifications(
    ports: MaintenancePorts,
    world: World,
    body: Mapping[str, Any],
    status: MaintenanceStatus,
    summary: Summary,
) -> Notified:
    """This round's notifications, from the status read (``world.status``, ``body``) and the one
    about to be written (``status``, ``summary``)."""
    before = body.get("status") or {}
    records = records_from(before.get("notifications"))
    spec = _spec_in_force(world)
    if spec is None or spec.notifications is None:
        if not records:
            return Notified()
        return Notified({"notifications": None})  # switched off: forget what was kept
    meta = body["metadata"]
    namespace, name = str(meta["namespace"]), str(meta["name"])
    moment = Moment(
        namespace=namespace,
        name=name,
        spec=spec,
        before=world.status,
        after=status,
        summary=summary,
        phase_before=str(before.get("phase") or ""),
        stalled_before=_stalled(before),
        released_by=_released_by(world, spec),
        now=world.now,
    )
    records = (*records, *(new_record(a, world.now) for a in due(moment, (r.key for r in records))))
    if not any(wants_attempt(r, world.now) for r in records):  # receivers are not even read
        return _notified(records, ())
    receivers, problem = _receivers(ports, namespace, spec)
    uid = str(meta.get("uid") or "")
    notes: list[Note] = []
    sent: list[NotificationRecord] = []
    for record in records:
        names = to_send(record, None if problem else (r.name for r in receivers), world.now)
        if names is None:
            sent.append(record)
            continue
        dispatch = Dispatch(namespace, name, dedup_key(uid, namespace, name, record.key), record)
        ok, failed = _send(ports, [r for r in receivers if r.name in names], dispatch)
        if problem:
            failed[RESOLVING] = problem
        settled, more = settle(record, ok, failed, world.now)
        sent.append(settled)
        notes.extend(more)
    return _notified(sent, notes)


def _notified(records: Sequence[NotificationRecord], notes: Sequence[Note]) -> Notified:
    kept = bounded(records)
    fields = {"notifications": [record_to_dict(r) for r in kept]}
    return Notified(fields, notifications_condition(kept), tuple(notes))


def _send(
    ports: MaintenancePorts, receivers: list[Receiver], dispatch: Dispatch
) -> tuple[list[str], dict[str, str]]:
    ok: list[str] = []
    failed: dict[str, str] = {}
    for receiver in receivers:
        sent = (dispatch.dedup_key, receiver.name)
        if sent in ports.sent_here:  # delivered, but the status write that said so was lost
            ok.append(receiver.name)
            continue
        try:
            ports.send_notification(receiver, dispatch)
        except (DeliveryFailed, SecretUnavailable, ValueError) as error:
            failed[receiver.name] = str(error)
        except Exception as error:  # noqa: BLE001 - a notification never stops the maintenance
            failed[receiver.name] = f"sending failed: {error}"
        else:
            ports.sent_here.add(sent)
            ok.append(receiver.name)
            continue
        key, why = dispatch.dedup_key, failed[receiver.name]
        logger.warning("notification %s to %s failed: %s", key, receiver.name, why)
    return ok, failed


def _receivers(
    ports: MaintenancePorts, namespace: str, spec: MaintenanceSpec
) -> tuple[tuple[Receiver, ...], str]:
    notifications = spec.notifications
    if notifications is None or not notifications.health_policy:
        return (notifications.receivers if notifications else ()), ""
    try:
        return ports.policy_receivers(namespace, notifications.health_policy), ""
    except LookupError as error:
        return (), str(error).strip("'\"")
    except Exception as error:  # noqa: BLE001 - shown in the condition, tried again later
        return (), f"spec.notifications.receiversFrom could not be read: {error}"


def _spec_in_force(world: World) -> MaintenanceSpec | None:
    """The spec, or the last valid one while an edit is invalid."""
    if world.spec is not None:
        return world.spec
    if world.status.last_valid_spec is None:
        return None
    spec, _ = read_maintenance_spec(world.status.last_valid_spec)
    return spec


def _stalled(status: Mapping[str, Any]) -> bool:
    conditions = status.get("conditions") or []
    return any(c.get("type") == "Stalled" and c.get("status") == "True" for c in conditions)


def _released_by(world: World, spec: MaintenanceSpec) -> frozenset[str]:
    annotated = {v.strip() for v in world.release_annotation.split(",") if v.strip()}
    return frozenset(set(spec.release) | annotated)
