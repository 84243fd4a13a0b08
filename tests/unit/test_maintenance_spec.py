"""Reading the Maintenance spec: typed values with defaults, and field-level errors."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from caretaker.domain.common.windows import AlwaysOpen, OneOffWindow, RecurringWindow
from caretaker.domain.maintenance.spec import (
    DEFAULT_HEALTHY_PG_STATES,
    CephSpec,
    DrainSpec,
    GatesSpec,
    HoldMode,
    HoldSpec,
    NooutScope,
    PromqlGate,
    read_maintenance_spec,
)

NODES = {"nodes": ["a"]}
SCHED = {"schedule": "0 2 * * 6", "duration": "4h"}
START = "2026-12-05T22:00:00Z"


def with_(key: str, value: object) -> dict[str, Any]:
    return {**NODES, key: value}


def W(**window: object) -> dict[str, Any]:
    return with_("window", window)


def R(**window: object) -> dict[str, Any]:  # a recurring window
    return with_("window", {**SCHED, **window})


# (case id, raw spec, exact path of the expected error, regex the message must match)
# fmt: off
BAD_SPECS: list[tuple[str, dict[str, Any], str, str]] = [
    ("empty", {}, "spec", r"spec\.nodes or spec\.nodeSelector"),
    ("unknown-top", with_("node", "a"), "spec.node", "unknown field"),
    ("nodes-string", {"nodes": "a"}, "spec.nodes", "list of non-empty strings"),
    ("nodes-empty-name", {"nodes": [""]}, "spec.nodes", "list of non-empty strings"),
    ("node-uppercase", {"nodes": ["a", "Node-B"]}, "spec.nodes[1]", "not a valid node name"),
    ("node-twice", {"nodes": ["a", "b", "a"]}, "spec.nodes[2]", "listed twice"),
    ("both-targets", with_("nodeSelector", {"x": "y"}), "spec.nodeSelector", "not both"),
    ("empty-selector", {"nodeSelector": {}}, "spec.nodeSelector", "every node; list labels"),
    ("selector-int", {"nodeSelector": {"x": 1}}, "spec.nodeSelector.x", "must be a string"),
    ("window-list", with_("window", ["x"]), "spec.window", "must be an object"),
    ("window-unknown", R(tz="UTC"), "spec.window.tz", "unknown"),
    ("window-no-kind", W(duration="2h"), "spec.window", "start .* or schedule"),
    ("window-both", R(start=START), "spec.window", "not both"),
    ("no-duration", W(schedule="0 2 * * 6"), "spec.window.duration", "required"),
    ("null-duration", W(start=START, duration=None), "spec.window.duration", "required"),
    ("bad-duration", R(duration="4 hours"), "spec.window.duration", "e.g. 90s"),
    ("zero-duration", R(duration="0s"), "spec.window.duration", "longer than zero"),
    ("start-no-offset", W(start="2026-12-05T22:00:00", duration="4h"), "spec.window.start",
     "add Z"),
    ("start-garbage", W(start="next saturday", duration="4h"), "spec.window.start", "RFC 3339"),
    ("start-int", W(start=5, duration="4h"), "spec.window.start", "non-empty string"),
    ("one-off-zone", W(start=START, duration="4h", timeZone="UTC"), "spec.window.timeZone",
     "offset in start"),
    ("bad-zone", R(timeZone="Mars/Olympus"), "spec.window.timeZone", "IANA"),
    ("empty-zone", R(timeZone=""), "spec.window.timeZone", "IANA"),
    ("bad-cron", R(schedule="61 2 * * *"), "spec.window.schedule", "5 fields"),
    ("cron-tz", R(schedule="CRON_TZ=UTC 0 2 * * *"), "spec.window.schedule", "timeZone"),
    # February 30th never comes: window_state() would raise on every reconcile.
    ("cron-never", R(schedule="0 2 30 2 *"), "spec.window.schedule", "never|cron"),
    # Six fields (a seconds field) are not the documented five; croniter would read them
    # as "minute 0, hour 0, day 2" plus seconds, not as 02:00 daily.
    ("cron-6-fields", R(schedule="0 0 2 * * *"), "spec.window.schedule", "5 fields"),
    ("window-too-short", W(start=START, duration="20m"), "spec.window.duration",
     "lengthen the window or lower the estimate"),
    ("strategy-list", with_("strategy", [1]), "spec.strategy", "must be an object"),
    ("strategy-unknown", with_("strategy", {"maxSurge": 1}), "spec.strategy.maxSurge", "unknown"),
    ("max-unavailable-0", with_("strategy", {"maxUnavailable": 0}),
     "spec.strategy.maxUnavailable", "at least 1"),
    ("max-unavailable-str", with_("strategy", {"maxUnavailable": "2"}),
     "spec.strategy.maxUnavailable", "integer"),
    ("max-unavailable-bool", with_("strategy", {"maxUnavailable": True}),
     "spec.strategy.maxUnavailable", "integer"),
    ("delay-negative", with_("strategy", {"delayBetweenNodes": "-5m"}),
     "spec.strategy.delayBetweenNodes", "e.g. 90s"),
    ("estimate-zero", with_("strategy", {"nodeDurationEstimate": "0s"}),
     "spec.strategy.nodeDurationEstimate", "longer than zero"),
    ("drain-unknown", with_("drain", {"ignoreDaemonsets": True}), "spec.drain.ignoreDaemonsets",
     "unknown"),
    ("drain-timeout", with_("drain", {"timeout": "15"}), "spec.drain.timeout",
     "use a number and a unit"),
    ("drain-grace", with_("drain", {"gracePeriodSeconds": -1}), "spec.drain.gracePeriodSeconds",
     "at least 0"),
    ("drain-force-str", with_("drain", {"force": "true"}), "spec.drain.force", "true or false"),
    ("drain-selector", with_("drain", {"podSelector": ["app"]}), "spec.drain.podSelector",
     "map of label names"),
    ("noout-scope", with_("ceph", {"noout": "cluster"}), "spec.ceph.noout", "osd, host or none"),
    ("pg-regex", with_("ceph", {"healthyPGStates": "active+("}), "spec.ceph.healthyPGStates",
     "regular expression"),
    ("noout-timeout", with_("ceph", {"nooutTimeout": "1x"}), "spec.ceph.nooutTimeout", "e.g. 90s"),
    ("restore-timeout", with_("ceph", {"restoreTimeout": "0m"}), "spec.ceph.restoreTimeout",
     "longer than zero"),
    ("gates-warnings", with_("gates", {"allowedWarnings": "OSD_FLAGS"}),
     "spec.gates.allowedWarnings", "list"),
    ("gates-health", with_("gates", {"cephHealth": "no"}), "spec.gates.cephHealth",
     "true or false"),
    ("promql-map", with_("gates", {"promql": {"name": "x"}}), "spec.gates.promql", "list of"),
    ("promql-item", with_("gates", {"promql": ["up"]}), "spec.gates.promql[0]", "name and expr"),
    ("promql-no-expr", with_("gates", {"promql": [{"name": "x"}]}), "spec.gates.promql[0]",
     "both name and expr"),
    ("promql-unknown", with_("gates", {"promql": [{"name": "x", "expr": "up", "for": "5m"}]}),
     "spec.gates.promql[0].for", "unknown"),
    ("hold-mode", with_("hold", {"mode": "forever"}), "spec.hold.mode",
     "manual, duration or auto"),
    ("hold-duration-missing", with_("hold", {"mode": "duration"}), "spec.hold.duration",
     "required"),
    ("hold-duration-bad", with_("hold", {"mode": "duration", "duration": "soon"}),
     "spec.hold.duration", "e.g. 90s"),
    ("release-string", with_("release", "*"), "spec.release", "list"),
    ("suspend-str", with_("suspend", "yes"), "spec.suspend", "true or false"),
    ("abort-int", with_("abort", 1), "spec.abort", "true or false"),
    # Mistakes people really make, each once a crash or a silent "matches no node":
    ("selector-key-space", {"nodeSelector": {"rack name": "r1"}}, 'spec.nodeSelector["rack name"]',
     "not a valid label key"),
    ("selector-key-two-slashes", {"nodeSelector": {"topology/kubernetes.io/zone": "a"}},
     'spec.nodeSelector["topology/kubernetes.io/zone"]', "prefix .* must be a DNS name"),
    ("selector-key-empty-prefix", {"nodeSelector": {"/rack": "r1"}}, 'spec.nodeSelector["/rack"]',
     "prefix before '/' is empty"),
    ("selector-key-too-long", {"nodeSelector": {"r" * 64: "1"}}, f"spec.nodeSelector.{'r' * 64}",
     "at most 63 letters"),
    ("selector-value-colon", {"nodeSelector": {"rack": "r7:top"}}, "spec.nodeSelector.rack",
     "not a valid label value"),
    ("pod-selector-value-space", with_("drain", {"podSelector": {"app": "my app"}}),
     "spec.drain.podSelector.app", "not a valid label value"),
    ("duration-huge", with_("hold", {"mode": "duration", "duration": "99999999999d"}),
     "spec.hold.duration", "too long: at most 36500d"),
    ("duration-infinite", with_("strategy", {"delayBetweenNodes": "9" * 400 + "s"}),
     "spec.strategy.delayBetweenNodes", r"\(401 characters\) is too long"),
    ("window-past-9999", W(start="9999-12-31T23:00:00Z", duration="2h"), "spec.window.start",
     "ends after the year 9999"),
    ("start-beyond-utc", W(start="9999-12-31T23:00:00-05:00", duration="2h"), "spec.window.start",
     "outside the years 1 to 9999"),
    ("zone-too-long", R(timeZone="Europe/" + "x" * 300), "spec.window.timeZone",
     "unknown time zone"),
]
# fmt: on


@pytest.mark.parametrize(
    ("raw", "path", "hint"), [case[1:] for case in BAD_SPECS], ids=[case[0] for case in BAD_SPECS]
)
def test_bad_spec_is_rejected_at_the_field(raw: dict[str, Any], path: str, hint: str) -> None:
    spec, errors = read_maintenance_spec(raw)
    assert spec is None
    at_path = [e for e in errors if e.path == path]
    assert at_path, f"no error at {path}; got {[str(e) for e in errors]}"
    assert any(re.search(hint, e.message) for e in at_path), [e.message for e in at_path]
    assert all(str(e) == f"{e.path}: {e.message}" for e in errors)


def test_every_error_is_collected_not_just_the_first() -> None:
    raw = {
        "nodes": ["a"],
        "suspend": "yes",
        "drain": {"timeout": "x"},
        "hold": {"mode": "forever"},
        "ceph": {"noout": "all"},
    }
    _, errors = read_maintenance_spec(raw)
    paths = {e.path for e in errors}
    assert {"spec.suspend", "spec.drain.timeout", "spec.hold.mode", "spec.ceph.noout"} <= paths


def test_minimal_spec_gets_every_default() -> None:
    spec, errors = read_maintenance_spec({"nodes": ["a"]})
    assert errors == []
    assert spec is not None
    assert spec.nodes == ("a",)
    assert spec.node_selector is None
    assert spec.window == AlwaysOpen()
    assert spec.max_unavailable == 1
    assert spec.delay_between_nodes == timedelta(0)
    assert spec.node_duration_estimate == timedelta(minutes=30)
    assert spec.drain == DrainSpec(
        enabled=True,
        timeout=timedelta(minutes=15),
        grace_period_seconds=None,
        ignore_daemonsets=True,
        delete_emptydir_data=False,
        force=False,
        pod_selector=None,
    )
    assert spec.ceph == CephSpec(
        noout=NooutScope.OSD,
        noout_timeout=timedelta(minutes=30),
        healthy_pg_states=DEFAULT_HEALTHY_PG_STATES,
        restore_timeout=timedelta(minutes=30),
    )
    assert spec.gates == GatesSpec(True, (), True, ())
    assert spec.hold == HoldSpec(HoldMode.MANUAL, None)
    assert (spec.release, spec.suspend, spec.abort) == ((), False, False)


def test_full_spec_reads_every_field() -> None:
    raw = {
        "nodes": ["node-a", "node-b.example"],
        "window": {"schedule": "0 2 * * 6", "duration": "4h", "timeZone": "Europe/Berlin"},
        "strategy": {
            "maxUnavailable": 2,
            "delayBetweenNodes": "0s",
            "nodeDurationEstimate": "1h30m",
        },
        "drain": {
            "enabled": False,
            "timeout": "20m",
            "gracePeriodSeconds": 0,
            "ignoreDaemonSets": False,
            "deleteEmptyDirData": True,
            "force": True,
            "podSelector": {"app": "web"},
        },
        "ceph": {
            "noout": "host",
            "nooutTimeout": "2h",
            "healthyPGStates": r"^active\+clean$",
            "restoreTimeout": "45m",
        },
        "gates": {
            "cephHealth": False,
            "allowedWarnings": ["OSD_FLAGS", "MON_CLOCK_SKEW"],
            "okToStop": False,
            "promql": [{"name": "no-alerts", "expr": "ALERTS == 0", "description": "quiet"}],
        },
        "hold": {"mode": "duration", "duration": "10m"},
        "release": ["node-a"],
        "suspend": True,
        "abort": True,
    }
    spec, errors = read_maintenance_spec(raw)
    assert errors == []
    assert spec is not None
    assert spec.nodes == ("node-a", "node-b.example")
    assert spec.window == RecurringWindow(
        "0 2 * * 6", timedelta(hours=4), ZoneInfo("Europe/Berlin")
    )
    assert spec.max_unavailable == 2
    assert spec.delay_between_nodes == timedelta(0)
    assert spec.node_duration_estimate == timedelta(hours=1, minutes=30)
    assert spec.drain == DrainSpec(
        False, timedelta(minutes=20), 0, False, True, True, {"app": "web"}
    )
    assert spec.ceph == CephSpec(
        NooutScope.HOST, timedelta(hours=2), r"^active\+clean$", timedelta(minutes=45)
    )
    assert spec.gates == GatesSpec(
        False, ("OSD_FLAGS", "MON_CLOCK_SKEW"), False, (PromqlGate("no-alerts", "ALERTS == 0"),)
    )
    assert spec.hold == HoldSpec(HoldMode.DURATION, timedelta(minutes=10))
    assert (spec.release, spec.suspend, spec.abort) == (("node-a",), True, True)


def test_node_selector_and_recurring_window_default_to_utc() -> None:
    spec, errors = read_maintenance_spec(
        {"nodeSelector": {"role": "storage"}, "window": {"schedule": "@daily", "duration": "2h"}}
    )
    assert errors == []
    assert spec is not None
    assert spec.nodes == ()
    assert spec.node_selector == {"role": "storage"}
    assert spec.window == RecurringWindow("@daily", timedelta(hours=2), ZoneInfo("UTC"))


@pytest.mark.parametrize(
    "start", ["2026-12-05T22:00:00Z", "2026-12-05T23:00:00+01:00", "2026-12-05T17:00:00-05:00"]
)
def test_one_off_start_is_read_as_utc_instant(start: str) -> None:
    spec, errors = read_maintenance_spec({**NODES, "window": {"start": start, "duration": "6h"}})
    assert errors == []
    assert spec is not None
    expected = datetime(2026, 12, 5, 22, 0, tzinfo=UTC)
    assert spec.window == OneOffWindow(expected, timedelta(hours=6))
    assert isinstance(spec.window, OneOffWindow)
    assert spec.window.start.utcoffset() == timedelta(0)


def test_window_equal_to_estimate_is_accepted() -> None:
    raw = {**NODES, "window": {"start": START, "duration": "30m"}}
    spec, errors = read_maintenance_spec(raw)
    assert errors == []
    assert spec is not None


def test_empty_window_object_means_always_open() -> None:
    spec, errors = read_maintenance_spec({**NODES, "window": {}})
    assert errors == []
    assert spec is not None
    assert spec.window == AlwaysOpen()
