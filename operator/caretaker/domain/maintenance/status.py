"""What a Maintenance remembers in its status: per-node progress and what Caretaker changed.

Only facts that cannot be read back from the world are kept here (intents, times, counters).
Whether a node is cordoned by us is read from the node's own annotation.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from caretaker.domain.common.timestamps import format_time, parse_time
from caretaker.domain.maintenance.approval_record import (
    ApprovalRecord,
    approval_from_dict,
    approval_to_dict,
)
from caretaker.domain.maintenance.hook_record import HookRecord, hook_to_dict, hooks_from_status
from caretaker.domain.maintenance.silence_record import (
    SilenceRecord,
    silence_from_dict,
    silence_to_dict,
)


class NodePhase(StrEnum):
    PENDING = "Pending"
    PREFLIGHT = "Preflight"
    DRAINING = "Draining"
    IN_MAINTENANCE = "InMaintenance"
    RESTORING = "Restoring"
    ROLLING_BACK = "RollingBack"
    COMPLETED = "Completed"
    FAILED = "Failed"
    ABORTED = "Aborted"


class MaintenancePhase(StrEnum):
    """The phase of the whole Maintenance, as ``kubectl get maintenance`` shows it."""

    PENDING = "Pending"
    SCHEDULED = "Scheduled"  # waiting for its window
    PREFLIGHT = "Preflight"
    DRAINING = "Draining"
    IN_MAINTENANCE = "InMaintenance"
    RESTORING = "Restoring"
    SUSPENDED = "Suspended"
    COMPLETED = "Completed"
    FAILED = "Failed"
    ABORTED = "Aborted"


FINISHED = frozenset(
    {MaintenancePhase.COMPLETED, MaintenancePhase.FAILED, MaintenancePhase.ABORTED}
)

ACTIVE_PHASES = frozenset(
    {
        NodePhase.PREFLIGHT,
        NodePhase.DRAINING,
        NodePhase.IN_MAINTENANCE,
        NodePhase.RESTORING,
        NodePhase.ROLLING_BACK,
    }
)
DISRUPTED_PHASES = ACTIVE_PHASES - {NodePhase.PREFLIGHT}


def may_join(away: Collection[str], domain: str, max_unavailable: int) -> bool:
    """Whether a node of failure domain ``domain`` may start while nodes of the failure domains
    ``away`` (one entry per node) are away: fewer than ``max_unavailable``, all of its domain.
    The one rule for the state machine and for ``caretaker plan``'s batches."""
    return len(away) < max_unavailable and all(other == domain for other in away)


class NooutState(StrEnum):
    INTENDED = "Intended"  # recorded before asking Ceph; resolves to Set on restart if present
    SET = "Set"  # set by Caretaker: Caretaker lifts it
    PREEXISTING = "Preexisting"  # someone else's: never lifted by Caretaker
    LIFTED = "Lifted"
    EXPIRED = "Expired"  # lifted by nooutTimeout while the node was still away


@dataclass(frozen=True)
class NooutRecord:
    scope: str  # "osd" or "host"
    osds: tuple[int, ...] = ()
    bucket: str = ""
    state: NooutState = NooutState.INTENDED
    set_at: datetime | None = None

    @property
    def owned(self) -> bool:
        return self.state in (NooutState.INTENDED, NooutState.SET)


@dataclass(frozen=True)
class NodeRecord:
    name: str
    phase: NodePhase = NodePhase.PENDING
    osds: tuple[int, ...] = ()
    failure_domain: str = ""
    noout: NooutRecord | None = None
    cordoned_by_us: bool = False
    pods_evicted: int = 0
    pods_pending: int = 0
    outcome: str = ""  # for RollingBack: the phase to end in (Failed or Aborted)
    went_away: bool = False  # seen down (OSDs down or node NotReady) while in maintenance
    # the node's OSDs were still up when the drain was over (host daemons); False when the drain
    # stopped them (OSD pods, as on Rook: they cannot come back while the node is cordoned)
    osds_up_when_prepared: bool = True
    # the node's bootID when it was prepared: a reboot too quick to be seen NotReady changes it
    boot_id_when_prepared: str = ""
    started_at: datetime | None = None
    drain_started_at: datetime | None = None
    prepared_at: datetime | None = None
    released_at: datetime | None = None
    finished_at: datetime | None = None
    message: str = ""
    silence: SilenceRecord | None = None  # the Alertmanager silences held for the node
    approved_by: str = ""  # spec.approval.perNode: who approved the node's start
    approved_at: datetime | None = None

    def with_(self, **changes: Any) -> NodeRecord:
        return replace(self, **changes)


@dataclass(frozen=True)
class MaintenanceStatus:
    nodes: tuple[NodeRecord, ...] = ()
    started_at: datetime | None = None
    completed_at: datetime | None = None
    aborted: bool = False
    extra: Mapping[str, Any] = field(default_factory=dict)
    # the spec as last accepted: an invalid edit later leaves the running safety nets (noout
    # expiry, restore timeout, abort, cleanup) working under it
    last_valid_spec: Mapping[str, Any] | None = None
    approval: ApprovalRecord | None = None  # spec.approval.required: who approved, and when
    hooks: tuple[HookRecord, ...] = ()  # spec.hooks: one entry per (stage, node, hook)

    def node(self, name: str) -> NodeRecord | None:
        return next((n for n in self.nodes if n.name == name), None)

    def replace_node(self, record: NodeRecord) -> MaintenanceStatus:
        nodes = tuple(record if n.name == record.name else n for n in self.nodes)
        if all(n.name != record.name for n in self.nodes):
            nodes = (*nodes, record)
        return replace(self, nodes=nodes)


def _stamp_or_none(value: datetime | None) -> str | None:
    return format_time(value) if value else None


_TIME_FIELDS = (
    "started_at",
    "drain_started_at",
    "prepared_at",
    "released_at",
    "finished_at",
    "approved_at",
)


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def node_to_dict(record: NodeRecord) -> dict[str, Any]:
    out = {_camel(key): value for key, value in asdict(record).items()}
    out.update({_camel(key): _stamp_or_none(getattr(record, key)) for key in _TIME_FIELDS})
    out.update(noout=_noout_to_dict(record.noout), osds=list(record.osds), phase=str(record.phase))
    out["silence"] = silence_to_dict(record.silence)
    return out


def _noout_to_dict(noout: NooutRecord | None) -> dict[str, Any] | None:
    if noout is None:
        return None
    return {
        "scope": noout.scope,
        "osds": list(noout.osds),
        "bucket": noout.bucket,
        "state": str(noout.state),
        "setAt": _stamp_or_none(noout.set_at),
    }


def node_from_dict(raw: Mapping[str, Any]) -> NodeRecord:
    noout_raw = raw.get("noout")
    noout = None
    if isinstance(noout_raw, Mapping):
        noout = NooutRecord(
            scope=str(noout_raw.get("scope", "osd")),
            osds=tuple(int(i) for i in noout_raw.get("osds") or ()),
            bucket=str(noout_raw.get("bucket") or ""),
            state=NooutState(noout_raw.get("state", NooutState.INTENDED)),
            set_at=parse_time(noout_raw.get("setAt")),
        )
    return NodeRecord(
        name=str(raw["name"]),
        phase=NodePhase(raw.get("phase", NodePhase.PENDING)),
        osds=tuple(int(i) for i in raw.get("osds") or ()),
        failure_domain=str(raw.get("failureDomain") or ""),
        noout=noout,
        cordoned_by_us=bool(raw.get("cordonedByUs", False)),
        pods_evicted=int(raw.get("podsEvicted", 0)),
        pods_pending=int(raw.get("podsPending", 0)),
        outcome=str(raw.get("outcome") or ""),
        went_away=bool(raw.get("wentAway", False)),
        osds_up_when_prepared=bool(raw.get("osdsUpWhenPrepared", True)),
        boot_id_when_prepared=str(raw.get("bootIdWhenPrepared") or ""),
        message=str(raw.get("message") or ""),
        silence=silence_from_dict(raw.get("silence")),
        approved_by=str(raw.get("approvedBy") or ""),
        **{name: parse_time(raw.get(_camel(name))) for name in _TIME_FIELDS},
    )


def status_from_dict(raw: Mapping[str, Any] | None) -> MaintenanceStatus:
    raw = raw or {}
    nodes = tuple(node_from_dict(n) for n in raw.get("nodes") or () if isinstance(n, Mapping))
    return MaintenanceStatus(
        nodes=nodes,
        started_at=parse_time(raw.get("startedAt")),
        completed_at=parse_time(raw.get("completedAt")),
        aborted=bool(raw.get("aborted", False)),
        last_valid_spec=raw["lastValidSpec"]
        if isinstance(raw.get("lastValidSpec"), Mapping)
        else None,
        approval=approval_from_dict(raw.get("approval")),
        hooks=hooks_from_status(raw),
    )


def status_to_dict(status: MaintenanceStatus) -> dict[str, Any]:
    return {
        "nodes": [node_to_dict(n) for n in status.nodes],
        "startedAt": _stamp_or_none(status.started_at),
        "completedAt": _stamp_or_none(status.completed_at),
        "aborted": status.aborted,
        "lastValidSpec": dict(status.last_valid_spec) if status.last_valid_spec else None,
        "approval": approval_to_dict(status.approval),
        "hooks": [hook_to_dict(h) for h in status.hooks] or None,
    }
