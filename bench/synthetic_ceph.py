"""A synthetic Ceph for the scale benchmark: 3,000 OSDs in 1,000 hosts (or any size), answering
the mon commands the operator sends with JSON in the exact shape the real cluster gives.

Every answer is built from an answer recorded from the testbed's real Ceph 16.2
(``tests/unit/data/ceph/``): one recorded OSD entry, OSD metadata entry, CRUSH host, ... is
copied once per OSD or host with its ids and names replaced, every other field kept as recorded.
``tests/unit/test_synthetic_ceph.py`` checks that the answers parse with the operator's own
parsers and keep the recorded keys, so this cannot drift from the real format unnoticed.

State that the operator changes is kept and shown back: cluster flags (``osd set``), per-OSD
noout (``osd add-noout``), per-bucket noout (``osd set-group``), out OSDs. OSDs never go down
(no daemon stops) and PGs stay active+clean. Hosts sit in racks, and the pools' CRUSH rule
separates replicas by rack, so ``ok-to-stop`` says yes for any set of OSDs within one rack.
"""

from __future__ import annotations

import copy
import errno
import importlib.util
import json
import socketserver
import threading
import uuid
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

RECORDED = Path(__file__).resolve().parents[1] / "tests" / "unit" / "data" / "ceph"
PGS_PER_POOL = 2048
Answer = tuple[int, bytes, str]  # (ret: 0 or -errno, JSON output, status message)


def recorded(name: str) -> Any:
    return json.loads((RECORDED / f"{name}.json").read_text())


def _dumps(data: Any) -> bytes:
    return json.dumps(data, separators=(",", ":")).encode()


class SyntheticCeph:
    """``answer(request)`` for one mon_command body; thread-safe; counts commands by prefix."""

    def __init__(self, hosts: Sequence[str], osds_per_host: int = 3, racks: int = 5) -> None:
        self.hosts = tuple(hosts)
        self.rack_of = {host: f"rack-{i * racks // len(hosts)}" for i, host in enumerate(hosts)}
        self.osds_of = {
            host: tuple(range(i * osds_per_host, (i + 1) * osds_per_host))
            for i, host in enumerate(self.hosts)
        }
        self.host_of = {osd: host for host, osds in self.osds_of.items() for osd in osds}
        self.flags: set[str] = set()
        self.noout_osds: set[int] = set()
        self.noout_buckets: set[str] = set()
        self.out_osds: set[int] = set()
        self.epoch = 100
        self.counts: Counter[str] = Counter()
        self.unknown: Counter[str] = Counter()  # commands it cannot answer (a gap to fill)
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[int, bytes]] = {}
        self._static = {
            "osd tree": _dumps(self._osd_tree()),
            "osd metadata": _dumps(self._osd_metadata()),
            "osd crush dump": _dumps(recorded("crush_dump_types")),
        }

    # -- the protocol ----------------------------------------------------------------------

    def answer(self, request: str) -> Answer:
        command = json.loads(request)
        prefix = str(command.get("prefix", ""))
        with self._lock:
            self.counts[prefix] += 1
            if prefix in self._static:
                return 0, self._static[prefix], ""
            reader = self._readers().get(prefix)
            if reader is not None:
                return 0, self._cached(prefix, reader), ""
            return self._other(prefix, command)

    def _readers(self) -> dict[str, Any]:
        return {
            "osd dump": self._osd_dump,
            "status": self._status,
            "osd df": self._osd_df,
            "osd ls": lambda: sorted(self.host_of),
        }

    def _cached(self, prefix: str, build: Any) -> bytes:
        cached = self._cache.get(prefix)
        if cached is None or cached[0] != self.epoch:
            cached = (self.epoch, _dumps(build()))
            self._cache[prefix] = cached
        return cached[1]

    def _other(self, prefix: str, command: dict[str, Any]) -> Answer:
        ids = {int(i) for i in command.get("ids", [])}
        unknown = sorted(i for i in ids if i not in self.host_of)
        if unknown:
            return 0, b"", f"osd.{unknown[0]} does not exist. "
        changes = {
            "osd set": lambda: self.flags.add(command["key"]),
            "osd unset": lambda: self.flags.discard(command["key"]),
            "osd add-noout": lambda: self.noout_osds.update(ids),
            "osd rm-noout": lambda: self.noout_osds.difference_update(ids),
            "osd set-group": lambda: self.noout_buckets.update(command["who"]),
            "osd unset-group": lambda: self.noout_buckets.difference_update(command["who"]),
            "osd out": lambda: self.out_osds.update(ids),
            "osd in": lambda: self.out_osds.difference_update(ids),
        }
        if prefix in changes:
            changes[prefix]()
            self.epoch += 1
            return 0, b"", ""
        if prefix == "osd ok-to-stop":
            return self._ok_to_stop(sorted(ids))
        if prefix == "osd crush rule dump":
            rule = self._crush_rule()
            return 0, _dumps(rule if command.get("name") else [rule]), ""
        if prefix == "osd pool get":
            return 0, _dumps({**recorded("pool_get_crush_rule"), "pool": command["pool"]}), ""
        if prefix == "config get":
            values = {"mon_osd_min_in_ratio": "0.750000", "mon_osd_down_out_subtree_limit": "rack"}
            return 0, values.get(command.get("key", ""), "").encode(), ""
        self.unknown[prefix] += 1
        return -errno.EINVAL, b"", f"command not known to the synthetic Ceph: {prefix}"

    # -- answers ---------------------------------------------------------------------------

    def _crush_rule(self) -> dict[str, Any]:
        rule = recorded("crush_rule_dump")
        for step in rule["steps"]:
            if step["op"].startswith("choose"):
                step["type"] = "rack"
        return dict(rule)

    def _osd_tree(self) -> dict[str, Any]:
        template = recorded("osd_tree")
        by_type = {node["type"]: node for node in template["nodes"]}
        racks = sorted(set(self.rack_of.values()))
        rack_ids = {rack: -2 - i for i, rack in enumerate(racks)}
        host_ids = {host: -2 - len(racks) - i for i, host in enumerate(self.hosts)}
        root = {**by_type["root"], "children": sorted(rack_ids.values())}
        nodes: list[dict[str, Any]] = [root]
        for rack in racks:
            hosts = [h for h in self.hosts if self.rack_of[h] == rack]
            children = sorted(host_ids[h] for h in hosts)
            nodes.append({**by_type["host"], "id": rack_ids[rack], "name": rack, "type": "rack"})
            nodes[-1].update(type_id=3, children=children)
        for host in self.hosts:
            osds = list(self.osds_of[host])
            nodes.append({**by_type["host"], "id": host_ids[host], "name": host, "children": osds})
            nodes += [{**by_type["osd"], "id": o, "name": f"osd.{o}", "depth": 3} for o in osds]
        return {"nodes": nodes, "stray": []}

    def _osd_metadata(self) -> list[dict[str, Any]]:
        template = recorded("osd_metadata")[0]
        return [
            {**template, "id": osd, "hostname": host, "osd_data": f"/var/lib/ceph/osd/ceph-{osd}"}
            for osd, host in self.host_of.items()
        ]

    def _osd_dump(self) -> dict[str, Any]:
        dump = recorded("osd_dump_noout")
        osd, xinfo = dump["osds"][0], dump["osd_xinfo"][0]
        dump["osds"] = [self._osd_entry(osd, i) for i in self.host_of]
        dump["osd_xinfo"] = [{**xinfo, "osd": i} for i in self.host_of]
        recorded_flags = set(dump["flags_set"]) - {"noout"}  # recorded while noout was set
        dump["flags_set"] = sorted(recorded_flags | self.flags)
        dump["flags"] = ",".join(dump["flags_set"])
        dump["crush_node_flags"] = {bucket: ["noout"] for bucket in sorted(self.noout_buckets)}
        dump["epoch"], dump["max_osd"] = self.epoch, len(self.host_of)
        for pool in dump["pools"]:
            pool.update(pg_num=PGS_PER_POOL, pg_placement_num=PGS_PER_POOL)
        return dict(dump)

    def _osd_entry(self, template: dict[str, Any], osd: int) -> dict[str, Any]:
        state = {"exists", "up"} | ({"noout"} if osd in self.noout_osds else set())
        entry = copy.copy(template)
        entry.update(
            osd=osd,
            uuid=str(uuid.UUID(int=osd + 1)),
            state=sorted(state),
            weight=0 if osd in self.out_osds else 1,
            **{"in": 0 if osd in self.out_osds else 1},
        )
        return entry

    def _flag_checks(self) -> dict[str, Any]:
        checks: dict[str, Any] = {}
        if self.flags:
            message = f"{','.join(sorted(self.flags))} flag(s) set"
            summary = {"message": message, "count": len(self.flags)}
            checks["OSDMAP_FLAGS"] = {"severity": "HEALTH_WARN", "summary": summary}
            checks["OSDMAP_FLAGS"].update(detail=[], muted=False)
        flagged = [f"osd.{i} has flags noout" for i in sorted(self.noout_osds)]
        flagged += [f"host {b} has flags noout" for b in sorted(self.noout_buckets)]
        if flagged:
            message = (
                f"{len(flagged)} OSDs or CRUSH {{nodes, device-classes}} have "
                "{NOUP,NODOWN,NOIN,NOOUT} flags set"
            )
            checks["OSD_FLAGS"] = {
                "severity": "HEALTH_WARN",
                "summary": {"message": message, "count": len(flagged)},
                "detail": [{"message": line} for line in flagged],
                "muted": False,
            }
        return checks

    def _health(self) -> dict[str, Any]:
        checks = self._flag_checks()
        return {"status": "HEALTH_WARN" if checks else "HEALTH_OK", "checks": checks, "mutes": []}

    def _status(self) -> dict[str, Any]:
        status = recorded("status_ok")
        health = self._health()
        for check in health["checks"].values():
            check.pop("detail", None)  # `status` leaves the detail lines out
        status["health"] = health
        total = len(self.host_of)
        status["osdmap"].update(
            epoch=self.epoch,
            num_osds=total,
            num_up_osds=total,
            num_in_osds=total - len(self.out_osds),
        )
        pgs = PGS_PER_POOL * 2
        status["pgmap"].update(
            num_pgs=pgs, pgs_by_state=[{"state_name": "active+clean", "count": pgs}]
        )
        status["quorum"], status["quorum_names"] = [0, 1, 2], ["a", "b", "c"]
        status["monmap"]["num_mons"] = 3
        return dict(status)

    def _osd_df(self) -> dict[str, Any]:
        df = recorded("osd_df")
        node = df["nodes"][0]
        df["nodes"] = [{**node, "id": i, "name": f"osd.{i}"} for i in self.host_of]
        return dict(df)

    def _ok_to_stop(self, ids: list[int]) -> Answer:
        racks = {self.rack_of[self.host_of[i]] for i in ids}
        pgs = [f"1.{i:x}" for i in range(min(len(ids) * 16, 64))]
        if len(racks) <= 1:
            body = {**recorded("ok_to_stop_one"), "osds": ids, "num_ok_pgs": len(pgs)}
            body["ok_become_degraded"] = pgs
            return 0, _dumps(body), ""
        body = {**recorded("ok_to_stop_two"), "osds": ids, "num_not_ok_pgs": len(pgs)}
        body["bad_become_inactive"] = pgs
        message = f"unsafe to stop osd(s) at this time ({len(pgs)} PGs are or would become offline)"
        return -errno.EBUSY, _dumps(body), message


def _wire() -> Any:
    """The framing of ``synthetic_rados/rados.py`` (loaded by path: importing it as ``rados``
    here would shadow the real binding)."""
    spec = importlib.util.spec_from_file_location(
        "synthetic_rados_wire", Path(__file__).parent / "synthetic_rados" / "rados.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class CephSocketServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    """Answers each connection's one mon_command from ``ceph``; ``serve_forever`` in a thread."""

    daemon_threads = True

    def __init__(self, path: Path, ceph: SyntheticCeph) -> None:
        self.ceph, self.wire = ceph, _wire()
        super().__init__(str(path), _Handler)


class _Handler(socketserver.BaseRequestHandler):
    server: CephSocketServer

    def handle(self) -> None:
        wire = self.server.wire
        try:
            request = wire.read_request(self.request)
            wire.send_reply(self.request, *self.server.ceph.answer(request))
        except (OSError, wire.Error):
            pass  # the operator went away mid-command (it was stopped)
