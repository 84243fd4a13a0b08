"""Pure functions from Ceph's JSON answers (Pacific 16.2) to the typed models."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from caretaker.clients.ceph.models import (
    ClusterStatus,
    CrushNode,
    CrushRule,
    HealthCheck,
    HealthReport,
    HealthStatus,
    OkToStop,
    OsdMap,
    OsdSpace,
    OsdState,
    OsdTree,
    PgStat,
    PoolInfo,
)

Json = Any  # Ceph's JSON: read with explicit keys below

CHOOSE_STEPS = ("chooseleaf_firstn", "chooseleaf_indep", "choose_firstn", "choose_indep")


def load(text: str) -> Json:
    """Ceph's JSON output; an empty answer reads as {}."""
    return json.loads(text) if text.strip() else {}


def _health_status(value: str) -> HealthStatus:
    try:
        return HealthStatus(value)
    except ValueError:
        return HealthStatus.ERR  # unknown words are treated as the worst case


def _health_check(name: str, body: Json) -> HealthCheck:
    summary = body.get("summary", {})
    return HealthCheck(
        name=name,
        severity=_health_status(body.get("severity", "")),
        summary=summary.get("message", ""),
        count=int(summary.get("count", 0)),
        muted=bool(body.get("muted", False)),
    )


def parse_health(data: Json) -> HealthReport:
    """The "health" part of ``status``."""
    checks = data.get("checks", {})
    return HealthReport(
        status=_health_status(data.get("status", "")),
        checks=tuple(_health_check(name, body) for name, body in sorted(checks.items())),
    )


def _pg_states(entries: list[Json], name_key: str, count_key: str) -> dict[str, int]:
    return {entry[name_key]: int(entry[count_key]) for entry in entries}


def parse_status(data: Json) -> ClusterStatus:
    """``status``."""
    osdmap, pgmap = data.get("osdmap", {}), data.get("pgmap", {})
    by_state = _pg_states(pgmap.get("pgs_by_state", []), "state_name", "count")
    return ClusterStatus(
        fsid=data.get("fsid", ""),
        health=parse_health(data.get("health", {})),
        quorum=tuple(data.get("quorum_names", [])),
        num_osds=int(osdmap.get("num_osds", 0)),
        num_up_osds=int(osdmap.get("num_up_osds", 0)),
        num_in_osds=int(osdmap.get("num_in_osds", 0)),
        pgs=PgStat(total=int(pgmap.get("num_pgs", 0)), by_state=by_state),
        mgr_available=bool(data.get("mgrmap", {}).get("available", False)),
        num_mons=int(data.get("monmap", {}).get("num_mons", 0)),
        osdmap_epoch=int(osdmap.get("epoch", 0)),
    )


def parse_osd_tree(data: Json) -> OsdTree:
    """``osd tree``: CRUSH buckets and OSDs (stray OSDs, outside CRUSH, are left out)."""
    nodes = {
        int(node["id"]): CrushNode(
            id=int(node["id"]),
            name=node["name"],
            type=node["type"],
            children=tuple(int(child) for child in node.get("children", [])),
            status=node.get("status", ""),
            type_id=int(node.get("type_id", 0)),
            device_class=str(node.get("device_class") or ""),
        )
        for node in data.get("nodes", [])
    }
    return OsdTree(nodes=nodes)


def _osd_state(entry: Json) -> OsdState:
    return OsdState(
        id=int(entry["osd"]),
        up=bool(entry.get("up", 0)),
        in_cluster=bool(entry.get("in", 0)),
        weight=float(entry.get("weight", 0.0)),
        state=frozenset(entry.get("state", [])),
        up_from=int(entry.get("up_from", 0)),
    )


def _flag_map(data: Mapping[str, list[str]]) -> dict[str, frozenset[str]]:
    return {name: frozenset(flags) for name, flags in data.items()}


def parse_osd_dump(data: Json) -> OsdMap:
    """``osd dump``: per-OSD noout is in each OSD's "state", per-bucket in "crush_node_flags"."""
    osds = [_osd_state(entry) for entry in data.get("osds", [])]
    return OsdMap(
        epoch=int(data.get("epoch", 0)),
        flags=frozenset(data.get("flags_set", [])),
        osds={osd.id: osd for osd in osds},
        crush_node_flags=_flag_map(data.get("crush_node_flags", {})),
        device_class_flags=_flag_map(data.get("device_class_flags", {})),
        nearfull_ratio=float(data.get("nearfull_ratio", 0.0)),
        full_ratio=float(data.get("full_ratio", 0.0)),
        pools=tuple(
            PoolInfo(
                id=int(pool["pool"]),
                name=str(pool["pool_name"]),
                crush_rule=int(pool.get("crush_rule", 0)),
                size=int(pool.get("size", 0)),
            )
            for pool in data.get("pools", [])
        ),
    )


def parse_osd_df(data: Json) -> dict[int, OsdSpace]:
    """``osd df``: OSD id -> size and used bytes (Ceph reports KiB)."""
    return {
        int(node["id"]): OsdSpace(
            id=int(node["id"]),
            size=int(node.get("kb", 0)) * 1024,
            used=int(node.get("kb_used", 0)) * 1024,
        )
        for node in data.get("nodes", [])
        if int(node["id"]) >= 0
    }


def parse_crush_types(data: Json) -> dict[str, int]:
    """``osd crush dump``: CRUSH type name -> type id (osd 0, host 1, ... in the default map)."""
    return {str(t["name"]): int(t["type_id"]) for t in data.get("types", [])}


def parse_config_value(text: str, name: str) -> str:
    """``config get <who> <name>``: Ceph answers the bare value even when asked for JSON
    (``0.750000``, ``rack``)."""
    value = text.strip().strip('"')
    if not value:
        raise ValueError(f"Ceph gave no value for {name}")
    return value


def parse_osd_hostnames(data: Json) -> dict[int, str]:
    """``osd metadata`` (all OSDs): OSD id -> the hostname the OSD reported (NODE_NAME on Rook).

    An OSD that never booted has no metadata (only its "id"): it is left out.
    """
    return {int(entry["id"]): entry["hostname"] for entry in data if entry.get("hostname")}


def parse_osd_ids(data: Json) -> frozenset[int]:
    """``osd ls``: the id of every OSD in the map."""
    return frozenset(int(osd_id) for osd_id in data)


def _pg_ids(data: Json, key: str) -> tuple[str, ...]:
    return tuple(data.get(key, []))


def parse_ok_to_stop(data: Json, message: str = "") -> OkToStop:
    """``osd ok-to-stop`` (the same JSON comes with 0 when ok and with -EBUSY when not)."""
    ok = bool(data.get("ok_to_stop", False))
    return OkToStop(
        ok_to_stop=ok,
        osds=tuple(int(osd_id) for osd_id in data.get("osds", [])),
        num_ok_pgs=int(data.get("num_ok_pgs", 0)),
        num_not_ok_pgs=int(data.get("num_not_ok_pgs", 0)),
        ok_become_degraded=_pg_ids(data, "ok_become_degraded"),
        ok_become_more_degraded=_pg_ids(data, "ok_become_more_degraded"),
        bad_become_inactive=_pg_ids(data, "bad_become_inactive"),
        bad_already_inactive=_pg_ids(data, "bad_already_inactive"),
        bad_no_pool_pgs=_pg_ids(data, "bad_no_pool_pgs"),
        message="" if ok else message,
    )


def parse_failure_domain(rule: Json) -> str:
    """The bucket type a CRUSH rule separates replicas by: the type of its last choose step.

    For ``take default; chooseleaf_firstn 0 type host; emit`` that is "host". With several choose
    steps (e.g. rack, then host) the last one is the finest level at which every replica is in
    a different bucket, so taking down one such bucket at a time is always safe.
    """
    types = [step["type"] for step in rule.get("steps", []) if step.get("op") in CHOOSE_STEPS]
    if not types:
        raise ValueError(f"CRUSH rule {rule.get('rule_name', '?')} has no choose step")
    return str(types[-1])


def parse_crush_rules(data: Json) -> tuple[CrushRule, ...]:
    """``osd crush rule dump`` without a name: every rule, with what it takes and separates by."""
    rules = []
    for rule in data:
        steps = rule.get("steps", [])
        has_choose = any(step.get("op") in CHOOSE_STEPS for step in steps)
        rules.append(
            CrushRule(
                id=int(rule["rule_id"]),
                name=str(rule.get("rule_name", "")),
                takes=tuple(str(s["item_name"]) for s in steps if s.get("op") == "take"),
                failure_domain_type=parse_failure_domain(rule) if has_choose else "",
            )
        )
    return tuple(rules)
