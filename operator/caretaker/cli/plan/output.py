"""`caretaker plan` output: text for people, JSON for pipelines."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from caretaker.cli.plan.drain_output import drain_json, drain_lines
from caretaker.cli.plan.survey import Existing
from caretaker.domain.common.durations import format_duration
from caretaker.domain.common.timestamps import format_time
from caretaker.domain.drain.preflight import DrainPreflight
from caretaker.domain.maintenance.plan import Check, MaintenancePlan, NodePlan, WindowPlan

MARKS = {(True, True): "ok", (True, False): "ok", (False, True): "WAIT", (False, False): "note"}


def in_zone(moment: datetime | None, zone: str) -> str:
    """``Mon 2026-11-23 22:00 CET (2026-11-23T21:00:00Z)``: the window's zone, then UTC."""
    if moment is None:
        return "-"
    if zone == "UTC":
        return format_time(moment)
    local = moment.astimezone(ZoneInfo(zone))
    return f"{local:%a %Y-%m-%d %H:%M %Z} ({format_time(moment)})"


def render_text(
    plan: MaintenancePlan,
    existing: Existing | None,
    domain_type: str,
    drains: Mapping[str, DrainPreflight | None] | None = None,
) -> str:
    """``drains``: each node's drain preflight (None: the drain is off); a node not in it (not
    in the cluster) has none."""
    lines = [
        f"Plan for Maintenance {plan.identity} at {format_time(plan.now)} "
        "(read-only: nothing was changed)"
    ]
    if existing is not None:
        lines.append(
            f"Note: it exists in the cluster (phase {existing.phase}, progress "
            f"{existing.progress}); this plan is for a fresh start and ignores that progress."
        )
    lines += ["", *_window_lines(plan.now, plan.window), ""]
    if plan.ceph_error:
        lines.append(f"Ceph: unreachable ({plan.ceph_error})")
    lines.append(
        f"Nodes, in order (maxUnavailable {plan.max_unavailable}; failure domain: the bucket "
        f"of the coarsest CRUSH rule of the pools on the node's OSDs, {domain_type} where no "
        "pool says; a batch shares one failure domain):"
    )
    for index, node in enumerate(plan.nodes, start=1):
        lines += _node_lines(index, node)
        if drains is not None and node.name in drains:
            lines += drain_lines(drains[node.name])
    if not plan.nodes:
        lines.append("  (none)")
    lines += ["", f"Next step: {plan.next_step}"]
    return "\n".join(lines) + "\n"


def _window_lines(now: datetime, window: WindowPlan) -> list[str]:
    lines = [f"Window: {window.description}"]
    if window.kind == "none":
        return lines
    zone = window.time_zone
    if window.is_open:
        ends = in_zone(window.ends_at, zone)
        left = format_duration(window.ends_at - now) if window.ends_at else "-"
        lines.append(f"  now:          open until {ends}, {left} left")
    else:
        lines.append("  now:          over" if window.over else "  now:          closed")
    if window.next_start is not None:
        lines.append(f"  next opening: {in_zone(window.next_start, zone)}")
    node_start = window.next_node_start
    if node_start is None:
        lines.append("  a node may start: never (the window is over or shorter than one node)")
    elif node_start <= now:
        lines.append("  a node may start: now")
    else:
        lines.append(f"  a node may start: {in_zone(node_start, zone)}")
        if window.is_open:
            lines.append("    (what is left of this window is shorter than nodeDurationEstimate)")
    return lines


def _node_lines(index: int, node: NodePlan) -> list[str]:
    osds = ", ".join(f"osd.{i}" for i in node.osds) or "no OSDs"
    head = f"  {index}. {node.name}: {osds}; failure domain {node.failure_domain}; "
    head += f"batch {node.batch}; gates {'hold' if node.gates_hold else 'do not hold'}"
    width = max((len(c.name) for c in node.checks), default=0)
    return [head, *(_check_line(c, width) for c in node.checks)]


def _check_line(check: Check, width: int) -> str:
    mark = MARKS[(check.holds, check.blocking)]
    return f"       {mark:<4}  {check.name:<{width}}  {check.detail}"


def _time(moment: datetime | None) -> str | None:
    return format_time(moment) if moment else None


def render_json(
    plan: MaintenancePlan,
    existing: Existing | None,
    drains: Mapping[str, DrainPreflight | None] | None = None,
) -> dict[str, Any]:
    window = plan.window
    local = window.next_start.astimezone(ZoneInfo(window.time_zone)) if window.next_start else None
    return {
        "maintenance": plan.identity,
        "now": format_time(plan.now),
        "existing": None
        if existing is None
        else {"phase": existing.phase, "progress": existing.progress},
        "window": {
            "kind": window.kind,
            "description": window.description,
            "timeZone": window.time_zone,
            "open": window.is_open,
            "over": window.over,
            "endsAt": _time(window.ends_at),
            "nextOpening": _time(window.next_start),
            "nextOpeningLocal": local.isoformat() if local else None,
            "nodeMayStart": _time(window.next_node_start),
        },
        "cephError": plan.ceph_error or None,
        "nodes": [
            {
                "name": node.name,
                "batch": node.batch,
                "osds": list(node.osds),
                "failureDomain": node.failure_domain,
                "gatesHold": node.gates_hold,
                "checks": [
                    {
                        "name": c.name,
                        "holds": c.holds,
                        "blocking": c.blocking,
                        "detail": c.detail,
                    }
                    for c in node.checks
                ],
                "drain": drain_json(drains.get(node.name)) if drains else None,
            }
            for node in plan.nodes
        ],
        "maxUnavailable": plan.max_unavailable,
        "nextStep": plan.next_step,
        "wouldStart": plan.would_start,
        "checkedAt": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
