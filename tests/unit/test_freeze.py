"""MaintenanceFreeze: the spec reader, what a namespace sees at an instant (fail closed), and a
Maintenance that starts no node while a freeze is active (the shipped executor on the fake)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from maintenance_worlds import T0, Cluster, rs_pod

from caretaker.domain.common.freeze import freeze_of, freeze_view, next_start, read_freeze_spec
from caretaker.domain.maintenance.status import NodePhase


def freeze(name: str = "peak", **spec: Any) -> dict[str, Any]:
    body = {
        "reason": "year-end peak",
        "windows": [{"start": "2026-05-04T10:00:00Z", "duration": "1h"}],
    }
    return {"metadata": {"name": name}, "spec": {**body, **spec}}


def test_the_example_reads_with_both_kinds_of_window() -> None:
    spec, errors = read_freeze_spec(
        {
            "reason": "peak",
            "namespaces": ["storage-ops"],
            "windows": [
                {"start": "2026-12-20T00:00:00+01:00", "duration": "14d"},
                {"schedule": "0 18 * * 5", "duration": "60h", "timeZone": "Europe/Berlin"},
            ],
            "escalateFaster": {"healthPolicies": ["storage-ops/osd-health"], "factor": 4},
        }
    )
    assert errors == []
    assert spec is not None
    assert len(spec.windows) == 2
    assert spec.escalate is not None
    assert spec.escalate.names("storage-ops", "osd-health")


def test_every_error_names_its_field() -> None:
    _, errors = read_freeze_spec(
        {
            "windows": [
                {"schedule": "0 18 * *", "duration": "1h"},
                {"start": "2026-01-01T00:00:00"},
            ],
            "namespaces": [],
            "escalateFaster": {"healthPolicies": ["no-namespace"], "factor": 99},
            "extra": 1,
        }
    )
    paths = {e.path for e in errors}
    assert {
        "spec.reason",
        "spec.namespaces",
        "spec.windows[0].schedule",
        "spec.windows[1].start",
        "spec.windows[1].duration",
        "spec.escalateFaster.healthPolicies[0]",
        "spec.escalateFaster.factor",
        "spec.extra",
    } <= paths


def test_active_only_inside_a_window_and_in_its_namespaces() -> None:
    freezes = [freeze_of(freeze(namespaces=["ops"]))]
    inside = freeze_view(freezes, "ops", T0 + timedelta(minutes=30))
    assert inside.frozen
    assert inside.names == "peak"
    assert inside.active[0].until == T0 + timedelta(hours=1)
    assert "MaintenanceFreeze peak until 2026-05-04T11:00:00Z: year-end peak" in inside.message
    assert not freeze_view(freezes, "other", T0 + timedelta(minutes=30)).frozen
    assert not freeze_view(freezes, "ops", T0 - timedelta(seconds=1)).frozen
    assert not freeze_view(freezes, "ops", T0 + timedelta(hours=1)).frozen
    assert next_start(freezes, T0 - timedelta(minutes=5)) == T0


def test_a_recurring_freeze_follows_its_time_zone() -> None:
    weekend = {"schedule": "0 18 * * 5", "duration": "60h", "timeZone": "Europe/Berlin"}
    freezes = [freeze_of(freeze(windows=[weekend]))]
    friday_evening = datetime(2026, 5, 8, 16, 30, tzinfo=UTC)  # 18:30 in Berlin (CEST)
    assert freeze_view(freezes, "ops", friday_evening).frozen
    assert not freeze_view(freezes, "ops", friday_evening - timedelta(hours=1)).frozen


def test_fail_closed_an_invalid_freeze_or_an_unreadable_list_freezes_everything() -> None:
    broken = freeze_of(freeze(namespaces=["ops"], windows=[{"start": "soon", "duration": "1h"}]))
    view = freeze_view([broken], "anywhere", T0 - timedelta(days=300))
    assert view.frozen
    assert "invalid spec, counted as active: spec.windows[0].start" in view.message
    unreadable = freeze_view([], "ops", T0, unreadable="HTTP 403 Forbidden: no list")
    assert unreadable.frozen
    assert "cannot be read (HTTP 403" in unreadable.message


def test_escalation_only_for_the_named_policies_while_active() -> None:
    escalate = {"healthPolicies": ["ops/osd-health", "storage/*"], "factor": 4}
    freezes = [freeze_of(freeze(escalateFaster=escalate))]
    at = T0 + timedelta(minutes=1)
    assert freeze_view(freezes, "ops", at, policy="osd-health").factor == 4
    assert freeze_view(freezes, "ops", at, policy="other").factor == 1
    assert freeze_view(freezes, "storage", at, policy="any").factor == 4
    assert freeze_view(freezes, "ops", T0 + timedelta(hours=2), policy="osd-health").factor == 1


def conditions(cluster: Cluster) -> dict[str, str]:
    return {c["type"]: c["status"] for c in cluster.status_doc.get("conditions") or []}


def test_a_frozen_maintenance_starts_no_node_and_says_why_then_starts_when_it_ends() -> None:
    cluster = Cluster({"nodes": ["a"]})
    cluster.nodes["a"].pods = [rs_pod("web-1")]
    cluster.freezes = [freeze()]
    for _ in range(20):
        cluster.step()
    assert cluster.actions == []
    assert cluster.phase() == NodePhase.PENDING
    doc = cluster.status_doc
    assert (doc["phase"], doc["frozenBy"]) == ("Pending", "peak")
    assert doc["message"].startswith("frozen: no node starts: MaintenanceFreeze peak until")
    assert "year-end peak" in doc["message"]
    assert conditions(cluster)["Frozen"] == "True"
    ready = next(c for c in doc["conditions"] if c["type"] == "Ready")
    assert ready["reason"] == "Frozen"
    cluster.now = T0 + timedelta(hours=1)
    cluster.settle()
    assert cluster.phase() == NodePhase.IN_MAINTENANCE
    assert cluster.status_doc.get("frozenBy") is None
    assert conditions(cluster)["Frozen"] == "False"


def test_a_node_in_preflight_goes_back_to_pending_when_a_freeze_starts() -> None:
    cluster = Cluster({"nodes": ["a"]})
    cluster.step()
    assert cluster.phase() == NodePhase.PREFLIGHT
    cluster.freezes = [freeze(windows=[{"start": "2026-05-04T09:00:00Z", "duration": "4h"}])]
    for _ in range(5):
        cluster.step()
    assert cluster.phase() == NodePhase.PENDING
    assert not cluster.leases.get("a")
    assert not cluster.claims
    assert cluster.nodes["a"].cordoned_by is None


def test_a_node_already_draining_carries_on_under_a_freeze() -> None:
    cluster = Cluster({"nodes": ["a"]})
    cluster.run_until(lambda c: c.phase() == NodePhase.DRAINING)
    cluster.freezes = [freeze(windows=[{"start": "2026-05-04T09:00:00Z", "duration": "9h"}])]
    cluster.settle()
    assert cluster.phase() == NodePhase.IN_MAINTENANCE
    cluster.spec_raw["release"] = ["a"]
    cluster.settle()
    assert cluster.phase() == NodePhase.COMPLETED
