"""The preset queries evaluated by Prometheus's own engine (``promtool test rules``) on
synthetic exporter series: down-and-out OSDs the exporter dropped, a dead exporter, hosts,
pools, monitor quorum. Needs promtool (Debian's prometheus package, ``make testbed-install``).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from caretaker.domain.health.presets import PRESETS
from caretaker.domain.health.world import FRESHNESS_QUERY

pytestmark = pytest.mark.prometheus

OSDS_META = {  # osd -> host
    "osd.0": "n0",
    "osd.1": "n0",
    "osd.2": "n1",
}


def series(name: str, labels: dict[str, str], values: str) -> dict[str, str]:
    shown = ",".join(f'{k}="{v}"' for k, v in labels.items())
    return {"series": f"{name}{{{shown}}}", "values": values}


def osd_series(up: dict[str, str], meta: dict[str, str]) -> list[dict[str, str]]:
    """ceph_osd_up / ceph_osd_metadata per OSD, as the mgr exporter on instance mgr-a has them."""
    out = []
    for osd, host in OSDS_META.items():
        out.append(series("ceph_osd_up", {"ceph_daemon": osd, "instance": "mgr-a"}, up[osd]))
        out.append(
            series(
                "ceph_osd_metadata",
                {"ceph_daemon": osd, "hostname": host, "instance": "mgr-a", "device_class": "hdd"},
                meta[osd],
            )
        )
    return out


def expect(expr: str, minute: int, samples: list[tuple[dict[str, str], float]]) -> dict[str, Any]:
    return {
        "expr": expr,
        "eval_time": f"{minute}m",
        "exp_samples": [
            {"labels": "{" + ", ".join(f'{k}="{v}"' for k, v in lbl.items()) + "}", "value": v}
            for lbl, v in samples
        ],
    }


def osd(name: str) -> dict[str, str]:
    return {"ceph_daemon": name, "hostname": OSDS_META[name]}


# osd.0 down (still listed) from minute 6; osd.1 down from minute 6 and marked out at minute 11:
# the exporter drops all its series (stale); osd.2 stays up.
DOWN_AND_OUT = osd_series(
    up={"osd.0": "1x5 0x120", "osd.1": "1x5 0x4 stale", "osd.2": "1x125"},
    meta={"osd.0": "1x125", "osd.1": "1x10 stale", "osd.2": "1x125"},
)
OSD_DOWN = PRESETS["OsdDown"].expr
CASES: list[dict[str, Any]] = [
    {
        "interval": "1m",
        "input_series": DOWN_AND_OUT,
        "promql_expr_test": [
            expect(OSD_DOWN, 3, []),
            expect(OSD_DOWN, 8, [(osd("osd.0"), 0), (osd("osd.1"), 0)]),
            # osd.1 is down and out: the exporter lists it no more, the rule still sees it
            expect(OSD_DOWN, 30, [(osd("osd.0"), 0), (osd("osd.1"), 0)]),
            # an hour after it was last listed, it is forgotten
            expect(OSD_DOWN, 75, [(osd("osd.0"), 0)]),
            expect(PRESETS["OsdHostDown"].expr, 30, [({"hostname": "n0"}, 2)]),
            expect(PRESETS["ManyOsdsDown"].expr, 30, [({}, 2 / 3)]),
            expect(PRESETS["ManyOsdsDown"].expr, 3, []),
        ],
    },
    {
        # the exporter dies at minute 10: every series goes stale; nothing is "down"
        "interval": "1m",
        "input_series": osd_series(
            up={"osd.0": "1x10 stale", "osd.1": "1x10 stale", "osd.2": "1x10 stale"},
            meta={"osd.0": "1x10 stale", "osd.1": "1x10 stale", "osd.2": "1x10 stale"},
        ),
        "promql_expr_test": [
            expect(OSD_DOWN, 15, []),
            expect(PRESETS["ManyOsdsDown"].expr, 15, []),
            expect(PRESETS["OsdHostDown"].expr, 15, []),
            expect(PRESETS["CephUnreachable"].expr, 15, [({}, 1)]),
            expect(FRESHNESS_QUERY, 15, []),
        ],
    },
    {
        "interval": "1m",
        "input_series": [
            series("ceph_health_status", {"instance": "mgr-a"}, "0x5 2x10"),
            series("ceph_pg_total", {"pool_id": "1", "instance": "mgr-a"}, "32x15"),
            series("ceph_pg_active", {"pool_id": "1", "instance": "mgr-a"}, "32x5 30x10"),
            series("ceph_pg_clean", {"pool_id": "1", "instance": "mgr-a"}, "32x5 28x10"),
            series("ceph_pool_percent_used", {"pool_id": "1", "instance": "mgr-a"}, "0.5x5 0.9x10"),
            series(
                "ceph_pool_metadata",
                {"pool_id": "1", "name": "rbd", "instance": "mgr-a", "type": "replicated"},
                "1x15",
            ),
            series("ceph_osd_stat_bytes", {"ceph_daemon": "osd.2", "instance": "mgr-a"}, "100x15"),
            series(
                "ceph_osd_stat_bytes_used",
                {"ceph_daemon": "osd.2", "instance": "mgr-a"},
                "50x5 90x10",
            ),
            series(
                "ceph_osd_metadata",
                {"ceph_daemon": "osd.2", "hostname": "n1", "instance": "mgr-a"},
                "1x15",
            ),
        ],
        "promql_expr_test": [
            expect(PRESETS["HealthError"].expr, 3, []),
            expect(PRESETS["HealthError"].expr, 10, [({}, 2)]),
            expect(FRESHNESS_QUERY, 10, [({}, 0)]),
            expect(PRESETS["CephUnreachable"].expr, 10, []),
            expect(PRESETS["PgsInactive"].expr, 3, []),
            expect(PRESETS["PgsInactive"].expr, 10, [({"pool_id": "1", "name": "rbd"}, 2)]),
            expect(PRESETS["PgsUnclean"].expr, 10, [({"pool_id": "1", "name": "rbd"}, 4)]),
            expect(PRESETS["PoolNearFull"].expr, 3, []),
            expect(PRESETS["PoolNearFull"].expr, 10, [({"pool_id": "1", "name": "rbd"}, 0.9)]),
            expect(PRESETS["OsdNearFull"].expr, 3, []),
            expect(PRESETS["OsdNearFull"].expr, 10, [(osd("osd.2"), 0.9)]),
        ],
    },
]


def mons(total: int, in_quorum_from: list[str]) -> list[dict[str, str]]:
    out = []
    for index in range(total):
        name = f"mon.{chr(97 + index)}"
        out.append(series("ceph_mon_metadata", {"ceph_daemon": name}, "1x10"))
        out.append(series("ceph_mon_quorum_status", {"ceph_daemon": name}, in_quorum_from[index]))
    return out


QUORUM = PRESETS["MonQuorumAtRisk"].expr
CASES += [
    {  # 3 monitors: one leaves quorum at minute 5 (2 of 3 left: one more loss breaks quorum)
        "interval": "1m",
        "input_series": mons(3, ["1x10", "1x10", "1x4 0x5"]),
        "promql_expr_test": [expect(QUORUM, 3, []), expect(QUORUM, 7, [({}, 2)])],
    },
    {  # 5 monitors: one out is fine (4 of 5), two out is at risk (3 of 5)
        "interval": "1m",
        "input_series": mons(5, ["1x10", "1x10", "1x10", "1x2 0x7", "1x5 0x4"]),
        "promql_expr_test": [expect(QUORUM, 4, []), expect(QUORUM, 8, [({}, 3)])],
    },
    {  # a single monitor cluster is never "at risk" by this rule (nothing left to lose)
        "interval": "1m",
        "input_series": mons(1, ["1x10"]),
        "promql_expr_test": [expect(QUORUM, 5, [])],
    },
]


def test_preset_queries_on_synthetic_exporter_series(tmp_path: Path) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.fail("promtool is missing: run make testbed-install (Debian package prometheus)")
    path = tmp_path / "presets_test.yml"
    path.write_text(yaml.safe_dump({"rule_files": [], "evaluation_interval": "1m", "tests": CASES}))
    run = subprocess.run(
        [promtool, "test", "rules", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
