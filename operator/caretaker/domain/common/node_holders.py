"""Who else holds a node: one decision for Maintenance and HealthPolicy alike.

A node is held by another tool when one of these says so, checked in this order:
- the node's Caretaker Lease is held (unexpired) by another actor;
- a medik8s ``NodeMaintenance`` (nodemaintenance.medik8s.io) names it in ``spec.nodeName``;
- kured's lock (the ``weave.works/kured-node-lock`` annotation on kured's DaemonSet) names it,
  or kured's ``weave.works/kured-reboot-in-progress`` annotation is on the node;
- a Node lifecycle condition (``MaintenancePlanned`` ...) is set on it by someone else.

Pure: the handlers read the facts, this module decides. The answer is a short text naming the
holder, shown as it is in status.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

# Kubernetes' Node lifecycle condition types, in the order a maintenance goes through them.
MAINTENANCE_PLANNED = "MaintenancePlanned"
MAINTENANCE_IN_PROGRESS = "MaintenanceInProgress"
DRAIN_IN_PROGRESS = "DrainInProgress"
DRAINED = "Drained"
LIFECYCLE_TYPES = (MAINTENANCE_PLANNED, MAINTENANCE_IN_PROGRESS, DRAIN_IN_PROGRESS, DRAINED)

# Caretaker's own conditions carry this reason and a message that starts with the owner.
CARETAKER_REASON = "CaretakerMaintenance"

KURED_LOCK_ANNOTATION = "weave.works/kured-node-lock"  # on kured's DaemonSet
KURED_REBOOT_ANNOTATION = "weave.works/kured-reboot-in-progress"  # on the node (--annotate-nodes)


@dataclass(frozen=True)
class NodeCondition:
    type: str
    status: str
    reason: str = ""
    message: str = ""


@dataclass(frozen=True)
class KuredLock:
    """kured's DaemonSet ("namespace/name") and the nodes its lock annotation names."""

    daemonset: str
    nodes: tuple[str, ...]


@dataclass(frozen=True)
class HolderFacts:
    """What was read about the other tools, for every node at once."""

    node_maintenances: Mapping[str, tuple[str, ...]]  # node -> NodeMaintenance names
    kured: KuredLock | None = None


def owner_message(owner: str, text: str) -> str:
    """The message of one of Caretaker's conditions: the owner first, so it can be recognised."""
    return f"{owner}: {text}"


def is_own(condition: NodeCondition, owner: str) -> bool:
    return condition.reason == CARETAKER_REASON and condition.message.startswith(f"{owner}: ")


def condition_owner(condition: NodeCondition) -> str:
    """Who set a lifecycle condition, as far as can be told."""
    if condition.reason == CARETAKER_REASON and ": " in condition.message:
        return f"Caretaker {condition.message.split(': ', 1)[0]}"
    return f"reason {condition.reason}" if condition.reason else "an unnamed tool"


def foreign_holder(
    node: str,
    owner: str,
    *,
    facts: HolderFacts,
    conditions: tuple[NodeCondition, ...] = (),
    annotations: Mapping[str, str] | None = None,
    lease_holder: str | None = None,
) -> str | None:
    """The other tool that holds ``node`` (a text naming it), or None when ``owner`` may work
    on it. ``lease_holder`` is the unexpired holder of the node's Lease, if any."""
    if lease_holder and lease_holder != owner:
        return f"{lease_holder} (Lease)"
    names = facts.node_maintenances.get(node, ())
    if names:
        return f"medik8s NodeMaintenance {names[0]}"
    if facts.kured is not None and node in facts.kured.nodes:
        return f"kured (lock annotation on {facts.kured.daemonset})"
    if (annotations or {}).get(KURED_REBOOT_ANNOTATION) is not None:
        return f"kured (annotation {KURED_REBOOT_ANNOTATION} on the node)"
    for condition in conditions:
        if (
            condition.type in LIFECYCLE_TYPES
            and condition.status == "True"
            and not is_own(condition, owner)
        ):
            return f"{condition_owner(condition)} (condition {condition.type})"
    return None


def kured_locked_nodes(annotation: str | None) -> tuple[str, ...]:
    """The nodes named by kured's lock annotation: ``{"nodeID": ...}`` (one lock) or
    ``{"maxOwners": n, "locks": [{"nodeID": ...}]}`` (several); nothing when it is unreadable
    or empty (kured then holds no node)."""
    if not annotation:
        return ()
    try:
        value = json.loads(annotation)
    except ValueError:
        return ()
    if not isinstance(value, dict):
        return ()
    listed = value.get("locks")
    locks: list[object] = listed if isinstance(listed, list) else [value]
    nodes = [lock.get("nodeID") for lock in locks if isinstance(lock, dict)]
    return tuple(n for n in nodes if isinstance(n, str) and n)
