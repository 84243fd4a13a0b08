"""The clients and settings every handler works with, built once at start-up (kopf memo)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kubernetes.client import ApiClient

from caretaker.clients.ceph.base import CephClient
from caretaker.clients.kube.informer import Informer
from caretaker.clients.kube.node_list import SharedNodeList
from caretaker.clients.kube.nodes import list_nodes
from caretaker.clients.kube.read_cache import Collection, start_read_cache
from caretaker.clients.kube.records import RECORDS
from caretaker.constants import GROUP, HEALTH_POLICIES, MAINTENANCES, VERSION
from caretaker.settings.flags import Settings

WATCH_SYNC_SECONDS = 10.0


@dataclass
class Services:
    settings: Settings
    kube: ApiClient
    ceph: CephClient | None  # None when no connection is configured or it failed
    prometheus: Any  # caretaker.clients.prometheus client, or None without a Prometheus URL
    ceph_error: str = ""
    ledger_name: str = ""  # the disruption ledger's Lease, named once Ceph's fsid is known
    nodes: SharedNodeList = field(init=False)  # every Node, one list shared by all loops
    informers: list[Informer] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.nodes = SharedNodeList(lambda: list_nodes(self.kube))

    def watch(self) -> None:
        """Keeps Nodes, the Lease namespace's Leases and Caretaker's own objects in memory
        from now on (one list and one watch each): reads of them no longer reach the API
        server while the watches are connected (``caretaker.clients.kube.read_cache``)."""
        settings = self.settings
        custom = f"/apis/{GROUP}/{VERSION}"
        scopes: tuple[str | None, ...] = (None,) if settings.all_namespaces else settings.namespaces
        collections = [
            Collection("/api/v1", "nodes"),
            Collection("/apis/coordination.k8s.io/v1", "leases", settings.lease_namespace),
            Collection(custom, "maintenancefreezes"),  # cluster-scoped: handlers/freeze/read.py
            *(
                Collection(custom, plural, scope)
                for plural in (MAINTENANCES, HEALTH_POLICIES, RECORDS)
                for scope in scopes
            ),
        ]
        self.informers = start_read_cache(self.kube, collections, WATCH_SYNC_SECONDS)
        nodes = self.informers[0]
        self.nodes.watched = lambda: nodes.generation if nodes.fresh() else None

    def stop_watching(self) -> None:
        for informer in self.informers:
            informer.stop()
