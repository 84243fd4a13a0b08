"""How a Ceph reply becomes a result or a typed error (pure: no I/O)."""

from __future__ import annotations

import errno
import re
from collections.abc import Collection

from caretaker.clients.ceph.commands import CephCommand, CommandReply
from caretaker.clients.ceph.errors import CephCommandError, CephUnavailable, OsdNotFound

# Ceph could not answer now, but may in a moment (mon election, mgr restart, slow daemon).
TRANSIENT_ERRNOS = frozenset(
    {
        errno.ETIMEDOUT,
        errno.EAGAIN,
        errno.ENOTCONN,
        errno.ESHUTDOWN,
        errno.ECONNREFUSED,
        errno.EINTR,
    }
)

_MISSING_OSD = re.compile(r"osd\.(\d+) does not exist")


def missing_osds_in(message: str) -> tuple[int, ...]:
    """OSD ids Ceph reported as missing ("osd.7 does not exist."), which it does with code 0."""
    return tuple(int(osd_id) for osd_id in _MISSING_OSD.findall(message))


def raise_for_reply(
    command: CephCommand, reply: CommandReply, allowed_errnos: Collection[int] = ()
) -> None:
    """Raises the typed error a reply stands for; returns when the caller should read the output.

    ``allowed_errnos`` are codes that carry a regular answer (ok-to-stop's EBUSY).
    """
    code = -reply.ret
    if code == 0 or code in allowed_errnos:
        missing = missing_osds_in(reply.message)
        if missing:
            raise OsdNotFound(missing)
        return
    if code in TRANSIENT_ERRNOS:
        raise CephUnavailable(f"ceph {command.prefix}: {errno.errorcode[code]}: {reply.message}")
    if code == errno.ENOENT and missing_osds_in(reply.message):
        raise OsdNotFound(missing_osds_in(reply.message))
    raise CephCommandError(command.prefix, code, reply.message)
