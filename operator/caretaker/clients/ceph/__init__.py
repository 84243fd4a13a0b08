"""Ceph client: one interface (CephClient), librados and CLI backends, Rook discovery.

client = create_ceph_client(CephConnection(conf_path=..., keyring_path=...))
client.ok_to_stop([3]).ok_to_stop
"""

from caretaker.clients.ceph.base import CephClient
from caretaker.clients.ceph.connection import CephConnection
from caretaker.clients.ceph.errors import (
    CephCommandError,
    CephError,
    CephUnavailable,
    OsdNotFound,
    RookDiscoveryError,
)
from caretaker.clients.ceph.factory import connect_ceph, create_ceph_client, rados_available
from caretaker.clients.ceph.models import (
    ClusterStatus,
    CrushNode,
    HealthCheck,
    HealthReport,
    HealthStatus,
    OkToStop,
    OsdMap,
    OsdState,
    OsdTree,
    PgStat,
)

__all__ = [
    "CephClient",
    "CephCommandError",
    "CephConnection",
    "CephError",
    "CephUnavailable",
    "ClusterStatus",
    "CrushNode",
    "HealthCheck",
    "HealthReport",
    "HealthStatus",
    "OkToStop",
    "OsdMap",
    "OsdNotFound",
    "OsdState",
    "OsdTree",
    "PgStat",
    "RookDiscoveryError",
    "connect_ceph",
    "create_ceph_client",
    "rados_available",
]
