"""Ceph readings turned into yes/no answers with reasons: health gate, PG health, OSDs up."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

HEALTH_OK = "HEALTH_OK"
HEALTH_WARN = "HEALTH_WARN"


@dataclass(frozen=True)
class Verdict:
    holds: bool
    reason: str


def health_gate(health: str, checks: Mapping[str, str], allowed: Iterable[str]) -> Verdict:
    """HEALTH_OK holds; HEALTH_WARN holds only when every check is allowed; anything else waits."""
    if health == HEALTH_OK:
        return Verdict(True, "Ceph reports HEALTH_OK")
    unexpected = sorted(set(checks) - set(allowed))
    if health == HEALTH_WARN and not unexpected:
        return Verdict(True, f"HEALTH_WARN with allowed checks only ({', '.join(sorted(checks))})")
    shown = ", ".join(f"{name}: {checks[name]}" for name in unexpected[:3]) or "no details"
    return Verdict(False, f"Ceph reports {health} ({shown})")


def pgs_healthy(pg_states: Mapping[str, int], healthy_pattern: str) -> Verdict:
    """Every PG must be in a state matching the pattern (and there must be PGs)."""
    pattern = re.compile(healthy_pattern)
    total = sum(pg_states.values())
    unhealthy = {s: n for s, n in pg_states.items() if n and not pattern.search(s)}
    if total == 0:
        return Verdict(False, "Ceph reports no placement groups yet")
    if unhealthy:
        shown = ", ".join(f"{n} {s}" for s, n in sorted(unhealthy.items(), key=lambda x: -x[1])[:3])
        return Verdict(False, f"{sum(unhealthy.values())}/{total} PGs not healthy ({shown})")
    return Verdict(True, f"all {total} PGs healthy")


def osds_up(osds: Iterable[int], up: Mapping[int, bool]) -> Verdict:
    """All the given OSDs must be up; an OSD Ceph no longer lists counts as down."""
    down = [i for i in osds if not up.get(i, False)]
    if down:
        return Verdict(False, "waiting for " + ", ".join(f"osd.{i}" for i in down) + " to be up")
    return Verdict(True, "all OSDs up")
