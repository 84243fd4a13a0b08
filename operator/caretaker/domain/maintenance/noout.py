"""noout for one node: what it needs, whether it is there, and the action to set or lift it."""

from __future__ import annotations

from caretaker.domain.ceph.cluster import CephCluster
from caretaker.domain.maintenance.actions import Action, SetNoout, UnsetNoout
from caretaker.domain.maintenance.spec import MaintenanceSpec, NooutScope
from caretaker.domain.maintenance.status import NodeRecord, NooutRecord, NooutState


def noout_present(noout: NooutRecord, ceph: CephCluster) -> bool:
    if noout.scope == NooutScope.HOST:
        return noout.bucket in ceph.noout_buckets
    return set(noout.osds) <= ceph.noout_osds


def plan_noout(record: NodeRecord, spec: MaintenanceSpec, ceph: CephCluster) -> NooutRecord | None:
    """What noout this node needs, and whether someone else already set it (then it is not ours)."""
    if spec.ceph.noout == NooutScope.NONE or not record.osds:
        return None
    if spec.ceph.noout == NooutScope.HOST:
        bucket = ceph.osd_host_bucket.get(record.osds[0], record.name)
        state = NooutState.PREEXISTING if bucket in ceph.noout_buckets else NooutState.INTENDED
        return NooutRecord(scope="host", bucket=bucket, state=state)
    missing = tuple(i for i in record.osds if i not in ceph.noout_osds)
    if not missing:
        return NooutRecord(scope="osd", osds=record.osds, state=NooutState.PREEXISTING)
    return NooutRecord(scope="osd", osds=missing, state=NooutState.INTENDED)


def noout_action(noout: NooutRecord, node: str, *, lift: bool) -> Action:
    kind = UnsetNoout if lift else SetNoout
    return kind(node=node, osds=noout.osds, bucket=noout.bucket)


def noout_label(noout: NooutRecord) -> str:
    if noout.scope == NooutScope.HOST:
        return f"host {noout.bucket}"
    return ", ".join(f"osd.{i}" for i in noout.osds)
