"""The snapshot of the world a Maintenance decision is made from; the executor reads it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from caretaker.domain.ceph.cluster import CephCluster, OkToStop
from caretaker.domain.common.freeze import FreezeView
from caretaker.domain.common.node_holders import NodeCondition
from caretaker.domain.common.validation import FieldError
from caretaker.domain.disruption.ledger import Claim
from caretaker.domain.drain.rules import PodView
from caretaker.domain.maintenance.hook_record import HookJobView
from caretaker.domain.maintenance.spec import MaintenanceSpec
from caretaker.domain.maintenance.status import MaintenanceStatus


@dataclass(frozen=True)
class NodeView:
    name: str
    unschedulable: bool
    cordoned_by: str | None  # value of the caretaker.dev/cordoned-by annotation
    ready: bool | None = None  # None when the node reports no Ready condition
    boot_id: str = ""  # the kubelet's bootID: a new one means the machine has rebooted
    conditions: tuple[NodeCondition, ...] = ()  # its Node lifecycle conditions (anyone's)


@dataclass(frozen=True)
class LeaseView:
    holder: str | None
    expired: bool


@dataclass(frozen=True)
class GateResult:
    name: str
    holds: bool
    detail: str


@dataclass(frozen=True)
class World:
    now: datetime
    identity: str  # "<namespace>/<name>": lease holder and cordon owner
    generation: int
    spec: MaintenanceSpec | None
    spec_errors: tuple[FieldError, ...]
    status: MaintenanceStatus
    raw_spec: Mapping[str, Any] = field(default_factory=dict)  # as the user wrote it
    release_annotation: str = ""
    approved_annotation: str = ""  # caretaker.dev/approved (kubectl caretaker approve)
    deleting: bool = False
    nodes: Mapping[str, NodeView] = field(default_factory=dict)  # every node of interest
    selected: tuple[str, ...] = ()  # nodes chosen by spec.nodeSelector, sorted
    ceph: CephCluster | None = None
    ceph_error: str = ""
    ok_to_stop: Mapping[str, OkToStop] = field(default_factory=dict)  # node -> answer
    pods: Mapping[str, tuple[PodView, ...]] = field(default_factory=dict)  # node -> its pods
    leases: Mapping[str, LeaseView] = field(default_factory=dict)  # node -> lease
    gates: Mapping[str, tuple[GateResult, ...]] = field(
        default_factory=dict
    )  # node -> PromQL gates
    disruptions: tuple[Claim, ...] = ()  # the cluster-wide disruption ledger
    ledger_error: str = ""  # why the ledger could not be read ("" when it was)
    holders: Mapping[str, str] = field(default_factory=dict)  # node -> another tool holding it
    freeze: FreezeView = field(default_factory=FreezeView)  # active MaintenanceFreezes
    uid: str = ""  # metadata.uid: in hook Job names and idempotency keys
    hook_jobs: Mapping[str, HookJobView] = field(default_factory=dict)  # Job name -> view
    hook_jobs_error: str = ""  # why the hook Jobs could not be listed ("" when they were)
