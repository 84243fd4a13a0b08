"""A HealthPolicy's node actions (cordon, drain, taint) take the node's Lease, the same one a
Maintenance takes (``NODE_LEASE_PREFIX`` + node), and leave alone a node another tool holds
(``domain.common.node_holders``: another Lease holder, a medik8s NodeMaintenance, kured's lock,
someone else's lifecycle condition). The Lease is released once the action is done; a drain
that goes on keeps it (renewed every round) until its last round."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from kubernetes.client import ApiClient

from caretaker.clients.kube.lease import acquire_lease, read_lease, release_lease
from caretaker.clients.kube.nodes import get_node
from caretaker.constants import NODE_LEASE_PREFIX
from caretaker.handlers.disruption.node_holders import foreign_holders


@dataclass(frozen=True)
class NodeLeases:
    namespace: str
    seconds: int


def take_node(kube: ApiClient, leases: NodeLeases, node: str, identity: str) -> str | None:
    """None when ``identity`` holds the node's Lease now; otherwise who holds the node."""
    name = f"{NODE_LEASE_PREFIX}{node}"
    lease = read_lease(kube, leases.namespace, name)
    holder = None
    if lease is not None and not lease.expired(datetime.now(UTC)):
        holder = lease.holder
    info = get_node(kube, node)
    infos = {node: info} if info is not None else {}
    held = foreign_holders(kube, [node], infos, identity, {node: holder})
    if node in held:
        return f"node {node} is held by {held[node]}"
    if not acquire_lease(kube, leases.namespace, name, identity, duration_seconds=leases.seconds):
        return f"node {node} is held by another actor (Lease {leases.namespace}/{name})"
    return None


def give_node(kube: ApiClient, leases: NodeLeases, node: str, identity: str) -> None:
    release_lease(kube, leases.namespace, f"{NODE_LEASE_PREFIX}{node}", identity)
