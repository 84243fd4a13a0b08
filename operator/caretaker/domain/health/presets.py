"""Ready-made rules (``spec.rules[].preset``) mirroring the upstream ceph-mixin alerts.

They use the series of the Ceph manager's Prometheus exporter. Each has a default severity,
``for``, target mapping, cooldown and escalation ladder; a rule may override any of them.

Down-and-out OSDs: the exporter skips an OSD whose osdmap addresses are gone, which is the case
once it is both down and out, so ``ceph_osd_up``, ``ceph_osd_in`` and ``ceph_osd_metadata`` all
vanish for it. ``ceph_osd_up == 0`` alone would then "resolve" the moment the OSD is marked out
(by Ceph after mon_osd_down_out_interval, or by the ladder's own markOut) and the page at 20m
would never go. So "down" is: reported with ``ceph_osd_up == 0``, OR known in the last hour
(``max_over_time(ceph_osd_metadata[1h])``) and no longer reported at all. The second part only
counts while the exporter reports some OSD (``count(ceph_osd_metadata) > 0``), so a manager
failover or a dead exporter does not turn every OSD "down" (CephUnreachable reports that).
An OSD removed on purpose therefore looks down for up to an hour: remove OSDs under a
Maintenance, which suspends the rule for them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from caretaker.constants import Severity
from caretaker.domain.health.actions import (
    DEFAULT_VERIFY,
    LadderStep,
    MarkOut,
    Notify,
    RestartOsd,
    Verify,
)
from caretaker.domain.health.targets import TargetKind, TargetMapping

OSD_MEMORY = "1h"
_META = "max by (ceph_daemon, hostname) (ceph_osd_metadata)"
OSD_KNOWN = f"max by (ceph_daemon, hostname) (max_over_time(ceph_osd_metadata[{OSD_MEMORY}]))"
OSD_DOWN = (
    "(max by (ceph_daemon, hostname) ("
    f"(ceph_osd_up == 0) * on (ceph_daemon) group_left (hostname) {_META}))"
    f" or (({OSD_KNOWN} unless on (ceph_daemon) ceph_osd_metadata) * 0"
    " and on () (count(ceph_osd_metadata) > 0))"
)
_POOL_NAME = "max by (pool_id, name) (ceph_pool_metadata)"
_MONS_IN_QUORUM = "(count(ceph_mon_quorum_status == 1) or vector(0))"

OSD_TARGET = TargetMapping(TargetKind.OSD, "ceph_daemon", "hostname")
HOST_TARGET = TargetMapping(TargetKind.HOST, "hostname")
POOL_TARGET = TargetMapping(TargetKind.POOL, "name")
CLUSTER_TARGET = TargetMapping(TargetKind.CLUSTER)


@dataclass(frozen=True)
class RulePreset:
    name: str
    summary: str
    expr: str
    for_: timedelta
    severity: Severity
    target: TargetMapping
    actions: tuple[LadderStep, ...]
    cooldown: timedelta = timedelta(minutes=30)


def _notify(after: timedelta = timedelta(0), route: Severity | None = None) -> LadderStep:
    return LadderStep(after, Notify(route=route))


def _minutes(value: float) -> timedelta:
    return timedelta(minutes=value)


_PRESETS = (
    RulePreset(
        "OsdDown",
        "An OSD is down (including down and out OSDs the exporter no longer lists)",
        OSD_DOWN,
        _minutes(0.5),
        Severity.URGENT,
        OSD_TARGET,
        (
            _notify(),
            LadderStep(_minutes(2), RestartOsd(), Verify(*DEFAULT_VERIFY[RestartOsd])),
            LadderStep(_minutes(15), MarkOut(), Verify(*DEFAULT_VERIFY[MarkOut])),
            _notify(_minutes(20), Severity.CRITICAL),
        ),
    ),
    RulePreset(
        "OsdHostDown",
        "Every OSD of a host is down",
        f"count by (hostname) ({OSD_DOWN}) == count by (hostname) ({OSD_KNOWN})",
        _minutes(1),
        Severity.URGENT,
        HOST_TARGET,
        (_notify(), _notify(_minutes(15), Severity.CRITICAL)),
    ),
    RulePreset(
        "ManyOsdsDown",
        "10% or more of the OSDs are down",
        f"count({OSD_DOWN}) / count({OSD_KNOWN}) >= 0.1",
        _minutes(1),
        Severity.CRITICAL,
        CLUSTER_TARGET,
        (_notify(),),
    ),
    RulePreset(
        "PgsInactive",
        "Placement groups of a pool are inactive: client I/O to them is blocked",
        "max by (pool_id, name) ((ceph_pg_total - ceph_pg_active)"
        f" * on (pool_id) group_left (name) {_POOL_NAME}) > 0",
        _minutes(5),
        Severity.CRITICAL,
        POOL_TARGET,
        (_notify(),),
    ),
    RulePreset(
        "PgsUnclean",
        "Placement groups of a pool have not been clean for a while",
        "max by (pool_id, name) ((ceph_pg_total - ceph_pg_clean)"
        f" * on (pool_id) group_left (name) {_POOL_NAME}) > 0",
        _minutes(15),
        Severity.ROUTINE,
        POOL_TARGET,
        (_notify(), _notify(_minutes(60), Severity.URGENT)),
    ),
    RulePreset(
        "PoolNearFull",
        "A pool is more than 85% full",
        "max by (pool_id, name) (ceph_pool_percent_used"
        f" * on (pool_id) group_left (name) {_POOL_NAME}) > 0.85",
        _minutes(5),
        Severity.ROUTINE,
        POOL_TARGET,
        (_notify(),),
    ),
    RulePreset(
        "OsdNearFull",
        "An OSD is more than 85% full",
        "max by (ceph_daemon, hostname) ((ceph_osd_stat_bytes_used / ceph_osd_stat_bytes)"
        f" * on (ceph_daemon) group_left (hostname) {_META}) > 0.85",
        _minutes(5),
        Severity.URGENT,
        OSD_TARGET,
        (_notify(),),
    ),
    RulePreset(
        "HealthError",
        "Ceph reports HEALTH_ERR",
        "max(ceph_health_status) == 2",
        _minutes(5),
        Severity.CRITICAL,
        CLUSTER_TARGET,
        (_notify(),),
    ),
    RulePreset(
        "MonQuorumAtRisk",
        "Losing one more monitor would lose quorum",
        f"({_MONS_IN_QUORUM} <= (floor(count(ceph_mon_metadata) / 2) + 1))"
        f" and on () ({_MONS_IN_QUORUM} < count(ceph_mon_metadata))",
        _minutes(0.5),
        Severity.CRITICAL,
        CLUSTER_TARGET,
        (_notify(),),
    ),
    RulePreset(
        "CephUnreachable",
        "Prometheus has no Ceph series: the exporter (mgr prometheus module) is absent",
        "absent(ceph_health_status)",
        _minutes(2),
        Severity.CRITICAL,
        CLUSTER_TARGET,
        (_notify(),),
    ),
)

PRESETS: Mapping[str, RulePreset] = {preset.name: preset for preset in _PRESETS}

# Rules whose target is an OSD that should be down: a disruptive step on one waits while Ceph
# itself (fresher than the last scrape) already reports the OSD up again.
OSD_DOWN_PRESETS = frozenset({"OsdDown"})
