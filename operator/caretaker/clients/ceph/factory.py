"""Picks the Ceph client backend: librados when the binding imports, else the ``ceph`` CLI."""

from __future__ import annotations

import importlib.util
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol

from caretaker.clients.ceph.base import CephClient
from caretaker.clients.ceph.connection import CephConnection

if TYPE_CHECKING:
    from kubernetes.client import ApiClient

Backend = Literal["auto", "rados", "cli"]

logger = logging.getLogger(__name__)


class CephSettings(Protocol):
    """The operator settings this module reads (caretaker.settings.flags.Settings has them)."""

    @property
    def ceph_conf(self) -> Path | None: ...
    @property
    def ceph_keyring(self) -> Path | None: ...
    @property
    def ceph_user(self) -> str: ...
    @property
    def rook_namespace(self) -> str | None: ...


def rados_available() -> bool:
    """True when ``import rados`` works (Debian's python3-rados linked into this Python)."""
    try:
        return importlib.util.find_spec("rados") is not None and _import_rados()
    except ImportError:
        return False


def _import_rados() -> bool:
    import rados  # noqa: F401, PLC0415 - probing the binary module

    return True


def create_ceph_client(
    connection: CephConnection, backend: Backend = "auto", *, retry_attempts: int = 3
) -> CephClient:
    """A client for ``connection``; it connects on its first call, not here."""
    use_rados = backend == "rados" or (backend == "auto" and rados_available())
    if use_rados:
        from caretaker.clients.ceph.rados_backend import RadosCephClient  # noqa: PLC0415

        return RadosCephClient(connection, retry_attempts=retry_attempts)
    if backend == "auto":
        logger.info("python rados binding not importable: using the ceph CLI")
    from caretaker.clients.ceph.cli_backend import CliCephClient  # noqa: PLC0415

    return CliCephClient(connection, retry_attempts=retry_attempts)


def connect_ceph(
    settings: CephSettings, kube: ApiClient | None = None, backend: Backend = "auto"
) -> CephClient:
    """The client the operator uses: from --ceph-conf, else from Rook's objects in Kubernetes."""
    if settings.ceph_conf is not None:
        connection = CephConnection(
            conf_path=settings.ceph_conf,
            keyring_path=settings.ceph_keyring,
            user=settings.ceph_user,
        )
    elif settings.rook_namespace:
        if kube is None:
            raise ValueError("Rook discovery needs a Kubernetes API client")
        from caretaker.clients.ceph.rook_discovery import discover_rook_connection  # noqa: PLC0415

        connection = discover_rook_connection(kube, settings.rook_namespace)
    else:
        raise ValueError("no Ceph connection configured (ceph_conf or rook_namespace)")
    return create_ceph_client(connection, backend)
