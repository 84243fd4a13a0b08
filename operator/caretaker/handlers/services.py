"""The clients and settings every handler works with, built once at start-up (kopf memo)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kubernetes.client import ApiClient

from caretaker.clients.ceph.base import CephClient
from caretaker.clients.kube.node_list import SharedNodeList
from caretaker.clients.kube.nodes import list_nodes
from caretaker.settings.flags import Settings


@dataclass
class Services:
    settings: Settings
    kube: ApiClient
    ceph: CephClient | None  # None when no connection is configured or it failed
    prometheus: Any  # caretaker.clients.prometheus client, or None without a Prometheus URL
    ceph_error: str = ""
    ledger_name: str = ""  # the disruption ledger's Lease, named once Ceph's fsid is known
    nodes: SharedNodeList = field(init=False)  # every Node, one list shared by all loops

    def __post_init__(self) -> None:
        self.nodes = SharedNodeList(lambda: list_nodes(self.kube))
