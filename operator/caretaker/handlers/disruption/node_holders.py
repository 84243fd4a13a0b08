"""Reads what other tools say about nodes (medik8s NodeMaintenances, kured's lock) and the
nodes' lifecycle conditions, for the one decision in ``domain.common.node_holders``; shared by
Maintenance and HealthPolicy."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping

from kubernetes.client import ApiClient

from caretaker.clients.kube.api import KubeApiError
from caretaker.clients.kube.node_holders import daemonset_annotation, node_maintenances
from caretaker.clients.kube.nodes import NodeInfo
from caretaker.constants import KURED_DAEMONSET
from caretaker.domain.common.node_holders import (
    KURED_LOCK_ANNOTATION,
    HolderFacts,
    KuredLock,
    NodeCondition,
    foreign_holder,
    kured_locked_nodes,
)

logger = logging.getLogger("caretaker.holders")


def node_conditions(info: NodeInfo) -> tuple[NodeCondition, ...]:
    return tuple(NodeCondition(*c) for c in info.conditions)


def read_holder_facts(kube: ApiClient) -> HolderFacts:
    """NodeMaintenances and kured's lock. A failed read (other than "not installed") raises
    ``KubeApiError``: the caller then holds back, it never assumes the node is free."""
    namespace, name = KURED_DAEMONSET
    lock = daemonset_annotation(kube, namespace, name, KURED_LOCK_ANNOTATION)
    kured = KuredLock(f"{namespace}/{name}", kured_locked_nodes(lock)) if lock else None
    return HolderFacts(node_maintenances(kube), kured)


def foreign_holders(
    kube: ApiClient,
    nodes: Iterable[str],
    infos: Mapping[str, NodeInfo],
    owner: str,
    leases: Mapping[str, str | None] | None = None,
) -> dict[str, str]:
    """node -> the other tool holding it, for the nodes asked about (none asked: no reads)."""
    nodes = list(nodes)
    if not nodes:
        return {}
    try:
        facts = read_holder_facts(kube)
    except KubeApiError as error:
        logger.warning("reading other tools' node holds failed: %s", error)
        return dict.fromkeys(nodes, f"unknown: other tools' holds could not be read ({error})")
    held = {}
    for node in nodes:
        info = infos.get(node)
        holder = foreign_holder(
            node,
            owner,
            facts=facts,
            conditions=node_conditions(info) if info else (),
            annotations=info.annotations if info else None,
            lease_holder=(leases or {}).get(node),
        )
        if holder is not None:
            held[node] = holder
    return held
