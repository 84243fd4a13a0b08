"""Typed errors of the Ceph client: callers tell "Ceph is unreachable" from "Ceph said no"."""

from __future__ import annotations

import errno


class CephError(Exception):
    """Base of every error raised by the Ceph client."""


class CephUnavailable(CephError):
    """The cluster could not be reached or did not answer in time.

    ``transient`` is False when retrying cannot help (e.g. the key was refused).
    """

    def __init__(self, message: str, *, transient: bool = True) -> None:
        super().__init__(message)
        self.transient = transient


class CephCommandError(CephError):
    """Ceph answered a command with an error code (``errno`` is positive, e.g. 22 for EINVAL)."""

    def __init__(self, command: str, errno_value: int, message: str) -> None:
        name = errno.errorcode.get(errno_value, str(errno_value))
        super().__init__(f"ceph {command}: {name}: {message}".rstrip(": "))
        self.command = command
        self.errno = errno_value
        self.message = message


class OsdNotFound(CephError):
    """A command named an OSD id that does not exist in the OSD map."""

    def __init__(self, osd_ids: tuple[int, ...]) -> None:
        names = ", ".join(f"osd.{osd_id}" for osd_id in osd_ids)
        super().__init__(f"{names} does not exist")
        self.osd_ids = osd_ids


class RookDiscoveryError(CephError):
    """The Rook ConfigMap or Secret that describes the cluster is missing or malformed."""
