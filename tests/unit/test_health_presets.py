"""Ready-made rules: they resolve, their ladders fit their targets, and their queries use the
real series of the Ceph manager's Prometheus exporter."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from caretaker.constants import Severity
from caretaker.domain.health.actions import MarkOut, Notify, RestartOsd, mapping_problem
from caretaker.domain.health.presets import OSD_DOWN, PRESETS
from caretaker.domain.health.spec import read_health_policy_spec
from caretaker.domain.health.targets import TargetKind

EXPORTER_SERIES = {
    "ceph_osd_up",
    "ceph_osd_in",
    "ceph_osd_metadata",
    "ceph_osd_stat_bytes",
    "ceph_osd_stat_bytes_used",
    "ceph_health_status",
    "ceph_health_detail",
    "ceph_pg_total",
    "ceph_pg_active",
    "ceph_pg_clean",
    "ceph_pool_percent_used",
    "ceph_pool_metadata",
    "ceph_mon_quorum_status",
    "ceph_mon_metadata",
}
EXPECTED_SERIES = {
    "OsdDown": {"ceph_osd_up", "ceph_osd_metadata"},
    "OsdHostDown": {"ceph_osd_up", "ceph_osd_metadata"},
    "ManyOsdsDown": {"ceph_osd_up", "ceph_osd_metadata"},
    "PgsInactive": {"ceph_pg_total", "ceph_pg_active", "ceph_pool_metadata"},
    "PgsUnclean": {"ceph_pg_total", "ceph_pg_clean", "ceph_pool_metadata"},
    "PoolNearFull": {"ceph_pool_percent_used", "ceph_pool_metadata"},
    "OsdNearFull": {"ceph_osd_stat_bytes_used", "ceph_osd_stat_bytes", "ceph_osd_metadata"},
    "HealthError": {"ceph_health_status"},
    "MonQuorumAtRisk": {"ceph_mon_quorum_status", "ceph_mon_metadata"},
    "CephUnreachable": {"ceph_health_status"},
}


def series_of(expr: str) -> set[str]:
    return set(re.findall(r"\bceph_[a-z_]+\b", expr)) - {"ceph_daemon"}  # a label


def test_the_catalog_is_complete() -> None:
    assert set(PRESETS) == set(EXPECTED_SERIES)


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_preset_resolves_in_a_spec(name: str) -> None:
    spec, errors = read_health_policy_spec({"rules": [{"name": "r", "preset": name}]})
    assert errors == []
    assert spec is not None
    (rule,) = spec.rules
    preset = PRESETS[name]
    assert (rule.expr, rule.severity, rule.target, rule.actions) == (
        preset.expr,
        preset.severity,
        preset.target,
        preset.actions,
    )


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_preset_query_uses_the_right_exporter_series(name: str) -> None:
    expr = PRESETS[name].expr
    used = series_of(expr)
    assert used <= EXPORTER_SERIES
    assert EXPECTED_SERIES[name] <= used
    assert expr.count("(") == expr.count(")")


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_preset_ladder_fits_its_target_and_starts_with_a_notification(name: str) -> None:
    preset = PRESETS[name]
    assert preset.actions
    assert isinstance(preset.actions[0].action, Notify)
    assert preset.actions[0].after == timedelta(0)
    afters = [s.after for s in preset.actions]
    assert afters == sorted(afters)
    for step in preset.actions:
        assert mapping_problem(step.action, preset.target) == ""
        if step.verify is not None:
            assert mapping_problem(step.verify, preset.target) == ""


def test_osd_down_ladder() -> None:
    preset = PRESETS["OsdDown"]
    assert preset.target.kind is TargetKind.OSD
    assert preset.target.label == "ceph_daemon"
    assert preset.target.node_label == "hostname"
    kinds = [(s.after, type(s.action)) for s in preset.actions]
    assert kinds == [
        (timedelta(0), Notify),
        (timedelta(minutes=2), RestartOsd),
        (timedelta(minutes=15), MarkOut),
        (timedelta(minutes=20), Notify),
    ]
    restart = preset.actions[1]
    assert restart.verify is not None
    assert restart.verify.within == timedelta(minutes=3)
    page = preset.actions[3].action
    assert isinstance(page, Notify)
    assert page.route is Severity.CRITICAL


def test_osd_down_sees_down_and_out_osds_the_exporter_dropped() -> None:
    # Reported down: ceph_osd_up == 0, joined with the metadata for the host.
    assert "(ceph_osd_up == 0) * on (ceph_daemon) group_left (hostname)" in OSD_DOWN
    # Dropped from the exporter (down and out): known in the last hour, not reported now ...
    assert "max_over_time(ceph_osd_metadata[1h])" in OSD_DOWN
    assert "unless on (ceph_daemon) ceph_osd_metadata" in OSD_DOWN
    # ... but only while the exporter reports some OSD (a dead exporter is not 100% OSDs down).
    assert "and on () (count(ceph_osd_metadata) > 0)" in OSD_DOWN
    # Every part keeps the labels the target mapping needs.
    assert OSD_DOWN.count("max by (ceph_daemon, hostname)") >= 2


def test_cluster_wide_presets_have_one_target() -> None:
    for name in ("ManyOsdsDown", "HealthError", "MonQuorumAtRisk", "CephUnreachable"):
        assert PRESETS[name].target.kind is TargetKind.CLUSTER
    assert "absent(ceph_health_status)" in PRESETS["CephUnreachable"].expr
    assert ">= 0.1" in PRESETS["ManyOsdsDown"].expr
    assert PRESETS["HealthError"].expr.endswith("== 2")


def test_pool_presets_name_the_pool() -> None:
    for name in ("PgsInactive", "PgsUnclean", "PoolNearFull"):
        preset = PRESETS[name]
        assert preset.target.kind is TargetKind.POOL
        assert preset.target.label == "name"
        assert "on (pool_id) group_left (name)" in preset.expr
    assert "> 0.85" in PRESETS["PoolNearFull"].expr  # ceph_pool_percent_used is a fraction
