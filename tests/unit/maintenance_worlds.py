"""A fake cluster for the shipped Maintenance executor (``handlers.maintenance.executor``).

``Cluster`` implements ``MaintenancePorts``: the Maintenance object lives in it as JSON (spec,
status as last written, resourceVersion), next to fake nodes, pods, Leases, Ceph and the
disruption ledger. ``step`` is one reconcile: it calls the shipped ``reconcile_once`` with the
object as the API would return it, then lets the world move on by one tick (pods go away,
rebooted OSDs come back, PGs recover). Effects that break the rules (uncordoning a node we did
not cordon, lifting a noout we do not own, changing a node without our claim) are recorded as
violations, changes that were already in place as redundant.

Crashes are injected by the fake itself: ``Killed`` (a ``BaseException``, as a killed process
is not an error the executor may handle) is raised at a chosen call, and the next ``step``
starts from what was written, as a restarted operator does.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Set
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import Any

from fake_alertmanager import FakeAlertmanager
from fake_receivers import FakeReceivers

from caretaker.clients.hooks.http import HookAnswer
from caretaker.clients.kube.custom import CustomRef, StatusWrite
from caretaker.clients.kube.events import ObjectRef
from caretaker.clients.notify.silences import Silence
from caretaker.constants import APPROVED_ANNOTATION, RELEASE_ANNOTATION
from caretaker.domain.ceph.cluster import CephCluster, OkToStop
from caretaker.domain.ceph.osd_placement import NodeOsds
from caretaker.domain.ceph.topology import PoolPlacement, Topology
from caretaker.domain.common.freeze import freeze_of, freeze_view
from caretaker.domain.common.merge_patch import apply_merge_patch
from caretaker.domain.common.node_holders import NodeCondition
from caretaker.domain.common.reasons import Note
from caretaker.domain.common.receivers import Receiver
from caretaker.domain.disruption.ledger import Admission, Claim, admit, maintenance_claimant
from caretaker.domain.drain.rules import PodView
from caretaker.domain.maintenance.actions import (
    AcquireLease,
    Action,
    ClaimDomain,
    Cordon,
    EvictPods,
    ReleaseClaim,
    ReleaseLease,
    RunHttpHook,
    SetNoout,
    Uncordon,
    UnsetNoout,
)
from caretaker.domain.maintenance.hook_record import HookJobView
from caretaker.domain.maintenance.machine import Step
from caretaker.domain.maintenance.notify_record import Dispatch
from caretaker.domain.maintenance.silence_spec import AlertmanagerRef
from caretaker.domain.maintenance.spec import read_maintenance_spec
from caretaker.domain.maintenance.status import (
    ACTIVE_PHASES,
    MaintenanceStatus,
    NodePhase,
    NodeRecord,
    NooutState,
    status_from_dict,
    status_to_dict,
)
from caretaker.domain.maintenance.world import GateResult, LeaseView, NodeView, World
from caretaker.handlers.drain.round import DrainRound, PodRef
from caretaker.handlers.maintenance.executor import reconcile_once
from caretaker.handlers.maintenance.notify_send import SentHere
from caretaker.handlers.maintenance.ports import MaintenancePorts, SilenceDraft
from caretaker.handlers.maintenance.snapshot import identity_of

NAMESPACE, NAME = "ops", "nightly"
IDENTITY = f"{NAMESPACE}/{NAME}"
OTHER = "ops/someone-else"
T0 = datetime(2026, 5, 4, 10, 0, tzinfo=UTC)
PG_TOTAL = 128
US = "us"
ACTION_CALLS = frozenset(
    {"acquire_lease", "release_lease", "enter_claim", "remove_claims", "cordon", "uncordon"}
    | {"set_noout", "unset_noout", "drain_round"}
)
# crash= of Cluster.step: where the fake fails or kills the reconcile
CRASHES = ("", "restart", "lost", "killed", "unsaved")


class Killed(BaseException):
    """The operator process dies at this call (nothing after it happens)."""


class ConnectionLost(Exception):
    """A call that fails without changing anything (the executor shows it, retries later)."""


def rs_pod(name: str, **extra: Any) -> PodView:
    return PodView("apps", name, "ReplicaSet", **extra)


def status_roundtrip(status: MaintenanceStatus) -> MaintenanceStatus:
    """What the operator reads back after a restart: the status through JSON."""
    return status_from_dict(json.loads(json.dumps(status_to_dict(status))))


@dataclass
class FakeNode:
    osds: tuple[int, ...]
    domain: str
    unschedulable: bool = False
    cordoned_by: str | None = None
    ready: bool = True
    boot_id: str = "boot-1"  # status.nodeInfo.bootID
    labels: dict[str, str] = field(default_factory=lambda: {"role": "storage"})
    pods: list[PodView] = field(default_factory=list)
    down_at: datetime | None = None  # OSDs went down (the team's reboot)
    back_at: datetime | None = None  # OSDs come up again
    conditions: dict[str, NodeCondition] = field(default_factory=dict)  # lifecycle, by type


@dataclass
class FakeHooks:
    """spec.hooks' side of the world: what each HTTP hook call answers (by hook name; default
    200 and {}), an answer being a HookAnswer or an exception; the calls made; the Jobs created
    (by name), each ending with ``job_outcome`` one tick after it was created."""

    answers: dict[str, list[HookAnswer | Exception]] = field(default_factory=dict)
    calls: list[RunHttpHook] = field(default_factory=list)
    jobs: dict[str, dict[str, Any]] = field(default_factory=dict)
    job_outcome: str = "Complete"
    create_errors: list[Exception] = field(default_factory=list)  # raised by the next creates


class Cluster:
    """One Maintenance (``IDENTITY`` unless named) in a fake cluster; implements
    ``MaintenancePorts``. Its nodes, Ceph, Leases and ledger are plain attributes, so that
    several Maintenances can share them (``arbiter_world``)."""

    generation = 1  # metadata.generation: a test edits the spec by raising it

    @cached_property
    def hooks(self) -> FakeHooks:
        """spec.hooks' receivers and Jobs."""
        return FakeHooks()

    def __init__(
        self,
        spec: dict[str, Any],
        nodes: dict[str, tuple[int, ...]] | None = None,
        domains: dict[str, str] | None = None,
        now: datetime = T0,
        namespace: str = NAMESPACE,
        name: str = NAME,
    ) -> None:
        layout = nodes if nodes is not None else {"a": (0,)}
        self.namespace, self.name = namespace, name
        self.identity = f"{namespace}/{name}"
        self.us = US  # the owner the fake notes on the noout this Maintenance sets
        self.spec_raw = spec
        self.now = now
        self.tick = timedelta(seconds=10)
        self.nodes = {
            name: FakeNode(osds, (domains or {}).get(name, f"rack-{name}"))
            for name, osds in layout.items()
        }
        self.osd_up = {i: True for osds in layout.values() for i in osds}
        self.noout: dict[int, str] = {}  # OSD -> owner (US or OTHER)
        self.noout_buckets: dict[str, str] = {}
        self.extra_checks: dict[str, str] = {}
        self.health_override = ""
        self.ok_to_stop: dict[str, OkToStop] = {}
        self.unmapped: dict[str, str] = {}  # node -> why its OSDs cannot be told
        self.gates: dict[str, tuple[GateResult, ...]] = {}
        self.leases: dict[str, str | None] = {}
        self.claims: dict[str, Claim] = {}  # the cluster-wide disruption ledger
        self.ledger_error = self.freezes_unreadable = ""
        # MaintenanceFreeze objects as the API has them; why they cannot be listed ("" if they can)
        self.freezes: list[dict[str, Any]] = []
        self.ceph_up = True
        # spec.silence, spec.notifications
        self.alertmanager, self.receivers = FakeAlertmanager(lambda: self.now), FakeReceivers()
        # Other writers between this operator's snapshot and its write.
        self.racing_claim: Claim | None = None  # entered in the ledger just before our claim
        self.racing_edit = False  # the object is edited before the status write (409)
        # The Maintenance object as the API server keeps it.
        self.status_doc: dict[str, Any] = {}
        self.resource_version = 1
        self.status_writes = 0  # status writes that reached the API
        self.release_annotation = self.approved_annotation = ""  # and caretaker.dev/approved
        self.deleting = False
        # How the world behaves.
        self.evict_delay = timedelta(seconds=20)
        self.refusing: set[str] = set()  # pods whose eviction is refused (PDB)
        self.reboot_after: timedelta | None = timedelta(0)  # None: nobody reboots the node
        self.reboot_length: timedelta | None = None  # None: up again only after release
        self.return_delay = timedelta(seconds=30)
        self.osds_never_return = False
        # Rook's layout: the OSDs are pods that the drain evicts; they run again only on a node
        # that is schedulable and Ready
        self.osds_in_pods = False
        self.recovery_delay = timedelta(seconds=40)
        self.recovered_at: datetime | None = None
        # What happened.
        self.steps: list[Step] = []  # the step of every round that was not killed
        self.actions: list[Action] = []  # the changes carried out, as the domain names them
        self.action_times: list[datetime] = []
        self.notes: list[Note] = []  # Events posted
        self.violations: list[str] = []
        self.redundant: list[Action] = []
        self.kills = 0
        self._spec_cache: dict[str, Any] = {}
        self._terminating_since: dict[str, datetime] = {}
        self._crash = ""
        self._kill_at: int | None = None
        self._calls = 0

    # -- the object, as the API returns it ----------------------------------------------
    def body(self) -> dict[str, Any]:
        meta: dict[str, Any] = {
            "namespace": self.namespace,
            "name": self.name,
            "uid": "9f1c-uid",
            "generation": self.generation,
            "resourceVersion": str(self.resource_version),
        }
        if self.release_annotation:
            meta["annotations"] = {RELEASE_ANNOTATION: self.release_annotation}
        if self.approved_annotation:
            meta.setdefault("annotations", {})[APPROVED_ANNOTATION] = self.approved_annotation
        if self.deleting:
            meta["deletionTimestamp"] = "2026-05-04T10:00:00Z"
        body: dict[str, Any] = {"metadata": meta, "spec": self.spec_raw, "status": self.status_doc}
        return dict(json.loads(json.dumps(body)))

    @property
    def status(self) -> MaintenanceStatus:
        return status_from_dict(self.status_doc)

    @status.setter
    def status(self, value: MaintenanceStatus) -> None:
        self.status_doc = {**self.status_doc, **json.loads(json.dumps(status_to_dict(value)))}

    # -- MaintenancePorts: reads -------------------------------------------------------
    def read_world(self, body: Mapping[str, Any], now: datetime) -> World:
        self._call("read_world")
        meta = body["metadata"]
        raw_spec = body.get("spec") or {}
        key = json.dumps(raw_spec, sort_keys=True)
        if key not in self._spec_cache:
            self._spec_cache[key] = read_maintenance_spec(raw_spec)
        spec, errors = self._spec_cache[key]
        selector = raw_spec.get("nodeSelector") or {}
        return World(
            now=now,
            identity=identity_of(body),
            generation=int(meta.get("generation") or 0),
            spec=spec,
            spec_errors=tuple(errors),
            status=status_from_dict(body.get("status")),
            raw_spec=raw_spec,
            release_annotation=(meta.get("annotations") or {}).get(RELEASE_ANNOTATION, ""),
            approved_annotation=(meta.get("annotations") or {}).get(APPROVED_ANNOTATION, ""),
            deleting=bool(meta.get("deletionTimestamp")),
            nodes={
                n: NodeView(
                    n, f.unschedulable, f.cordoned_by, f.ready, f.boot_id, (*f.conditions.values(),)
                )
                for n, f in self.nodes.items()
            },
            selected=tuple(
                sorted(
                    n
                    for n, f in self.nodes.items()
                    if selector and all(f.labels.get(k) == v for k, v in selector.items())
                )
            ),
            ceph=self.ceph() if self.ceph_up else None,
            ok_to_stop={
                n: self.ok_to_stop.get(n, OkToStop(True, "safe to stop")) for n in self.nodes
            },
            ceph_error="" if self.ceph_up else "timed out talking to the monitors",
            pods={n: tuple(f.pods) for n, f in self.nodes.items()},
            leases={n: LeaseView(h, False) for n, h in self.leases.items()},
            gates=dict(self.gates),
            disruptions=tuple(self.claims.values()),
            ledger_error=self.ledger_error,
            freeze=freeze_view(
                [freeze_of(f) for f in self.freezes],
                self.namespace,
                now,
                unreadable=self.freezes_unreadable,
            ),
            uid=str(meta.get("uid") or ""),
            hook_jobs={
                name: HookJobView(
                    name,
                    job.get("state") == "Complete",
                    job.get("state") == "Failed",
                    "BackoffLimitExceeded",
                )
                for name, job in self.hooks.jobs.items()
            },
        )

    def world(self) -> World:
        return self.read_world(self.body(), self.now)

    def degraded_pgs(self) -> int:
        down = sum(not up for up in self.osd_up.values())
        recovering = self.recovered_at is not None and self.now < self.recovered_at
        return 32 * down if down else (16 if recovering else 0)

    def ceph(self) -> CephCluster:
        checks = dict(self.extra_checks)
        if self.noout or self.noout_buckets:
            checks["OSD_FLAGS"] = f"{len(self.noout)} OSDs have the noout flag set"
        if not all(self.osd_up.values()):
            checks["OSD_DOWN"] = "osds down"
        degraded = self.degraded_pgs()
        if degraded:
            checks["PG_DEGRADED"] = f"{degraded} pgs degraded"
        states = {"active+clean": PG_TOTAL - degraded}
        if degraded:
            states["active+undersized+degraded"] = degraded
        hosts = {i: n for n, f in self.nodes.items() for i in f.osds}
        # each node its own CRUSH host, in the rack its FakeNode names; one pool over racks
        topology = Topology(
            ancestry={i: (("host", n), ("rack", self.nodes[n].domain)) for i, n in hosts.items()},
            pools=(PoolPlacement("rbd", "rack", frozenset(hosts)),),
        )
        return CephCluster(
            health=self.health_override or ("HEALTH_WARN" if checks else "HEALTH_OK"),
            health_checks=checks,
            osd_up=dict(self.osd_up),
            osd_host_bucket=dict(hosts),
            topology=topology,
            node_osds={
                n: NodeOsds(tuple(sorted(f.osds)), self.unmapped.get(n, ""))
                for n, f in self.nodes.items()
            },
            noout_osds=frozenset(self.noout),
            noout_buckets=frozenset(self.noout_buckets),
            pg_states=states,
        )

    # -- MaintenancePorts: changes -----------------------------------------------------
    def acquire_lease(self, node: str, holder: str) -> None:
        self._act(AcquireLease(node))
        current = self.leases.get(node)
        if current == holder:
            self.redundant.append(AcquireLease(node))
        elif current is not None:
            self.violations.append(f"took {node}'s lease from {current}")
        self.leases[node] = holder

    def renew_lease(self, node: str, holder: str) -> None:
        self._call("renew_lease")

    def release_lease(self, node: str, holder: str) -> None:
        self._act(ReleaseLease(node))
        if self.leases.get(node) != holder:
            self.redundant.append(ReleaseLease(node))
        else:
            self.leases[node] = None

    def enter_claim(self, claim: Claim) -> Admission:
        action = ClaimDomain(claim.node, claim.domain, claim.osds)
        self._act(action)
        racing, self.racing_claim = self.racing_claim, None
        if racing is not None:
            self.claims[racing.claimant] = racing
        verdict = admit(self.claims.values(), claim)
        if not verdict.admitted:
            if racing is None:  # the snapshot showed the other claim: asking was wrong
                self.violations.append(f"claimed {claim.domain} while another domain is claimed")
            return verdict
        if claim.claimant in self.claims:
            self.redundant.append(action)
        self.claims[claim.claimant] = claim
        return verdict

    def remove_claims(self, claimants: Set[str]) -> None:
        for claimant in sorted(claimants):
            action = ReleaseClaim(claimant.rsplit("/", 1)[-1])
            self._act(action)
            if self.claims.pop(claimant, None) is None:
                self.redundant.append(action)

    def cordon(self, node: str, owner: str) -> None:
        self._act(Cordon(node))
        fake = self.nodes[node]
        if fake.unschedulable:
            self.redundant.append(Cordon(node))
            return  # someone's cordon stays theirs (cordon_for)
        fake.unschedulable, fake.cordoned_by = True, owner

    def uncordon(self, node: str, owner: str) -> None:
        self._act(Uncordon(node))
        fake = self.nodes[node]
        if fake.cordoned_by != owner:
            self.violations.append(f"uncordoned {node}, cordoned by {fake.cordoned_by}")
            return  # uncordon_for leaves a cordon that is not the owner's
        fake.unschedulable, fake.cordoned_by = False, None

    def set_noout(self, osds: tuple[int, ...], bucket: str) -> None:
        action = SetNoout(self._node_of(osds, bucket), osds, bucket)
        self._act(action)
        if bucket:
            if bucket in self.noout_buckets:
                self.redundant.append(action)
            self.noout_buckets.setdefault(bucket, self.us)
            return
        if set(osds) <= set(self.noout):
            self.redundant.append(action)
        for osd in osds:
            self.noout.setdefault(osd, self.us)

    def unset_noout(self, osds: tuple[int, ...], bucket: str) -> None:
        action = UnsetNoout(self._node_of(osds, bucket), osds, bucket)
        self._act(action)
        owners = (
            {bucket: self.noout_buckets.pop(bucket, None)}
            if bucket
            else {i: self.noout.pop(i, None) for i in osds}
        )
        for what, owner in owners.items():
            if owner is None:
                self.redundant.append(action)
            elif owner != self.us:
                self.violations.append(f"lifted noout on {what}, set by {owner}")

    def drain_round(
        self, evict: Iterable[PodRef], finished: Iterable[PodRef], grace_period_seconds: int | None
    ) -> DrainRound:
        evict, finished = tuple(evict), tuple(finished)
        name = self._node_of_pods((*evict, *finished))
        action = EvictPods(name, evict, grace_period_seconds, finished)
        self._act(action)
        node = self.nodes[name]
        ended = set(finished)
        node.pods = [p for p in node.pods if (p.namespace, p.name) not in ended]
        wanted, evicted, blocked = set(evict), 0, []
        for index, pod in enumerate(node.pods):
            if (pod.namespace, pod.name) not in wanted:
                continue
            if pod.ref in self.refusing:
                blocked.append(f"{pod.ref}: Cannot evict pod as it would violate the budget")
                continue
            if pod.terminating:
                self.redundant.append(action)
            node.pods[index] = replace(pod, terminating=True)
            evicted += 1
        if self.osds_in_pods:  # the OSD pods were evicted with the rest
            for osd in node.osds:
                self.osd_up[osd] = False
        return DrainRound(evicted, len(ended), tuple(blocked))

    # -- MaintenancePorts: Alertmanager ---------------------------------------------------
    def live_silences(self, url: AlertmanagerRef) -> tuple[Silence, ...]:
        self._call("live_silences")
        return self.alertmanager.live(url)

    def put_silence(self, url: AlertmanagerRef, silence_id: str | None, draft: SilenceDraft) -> str:
        self._call("put_silence")
        return self.alertmanager.put(url, silence_id, draft)

    def expire_silence(self, url: AlertmanagerRef, silence_id: str) -> None:
        self._call("expire_silence")
        self.alertmanager.expire(url, silence_id)

    def patch_node_conditions(
        self, node: str, put: tuple[NodeCondition, ...], remove: tuple[str, ...]
    ) -> None:
        conditions = self.nodes[node].conditions
        for condition in put:
            conditions[condition.type] = condition
        for kind in remove:
            conditions.pop(kind, None)

    def call_http_hook(self, namespace: str, hook: RunHttpHook) -> HookAnswer:
        self._call("call_http_hook")
        assert namespace == self.namespace
        self.hooks.calls.append(hook)
        answers = self.hooks.answers.get(hook.record.name) or [HookAnswer(200, {}, 1)]
        answer = answers.pop(0) if len(answers) > 1 else answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer

    def create_hook_job(self, namespace: str, manifest: Mapping[str, Any]) -> bool:
        self._call("create_hook_job")
        if self.hooks.create_errors:
            raise self.hooks.create_errors.pop(0)
        name = manifest["metadata"]["name"]
        if name in self.hooks.jobs:
            return False
        self.hooks.jobs[name] = {"manifest": manifest, "created": self.now, "state": ""}
        return True

    # -- MaintenancePorts: notifications ----------------------------------------------------
    def policy_receivers(self, namespace: str, health_policy: str) -> tuple[Receiver, ...]:
        self._call("policy_receivers")
        return self.receivers.of_policy(namespace, health_policy)

    def send_notification(self, receiver: Receiver, dispatch: Dispatch) -> None:
        self._call("send_notification")
        self.receivers.send(receiver, dispatch)

    @property
    def sent_here(self) -> SentHere:
        return self.receivers.sent_here  # forgotten when the fake operator dies or restarts

    def write_status(
        self, ref: CustomRef, status: Mapping[str, Any], resource_version: str
    ) -> StatusWrite:
        self._call("write_status")
        assert (ref.plural, ref.namespace, ref.name) == ("maintenances", self.namespace, self.name)
        if self.racing_edit:
            self.racing_edit, self.resource_version = False, self.resource_version + 1
        if resource_version and resource_version != str(self.resource_version):
            return StatusWrite.CONFLICT
        self.status_doc = apply_merge_patch(self.status_doc, json.loads(json.dumps(status)))
        self.status_writes += 1
        self.resource_version += 1
        self._check(self.status)
        return StatusWrite.WRITTEN

    def post_event(self, regarding: ObjectRef, note: Note) -> None:
        self._call("post_event")
        assert (regarding.kind, regarding.name) == ("Maintenance", self.name)
        self.notes.append(note)

    # -- crashes ------------------------------------------------------------------------
    def _call(self, name: str) -> None:
        """Every port call passes here: a kill at the n-th call, or at a named one."""
        number, self._calls = self._calls, self._calls + 1
        killed = number == self._kill_at
        killed |= self._crash == "killed" and name in ACTION_CALLS
        killed |= self._crash == "unsaved" and name == "write_status"
        if killed:
            self.kills += 1
            self.receivers.sent_here.clear()
            raise Killed(f"killed at {name}")
        if self._crash == "lost" and name in ACTION_CALLS:
            raise ConnectionLost("connection reset by peer")

    def _act(self, action: Action) -> None:
        self._call(_CALL_OF[type(action)])
        self.actions.append(action)
        self.action_times.append(self.now)
        fake = self.nodes.get(action.node)
        if isinstance(action, SetNoout | Cordon | EvictPods) and fake and fake.osds:
            self._check_claimed(action)

    def _check_claimed(self, action: Action) -> None:
        """A change to a node that carries OSDs: our claim is in the ledger, and no one else's
        claim is on another failure domain."""
        own = self.claims.get(maintenance_claimant(self.identity, action.node))
        if own is None:
            self.violations.append(f"{self.now}: {action} without a claim in the ledger")
        elif not admit(self.claims.values(), own).admitted:
            self.violations.append(f"{self.now}: {action} while another domain is claimed")

    def _node_of(self, osds: tuple[int, ...], bucket: str) -> str:
        if bucket:
            return bucket  # each node is its own CRUSH host bucket here
        return next(n for n, f in self.nodes.items() if set(osds) <= set(f.osds))

    def _node_of_pods(self, pods: tuple[PodRef, ...]) -> str:
        refs = set(pods)
        return next(
            n for n, f in self.nodes.items() if any((p.namespace, p.name) in refs for p in f.pods)
        )

    # -- the world moves on -------------------------------------------------------------
    def evolve(self, only: Set[str] | None = None) -> None:
        """One tick of the world, for the nodes in ``only`` (default: every node)."""
        for job in self.hooks.jobs.values():
            if not job["state"] and self.now > job["created"]:
                job["state"] = self.hooks.job_outcome
        records = {r.name: r for r in self.status.nodes}
        for name, node in self.nodes.items():
            if only is not None and name not in only:
                continue
            node.pods = [p for p in node.pods if not self._gone(p)]
            record = records.get(name)
            held = record is not None and record.phase == NodePhase.IN_MAINTENANCE
            if held and node.down_at is None and self._reboot_due(record.prepared_at):
                node.down_at, node.ready = self.now, False
                for osd in node.osds:
                    self.osd_up[osd] = False
                if self.reboot_length is not None:
                    node.back_at = self.now + self.reboot_length
            elif node.down_at and node.back_at is None and not held:
                node.back_at = self.now + self.return_delay
            due = node.back_at is not None and self.now >= node.back_at
            if due and not self.osds_never_return and not self._up(node):
                node.ready = True
                if not (self.osds_in_pods and node.unschedulable):
                    for osd in node.osds:
                        self.osd_up[osd] = True
                    self.recovered_at = self.now + self.recovery_delay
            pods_return = self.osds_in_pods and node.ready and not node.unschedulable
            if pods_return and not self.osds_never_return and not self._up(node):
                for osd in node.osds:  # the OSD pods are scheduled there again
                    self.osd_up[osd] = True
                self.recovered_at = self.now + self.recovery_delay

    def _reboot_due(self, prepared_at: datetime | None) -> bool:
        if self.reboot_after is None or prepared_at is None:
            return False
        return self.now >= prepared_at + self.reboot_after

    def _up(self, node: FakeNode) -> bool:
        return all(self.osd_up[i] for i in node.osds)

    def _gone(self, pod: PodView) -> bool:
        return pod.terminating and pod.ref not in self.refusing and self._terminated(pod)

    def _terminated(self, pod: PodView) -> bool:
        started = self._terminating_since.setdefault(pod.ref, self.now)
        return self.now - started >= self.evict_delay

    def busy(self) -> bool:
        """Whether the world will still change by itself."""
        pods = any(p.terminating for f in self.nodes.values() for p in f.pods)
        returning = any(f.back_at and not self._up(f) for f in self.nodes.values())
        rebooting = self.reboot_after is not None and any(
            r.phase == NodePhase.IN_MAINTENANCE and self.nodes[r.name].down_at is None
            for r in self.status.nodes
        )
        returning = returning and not self.osds_never_return
        recovering = self.recovered_at is not None and self.now < self.recovered_at
        return pods or returning or rebooting or recovering

    # -- driving ------------------------------------------------------------------------
    def step(self, *, crash: str = "", kill_at: int | None = None) -> Step | None:
        """One reconcile by the shipped executor. ``crash``: "restart" (nothing special: every
        round reads the status back from JSON), "lost" (every change fails, the status shows
        it), "killed" (the process dies at the change: nothing written), "unsaved" (it dies
        at the status write, after the change); ``kill_at``: it dies at that port call (0 is
        the snapshot). Returns the step whose status was written, None when killed."""
        step = self.reconcile(crash=crash, kill_at=kill_at)
        self.now += self.tick
        self.evolve()
        return step

    def reconcile(self, *, crash: str = "", kill_at: int | None = None) -> Step | None:
        """The reconcile of ``step`` alone: the clock and the world stay where they are."""
        assert crash in CRASHES, crash
        if crash == "restart":
            self.receivers.sent_here.clear()
        self._crash, self._kill_at, self._calls = crash, kill_at, 0
        try:
            step: Step | None = reconcile_once(self, self.body(), self.now).step
        except Killed:
            step = None
        finally:
            self._crash, self._kill_at = "", None
        if step is not None:
            self.steps.append(step)
        return step

    def _check(self, status: MaintenanceStatus) -> None:
        active = [r for r in status.nodes if r.phase in ACTIVE_PHASES]
        domains = {r.failure_domain for r in active}
        if len(domains) > 1:
            self.violations.append(f"{self.now}: failure domains active together: {domains}")
        key = json.dumps(self.spec_raw, sort_keys=True)
        limit = self._spec_cache[key][0] if key in self._spec_cache else None
        if limit is not None and len(active) > limit.max_unavailable:
            self.violations.append(f"{self.now}: {len(active)} nodes active")

    def run_until(self, done: Callable[[Cluster], bool], max_steps: int = 600) -> Step | None:
        for _ in range(max_steps):
            step = self.step()
            if done(self):
                return step
        raise AssertionError(f"condition not reached; last summary {self.steps[-1].summary}")

    def settle(self, max_steps: int = 600) -> Step:
        """Steps until nothing happens any more: no action, no status change, world idle."""
        quiet = 0
        for _ in range(max_steps):
            before = self.status
            step = self.step()
            assert step is not None
            idle = step.action is None and step.status == before and not self.busy()
            quiet = quiet + 1 if idle else 0
            if quiet >= 3:
                return step
        raise AssertionError(f"never settled; last summary {self.steps[-1].summary}")

    # -- questions ----------------------------------------------------------------------
    def record(self, node: str = "a") -> NodeRecord:
        found = self.status.node(node)
        assert found is not None, f"no status record for node {node}"
        return found

    def noout_state(self, node: str = "a") -> NooutState | None:
        noout = self.record(node).noout
        return noout.state if noout else None

    def phase(self, node: str = "a") -> NodePhase | None:
        record = self.status.node(node)
        return record.phase if record else None

    def summary_phases(self) -> list[str]:
        phases: list[str] = []
        for step in self.steps:
            if not phases or phases[-1] != step.summary.phase:
                phases.append(step.summary.phase)
        return phases

    def reasons(self) -> list[str]:
        return [n.reason for n in self.notes]

    def leftovers(self) -> list[str]:
        """Everything of ours still in the world."""
        mine = self.identity
        left = [f"cordon on {n}" for n, f in self.nodes.items() if f.cordoned_by == mine]
        left += [f"noout on osd.{i}" for i, owner in self.noout.items() if owner == self.us]
        left += [f"noout on {b}" for b, owner in self.noout_buckets.items() if owner == self.us]
        left += [f"lease on {n}" for n, h in self.leases.items() if h == mine]
        left += [f"claim {c}" for c in self.claims if c.startswith(f"maintenance/{mine}/")]
        left += [f"silence {s.id}" for s in self.alertmanager.active() if mine in s.comment]
        return left

    def finished(self) -> bool:
        return bool(self.steps) and self.steps[-1].summary.phase in {
            "Completed",
            "Failed",
            "Aborted",
        }


_CALL_OF: dict[type, str] = {
    AcquireLease: "acquire_lease",
    ReleaseLease: "release_lease",
    ClaimDomain: "enter_claim",
    ReleaseClaim: "remove_claims",
    Cordon: "cordon",
    Uncordon: "uncordon",
    SetNoout: "set_noout",
    UnsetNoout: "unset_noout",
    EvictPods: "drain_round",
}


def _implements(cluster: Cluster) -> MaintenancePorts:
    return cluster  # `mypy --strict` on this file checks that Cluster is a MaintenancePorts
