"""The Ceph client interface. Each operation is written once, here; a backend only sends commands.

Calls block (librados or a subprocess): from asyncio code run them with ``asyncio.to_thread``.
Every call has a timeout; only :class:`CephUnavailable` that is transient is retried.
"""

from __future__ import annotations

import errno
import logging
import time
from abc import ABC, abstractmethod
from collections.abc import Collection, Iterable
from types import TracebackType

from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential

from caretaker.clients.ceph import commands
from caretaker.clients.ceph.commands import CephCommand, CommandReply
from caretaker.clients.ceph.connection import CephConnection
from caretaker.clients.ceph.errors import CephUnavailable, OsdNotFound
from caretaker.clients.ceph.models import (
    ClusterStatus,
    CrushRule,
    OkToStop,
    OsdMap,
    OsdSpace,
    OsdTree,
)
from caretaker.clients.ceph.parsing import (
    Json,
    load,
    parse_config_value,
    parse_crush_rules,
    parse_crush_types,
    parse_ok_to_stop,
    parse_osd_df,
    parse_osd_dump,
    parse_osd_hostnames,
    parse_osd_ids,
    parse_osd_tree,
    parse_status,
)
from caretaker.clients.ceph.replies import raise_for_reply
from caretaker.metrics import CEPH_COMMAND_TIME

logger = logging.getLogger(__name__)


def _is_transient(error: BaseException) -> bool:
    return isinstance(error, CephUnavailable) and error.transient


def _ids(osd_ids: Iterable[int]) -> tuple[int, ...]:
    return tuple(sorted(set(osd_ids)))


class CephClient(ABC):
    """Reads and changes the Ceph state that node maintenance needs."""

    def __init__(self, connection: CephConnection, *, retry_attempts: int = 3) -> None:
        self.connection = connection
        self._retry_attempts = max(1, retry_attempts)

    @abstractmethod
    def send(self, command: CephCommand) -> CommandReply:
        """Sends one command and returns Ceph's reply; raises CephUnavailable when it cannot."""

    @abstractmethod
    def close(self) -> None:
        """Releases the connection, if the backend keeps one."""

    def __enter__(self) -> CephClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- plumbing ---------------------------------------------------------------------------

    def _call(self, command: CephCommand, allowed_errnos: Collection[int] = ()) -> CommandReply:
        retrying = Retrying(
            stop=stop_after_attempt(self._retry_attempts),
            wait=wait_exponential(multiplier=0.2, max=2.0),
            retry=retry_if_exception(_is_transient),
            reraise=True,
        )
        for attempt in retrying:
            with attempt:
                started = time.monotonic()
                try:
                    reply = self.send(command)
                except CephUnavailable:
                    CEPH_COMMAND_TIME.labels(command.prefix, "unavailable").observe(
                        time.monotonic() - started
                    )
                    raise
                elapsed = time.monotonic() - started
                CEPH_COMMAND_TIME.labels(
                    command.prefix, "ok" if reply.ret == 0 else "error"
                ).observe(elapsed)
                logger.debug("ceph %s -> %d in %.3f s", command.prefix, reply.ret, elapsed)
                raise_for_reply(command, reply, allowed_errnos)
        return reply

    def _json(self, command: CephCommand) -> Json:
        return load(self._call(command).output)

    def _require_osds(self, osd_ids: tuple[int, ...]) -> None:
        """Ceph says yes to several commands about OSDs that do not exist: check first."""
        if not osd_ids:
            raise ValueError("no OSD ids given")
        known = self.osd_ids()  # `osd ls`: a few KB where `osd dump` is MB at thousands of OSDs
        missing = tuple(osd_id for osd_id in osd_ids if osd_id not in known)
        if missing:
            raise OsdNotFound(missing)

    def _change_osds(self, command: CephCommand, osd_ids: tuple[int, ...]) -> None:
        if osd_ids:
            self._require_osds(osd_ids)
            self._call(command)

    # -- reads ------------------------------------------------------------------------------

    def status(self) -> ClusterStatus:
        """``ceph status``: health summary, mon quorum, OSD counts, PG states."""
        return parse_status(self._json(commands.status()))

    def osd_tree(self) -> OsdTree:
        """``ceph osd tree``: CRUSH buckets (hosts, racks, ...) and the OSDs below them."""
        return parse_osd_tree(self._json(commands.osd_tree()))

    def osd_dump(self) -> OsdMap:
        """``ceph osd dump``: up/in and flags of each OSD, cluster flags, per-bucket flags."""
        return parse_osd_dump(self._json(commands.osd_dump()))

    def osd_ids(self) -> frozenset[int]:
        """``ceph osd ls``: every OSD id in the map."""
        return parse_osd_ids(self._json(commands.osd_ls()))

    def osd_hostnames(self) -> dict[int, str]:
        """``ceph osd metadata``: OSD id -> hostname (the Kubernetes node on Rook)."""
        return parse_osd_hostnames(self._json(commands.osd_metadata()))

    def osd_df(self) -> dict[int, OsdSpace]:
        """``ceph osd df``: each OSD's size and used bytes."""
        return parse_osd_df(self._json(commands.osd_df()))

    def crush_types(self) -> dict[str, int]:
        """The CRUSH map's bucket types: name -> type id."""
        return parse_crush_types(self._json(commands.crush_dump()))

    def config_value(self, who: str, name: str) -> str:
        """``ceph config get <who> <name>``: the value the daemons use, as text."""
        return parse_config_value(self._call(commands.config_get(who, name)).output, name)

    def cluster_flags(self) -> frozenset[str]:
        return self.osd_dump().flags

    def crush_rules(self) -> tuple[CrushRule, ...]:
        """``ceph osd crush rule dump``: every CRUSH rule, what it takes and separates by."""
        return parse_crush_rules(self._json(commands.crush_rule_dump()))

    def ok_to_stop(self, osd_ids: Iterable[int], max_osds: int | None = None) -> OkToStop:
        """``ceph osd ok-to-stop``. Not ok is an answer, not an error (Ceph returns EBUSY).

        With ``max_osds`` Ceph may widen the set to more OSDs of the same CRUSH bucket.
        Raises OsdNotFound for unknown ids (Ceph would call them ok).
        """
        ids = _ids(osd_ids)
        self._require_osds(ids)
        reply = self._call(commands.ok_to_stop(ids, max_osds), allowed_errnos={errno.EBUSY})
        return parse_ok_to_stop(load(reply.output), reply.message)

    # -- changes ----------------------------------------------------------------------------

    def set_flag(self, flag: str) -> None:
        """``ceph osd set <flag>``: noout, norebalance, nobackfill, norecover, ..."""
        self._call(commands.set_flag(flag))

    def unset_flag(self, flag: str) -> None:
        self._call(commands.unset_flag(flag))

    def add_noout(self, osd_ids: Iterable[int]) -> None:
        """noout on single OSDs (``ceph osd add-noout``); raises OsdNotFound for unknown ids."""
        ids = _ids(osd_ids)
        self._change_osds(commands.add_noout(ids), ids)

    def rm_noout(self, osd_ids: Iterable[int]) -> None:
        ids = _ids(osd_ids)
        self._change_osds(commands.rm_noout(ids), ids)

    def set_group_noout(self, bucket: str) -> None:
        """noout on every OSD below a CRUSH bucket (``ceph osd set-group noout <bucket>``).

        An unknown bucket is a CephCommandError with errno EINVAL.
        """
        self._call(commands.set_group_flags(["noout"], [bucket]))

    def unset_group_noout(self, bucket: str) -> None:
        self._call(commands.unset_group_flags(["noout"], [bucket]))

    def mark_out(self, osd_ids: Iterable[int]) -> None:
        """``ceph osd out``; raises OsdNotFound for unknown ids (Ceph would answer 0)."""
        ids = _ids(osd_ids)
        self._change_osds(commands.osd_out(ids), ids)

    def mark_in(self, osd_ids: Iterable[int]) -> None:
        ids = _ids(osd_ids)
        self._change_osds(commands.osd_in(ids), ids)
