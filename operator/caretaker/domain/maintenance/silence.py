"""Alertmanager silences held as a lease while a node is away: when to create, extend and expire
them, and what the status, the Events and the ``Silenced`` condition say. Pure; the executor
(``handlers.maintenance.silences``) talks to Alertmanager.

A node's silences are held from Draining until it is restored (Completed), with an end of
``min(now + tail, start + maxDuration)`` moved forward every reconcile (at most every tenth of the
tail, so a round that made progress 20 ms ago does not ask again). Once the node is restored they
are shortened to end ``afterRestore`` (default 2 minutes) after the restore, so that the alerts the
maintenance itself raised resolve while still silenced; Alertmanager ends them then. They are
expired at once when the node is rolled back (failure or abort), when the Maintenance is deleted,
or with ``afterRestore: 0s``; an expiry that fails is retried, and the short tail ends them anyway.
A failure never blocks the maintenance.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from caretaker.domain.common.conditions import FALSE, TRUE, Condition
from caretaker.domain.common.reasons import NORMAL, WARNING, Note, Reason
from caretaker.domain.common.timestamps import format_time
from caretaker.domain.maintenance.silence_record import (
    SilenceRecord,
    SilenceState,
    node_marker_prefix,
    silence_marker,
)
from caretaker.domain.maintenance.silence_spec import (
    AlertmanagerRef,
    LabelMatch,
    SilenceSpec,
    render,
)
from caretaker.domain.maintenance.spec import MaintenanceSpec, read_maintenance_spec
from caretaker.domain.maintenance.status import MaintenanceStatus, NodePhase, NodeRecord
from caretaker.domain.maintenance.world import World

CONDITION = "Silenced"
HELD_PHASES = frozenset({NodePhase.DRAINING, NodePhase.IN_MAINTENANCE, NodePhase.RESTORING})
RETRY_AFTER = timedelta(seconds=30)  # after a failed call: Alertmanager is not asked every round
MIN_EXTENSION = timedelta(seconds=5)


@dataclass(frozen=True)
class HoldSilences:
    """Create or extend the node's silences (one per matcher group) until ``ends_at``."""

    node: str
    alertmanager: AlertmanagerRef
    starts_at: datetime  # for a silence created now (a whole second, see ``_whole_second``)
    matchers: tuple[tuple[LabelMatch, ...], ...]
    markers: tuple[str, ...]
    ids: tuple[str, ...]  # known IDs by position ("" where none is known)
    ends_at: datetime
    comment: str
    record: SilenceRecord  # what the status says once it worked (the IDs filled in)


@dataclass(frozen=True)
class ExpireSilences:
    """End the node's silences now: the recorded IDs and any carrying the node's marker."""

    node: str
    alertmanager: AlertmanagerRef
    ids: tuple[str, ...]
    marker_prefix: str
    record: SilenceRecord


SilenceWork = HoldSilences | ExpireSilences


def silence_spec_of(world: World) -> SilenceSpec | None:
    """``spec.silence`` of the spec in force (the last valid one while an edit is invalid)."""
    spec: MaintenanceSpec | None = world.spec
    if spec is None and world.status.last_valid_spec is not None:
        spec, _ = read_maintenance_spec(world.status.last_valid_spec)
    return spec.silence if spec is not None else None


def plan_silences(
    status: MaintenanceStatus,
    spec: SilenceSpec | None,
    identity: str,
    now: datetime,
    deleting: bool = False,
) -> tuple[MaintenanceStatus, tuple[SilenceWork, ...]]:
    """The silence work of this round, and the status with what needs no call (a lapse)."""
    work: list[SilenceWork] = []
    for record in status.nodes:
        held = spec is not None and not deleting and record.phase in HELD_PHASES
        rec = record.silence
        if rec is not None and rec.error and rec.tried_at and now < rec.tried_at + RETRY_AFTER:
            continue
        if held and spec is not None:
            if rec is not None and rec.state != SilenceState.ACTIVE:
                continue  # lapsed (maxDuration) or already ended: never taken again
            start = rec.started_at if rec is not None and rec.started_at else _whole_second(now)
            if now >= start + spec.max_duration:
                status = status.replace_node(_lapsed(record, rec or SilenceRecord()))
                continue
            hold = _hold(record, rec, spec=spec, identity=identity, start=start, now=now)
            if hold is not None:
                work.append(hold)
        elif rec is not None and rec.state == SilenceState.ACTIVE:
            if rec.ends_at is not None and rec.ends_at <= now and not rec.error:
                ended = rec.with_(state=SilenceState.EXPIRED)
                status = status.replace_node(record.with_(silence=ended))
                continue
            until = _settled_at(record, spec, deleting, now)
            if until is not None and spec is not None:  # restored: end after afterRestore
                if rec.error or rec.ends_at is None or rec.ends_at > until:
                    start = rec.started_at or _whole_second(now)
                    ending = _hold(
                        record, rec, spec=spec, identity=identity, start=start, now=now, until=until
                    )
                    if ending is not None:
                        work.append(ending)
                continue
            done = rec.with_(state=SilenceState.EXPIRED, error="", tried_at=None)
            where = _where(rec, spec, identity)
            prefix = node_marker_prefix(identity, record.name)
            work.append(ExpireSilences(record.name, where, rec.ids, prefix, done))
    return status, tuple(work)


def _hold(
    record: NodeRecord,
    rec: SilenceRecord | None,
    *,
    spec: SilenceSpec,
    identity: str,
    start: datetime,
    now: datetime,
    until: datetime | None = None,  # a restored node's: end then (afterRestore), no later
) -> HoldSilences | None:
    groups = [g for g in spec.matchers if record.osds or not any(m.needs_osds for m in g)]
    if not groups:
        return None  # only OSD matchers and a node without OSDs: nothing to silence
    rendered = tuple(tuple(render(m, record.name, record.osds) for m in g) for g in groups)
    texts = tuple(",".join(str(m) for m in g) for g in rendered)
    cap = start + spec.max_duration
    ends_at = min(now + spec.tail if until is None else until, cap)
    unchanged = rec is not None and not rec.error and rec.matchers == texts
    if until is None and unchanged and rec is not None and rec.ends_at is not None:
        step = max(spec.tail / 10, MIN_EXTENSION)
        if ends_at - rec.ends_at < step and (ends_at != cap or rec.ends_at == cap):
            return None
    ids = rec.ids if rec is not None else ()
    ids = tuple(ids[i] if i < len(ids) else "" for i in range(len(rendered)))
    markers = tuple(silence_marker(identity, record.name, i) for i in range(len(rendered)))
    comment = f"Caretaker: Maintenance {identity} holds node {record.name} away"
    kept = rec if rec is not None and rec.url and rec.ids else None
    where = _where(kept, spec, identity)
    done = SilenceRecord(
        state=SilenceState.ACTIVE,
        url=where.url,
        token_secret=where.token_secret,
        token_key=where.token_key,
        matchers=texts,
        started_at=start,
        ends_at=ends_at,
    )
    return HoldSilences(record.name, where, start, rendered, markers, ids, ends_at, comment, done)


def _settled_at(
    record: NodeRecord, spec: SilenceSpec | None, deleting: bool, now: datetime
) -> datetime | None:
    """When a restored node's silences end: ``afterRestore`` after its restore (None: now,
    as for a rolled-back node, a deleted Maintenance or ``afterRestore: 0s``)."""
    if spec is None or deleting or record.phase != NodePhase.COMPLETED:
        return None
    if spec.after_restore <= timedelta(0):
        return None
    return (record.finished_at or now) + spec.after_restore


def silences_end_at(status: MaintenanceStatus) -> datetime | None:
    """The earliest end of a restored node's silences still recorded as active: the round that
    records them expired should not wait for an idle Maintenance's long sleep."""
    ends = [
        n.silence.ends_at
        for n in status.nodes
        if n.phase not in HELD_PHASES
        and n.silence is not None
        and n.silence.state == SilenceState.ACTIVE
        and n.silence.ends_at is not None
    ]
    return min(ends, default=None)


def _where(rec: SilenceRecord | None, spec: SilenceSpec | None, identity: str) -> AlertmanagerRef:
    """The Alertmanager of silences already made (from the record), else the spec's."""
    namespace = identity.split("/", 1)[0]
    if rec is not None and rec.url:
        return AlertmanagerRef(rec.url, namespace, rec.token_secret, rec.token_key)
    if spec is not None:
        return AlertmanagerRef(spec.url, namespace, spec.token_secret, spec.token_key)
    return AlertmanagerRef("", namespace)


def _whole_second(now: datetime) -> datetime:
    """The next whole second: Alertmanager moves a start in the past to its own clock (in
    nanoseconds, shown in milliseconds), and then refuses to extend in place any silence whose
    start is sent back differently; a start just ahead is kept as sent."""
    return now.replace(microsecond=0) + timedelta(seconds=1)


def _lapsed(record: NodeRecord, rec: SilenceRecord) -> NodeRecord:
    return record.with_(silence=rec.with_(state=SilenceState.LAPSED, error="", tried_at=None))


def settle(
    record: NodeRecord, work: SilenceWork, ids: tuple[str, ...] | None, error: str, now: datetime
) -> tuple[NodeRecord, tuple[Note, ...]]:
    """The node's record and the Events after the work: ``ids`` when it worked, else ``error``."""
    before = record.silence
    if error:
        failed = (before or work.record).with_(error=error, tried_at=now)
        if before is None:  # nothing created yet: keep the hold's start for maxDuration
            failed = failed.with_(ids=(), ends_at=None)
        verb = "holding" if isinstance(work, HoldSilences) else "expiring"
        text = f"{verb} the Alertmanager silence of node {record.name} failed: {error}"
        seen = before is not None and before.error == error
        warning = () if seen else (Note(WARNING, Reason.SILENCE_FAILED, text),)
        return record.with_(silence=failed), warning
    if isinstance(work, ExpireSilences):
        named = f" ({', '.join(i for i in work.ids if i)})" if any(work.ids) else ""
        text = f"Alertmanager silences of node {record.name} expired{named}"
        return record.with_(silence=work.record), (Note(NORMAL, Reason.SILENCE_EXPIRED, text),)
    held = replace(work.record, ids=ids or ())
    notes: tuple[Note, ...] = ()
    if record.phase not in HELD_PHASES:  # restored: the silences were shortened (afterRestore)
        text = (
            f"Alertmanager silences of node {record.name} end at {format_time(work.ends_at)} "
            "(spec.silence.afterRestore after its restore)"
        )
        notes = (
            ()
            if before is not None and before.ends_at == held.ends_at
            else (Note(NORMAL, Reason.SILENCE_EXPIRED, text),)
        )
    elif before is None or before.ids != held.ids:
        text = (
            f"Alerts of node {record.name} silenced in Alertmanager until "
            f"{format_time(work.ends_at)} ({'; '.join(held.matchers)})"
        )
        notes = (Note(NORMAL, Reason.SILENCED, text),)
    return record.with_(silence=held), notes


def silence_condition(status: MaintenanceStatus, spec: SilenceSpec | None) -> Condition | None:
    """``Silenced``: True while silences are held, False with the failure or when none is."""
    records = [(n.name, n.silence) for n in status.nodes if n.silence is not None]
    failed = [f"node {name}: {rec.error}" for name, rec in records if rec.error]
    if failed:
        return Condition(CONDITION, FALSE, Reason.SILENCE_FAILED, "; ".join(failed))
    held = [
        f"{name} until {format_time(rec.ends_at)}"
        for name, rec in records
        if rec.state == SilenceState.ACTIVE and rec.ends_at is not None
    ]
    if held:
        return Condition(
            CONDITION, TRUE, Reason.SILENCE_HELD, "alerts silenced: " + ", ".join(held)
        )
    lapsed = [name for name, rec in records if rec.state == SilenceState.LAPSED]
    if lapsed:
        text = f"spec.silence.maxDuration reached for node {', '.join(lapsed)}: alerts unsilenced"
        return Condition(CONDITION, FALSE, Reason.SILENCE_LAPSED, text)
    if spec is None and not records:
        return None
    return Condition(CONDITION, FALSE, Reason.SILENCE_NOT_HELD, "no node is away")
