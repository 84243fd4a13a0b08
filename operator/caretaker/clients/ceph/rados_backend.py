"""Ceph client backend on librados (Debian's python3-rados binding).

Every command goes through ``mon_command``, mgr commands (ok-to-stop, pg ls-by-pool, ...) too: the
mon forwards them to the active mgr. ``mgr_command`` is avoided on purpose: in Pacific 16.2 a
``mgr_command`` that hits ``rados_mon_op_timeout`` and whose answer arrives later crashes the whole
process (use after free; see ceph/ceph PR 57439), while a timed out ``mon_command`` is safe.
"""

from __future__ import annotations

import threading
from typing import Any

import rados

from caretaker.clients.ceph.base import CephClient
from caretaker.clients.ceph.commands import CephCommand, CommandReply
from caretaker.clients.ceph.connection import CephConnection
from caretaker.clients.ceph.errors import CephUnavailable


class RadosCephClient(CephClient):
    """Connects on first use and keeps the connection; librados reconnects to the mons itself."""

    def __init__(self, connection: CephConnection, *, retry_attempts: int = 3) -> None:
        super().__init__(connection, retry_attempts=retry_attempts)
        self._cluster: Any = None
        self._lock = threading.Lock()

    def send(self, command: CephCommand) -> CommandReply:
        cluster = self._connected()
        try:
            ret, output, message = cluster.mon_command(command.to_json(), b"")
        except rados.Error as error:
            raise CephUnavailable(f"ceph {command.prefix}: {error}") from error
        return CommandReply(ret=ret, output=output.decode(), message=message)

    def close(self) -> None:
        with self._lock:
            if self._cluster is not None:
                self._cluster.shutdown()
                self._cluster = None

    def _connected(self) -> Any:
        with self._lock:
            if self._cluster is None:
                self._cluster = self._connect()
            return self._cluster

    def _connect(self) -> Any:
        timeout = str(self.connection.whole_seconds)  # librados takes whole seconds
        conf = {
            "rados_mon_op_timeout": timeout,
            "rados_osd_op_timeout": timeout,
            "client_mount_timeout": timeout,
        }
        if self.connection.keyring_path is not None:
            conf["keyring"] = str(self.connection.keyring_path)
        try:
            cluster = rados.Rados(
                conffile=str(self.connection.conf_path), conf=conf, name=self.connection.user
            )
        except rados.Error as error:
            raise CephUnavailable(f"bad Ceph configuration: {error}", transient=False) from error
        try:
            cluster.connect(timeout=self.connection.whole_seconds)
        except rados.Error as error:
            cluster.shutdown()
            refused = isinstance(error, rados.PermissionDeniedError | rados.PermissionError)
            raise CephUnavailable(
                f"cannot connect to Ceph as {self.connection.user}: {error}", transient=not refused
            ) from error
        return cluster
