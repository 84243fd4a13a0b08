"""spec.silence: Alertmanager silences held as a lease while a node is away, run by the shipped
executor against the fake cluster and its fake Alertmanager (``fake_alertmanager``)."""

from __future__ import annotations

import copy
from datetime import timedelta
from typing import Any

import pytest
from maintenance_worlds import IDENTITY, Cluster

from caretaker.domain.common.reasons import WARNING
from caretaker.domain.maintenance.silence_record import SilenceState
from caretaker.domain.maintenance.silence_spec import AlertmanagerRef, LabelMatch, render
from caretaker.domain.maintenance.spec import read_maintenance_spec
from caretaker.domain.maintenance.status import NodePhase

URL = "http://alertmanager.monitoring:9093"
SILENCE: dict[str, Any] = {"alertmanager": {"url": URL}}


def silenced(**extra: Any) -> Cluster:
    spec = {"nodes": ["a"], "silence": copy.deepcopy({**SILENCE, **extra})}
    return Cluster(spec, {"a": (1, 2)})


def condition(cluster: Cluster) -> dict[str, Any]:
    found = [c for c in cluster.status_doc["conditions"] if c["type"] == "Silenced"]
    assert len(found) == 1
    return dict(found[0])


def matcher_texts(cluster: Cluster) -> list[str]:
    """The active silences' matchers, as the status writes them."""
    return sorted(
        ",".join(str(LabelMatch(m.name, m.value, m.is_regex, m.is_equal)) for m in s.matchers)
        for s in cluster.alertmanager.active()
    )


def test_defaults_and_rendering() -> None:
    spec, errors = read_maintenance_spec({"nodes": ["a"], "silence": SILENCE})
    assert errors == []
    assert spec is not None
    assert spec.silence is not None
    assert spec.silence.tail == timedelta(minutes=10)
    assert spec.silence.max_duration == timedelta(hours=24)
    osds = LabelMatch("ceph_daemon", "{osds}", is_regex=True)
    assert str(render(osds, "a", (2, 1))) == 'ceph_daemon=~"osd\\\\.(1|2)"'
    assert render(LabelMatch("node", "{node}"), "n.x", ()).value == "n.x"
    assert render(LabelMatch("instance", "{node}:.*", is_regex=True), "n.x", ()).value == r"n\.x:.*"


@pytest.mark.parametrize(
    ("silence", "path", "words"),
    [
        ({}, "spec.silence.alertmanager.url", "required"),
        ({"alertmanager": {"url": "alertmanager:9093"}}, "spec.silence.alertmanager.url", "http"),
        ({**SILENCE, "tail": "2h", "maxDuration": "1h"}, "spec.silence.tail", "longer than"),
        ({**SILENCE, "tail": "0s"}, "spec.silence.tail", "longer than zero"),
        ({**SILENCE, "matchers": []}, "spec.silence.matchers", "list of 1 to 10"),
        ({**SILENCE, "matchers": [["node=a"]]}, "spec.silence.matchers[0][0]", "not a matcher"),
        ({**SILENCE, "matchers": [['node="{host}"']]}, "spec.silence.matchers[0][0]", "{host}"),
        ({**SILENCE, "matchers": [['d="{osds}"']]}, "spec.silence.matchers[0][0]", "=~"),
        ({**SILENCE, "matchers": [['d=~"("']]}, "spec.silence.matchers[0][0]", "regular"),
        ({**SILENCE, "matchers": [['d!="x"']]}, "spec.silence.matchers[0]", "at least one"),
        ({**SILENCE, "extra": 1}, "spec.silence.extra", "unknown field"),
        (
            {"alertmanager": {"url": URL, "bearerTokenSecretRef": {"name": "t"}}},
            "spec.silence.alertmanager.bearerTokenSecretRef.key",
            "required",
        ),
        (
            {"alertmanager": {"url": URL, "bearerTokenSecretRef": {"name": "T", "key": "k"}}},
            "spec.silence.alertmanager.bearerTokenSecretRef.name",
            "not a valid Secret name",
        ),
    ],
)
def test_bad_silence_specs_name_the_field(silence: dict[str, Any], path: str, words: str) -> None:
    _spec, errors = read_maintenance_spec({"nodes": ["a"], "silence": silence})
    assert [(e.path, words in e.message) for e in errors] == [(path, True)], errors


def test_held_while_away_extended_and_expired_on_restore() -> None:
    cluster = silenced(afterRestore="0s")  # at once, as a rolled-back node's
    cluster.run_until(lambda c: c.phase() == NodePhase.IN_MAINTENANCE)
    assert matcher_texts(cluster) == ['ceph_daemon=~"osd\\\\.(1|2)"', 'node="a"']
    record = cluster.record().silence
    assert record is not None
    assert record.state == SilenceState.ACTIVE
    assert len(record.ids) == 2
    assert condition(cluster)["status"] == "True"
    first_end = record.ends_at
    assert first_end is not None
    assert first_end <= cluster.now + timedelta(minutes=10)
    cluster.tick = timedelta(minutes=1)
    for _ in range(30):  # half an hour of holding: extended, never re-created
        cluster.step()
    record = cluster.record().silence
    assert record is not None
    assert record.ends_at is not None
    assert record.ends_at > first_end
    assert record.ends_at - cluster.now <= timedelta(minutes=10)
    assert cluster.alertmanager.creates == 2
    assert {s.id for s in cluster.alertmanager.active()} == set(record.ids)
    cluster.tick = timedelta(seconds=10)
    cluster.spec_raw["release"] = ["a"]
    cluster.run_until(Cluster.finished)
    assert cluster.alertmanager.active() == []
    assert cluster.record().silence.state == SilenceState.EXPIRED  # type: ignore[union-attr]
    assert cluster.reasons().count("Silenced") == 1
    assert cluster.reasons().count("SilenceExpired") == 1
    assert (condition(cluster)["status"], condition(cluster)["reason"]) == ("False", "NotHeld")
    assert cluster.leftovers() == []


def test_a_restored_node_keeps_its_silences_for_after_restore_then_they_end() -> None:
    """The alerts the maintenance raised (the OSD down) resolve late through the exporter and
    Prometheus: the silences stay afterRestore after the restore, then Alertmanager ends them."""
    cluster = silenced(afterRestore="2m")
    cluster.run_until(lambda c: c.phase() == NodePhase.IN_MAINTENANCE)
    cluster.tick = timedelta(seconds=10)
    cluster.spec_raw["release"] = ["a"]
    cluster.run_until(Cluster.finished)
    restored = cluster.record().finished_at
    assert restored is not None
    record = cluster.record().silence
    assert record is not None
    assert record.state == SilenceState.ACTIVE
    assert record.ends_at == restored + timedelta(minutes=2)  # shortened from the 10-min tail
    assert {s.ends_at for s in cluster.alertmanager.active()} == {record.ends_at}
    (ending,) = [n for n in cluster.notes if "spec.silence.afterRestore" in n.message]
    assert ending.message.startswith("Alertmanager silences of node a end at ")
    assert cluster.reasons().count("SilenceExpired") == 1
    while cluster.now < record.ends_at + timedelta(seconds=1):
        cluster.step()
    assert cluster.alertmanager.active() == []  # ended by Alertmanager, on time
    assert cluster.record().silence.state == SilenceState.EXPIRED  # type: ignore[union-attr]
    assert cluster.alertmanager.creates == 2  # shortened in place, never re-created
    assert (condition(cluster)["status"], condition(cluster)["reason"]) == ("False", "NotHeld")
    assert cluster.leftovers() == []


def test_after_restore_is_checked() -> None:
    _spec, errors = read_maintenance_spec(
        {"nodes": ["a"], "silence": {**SILENCE, "tail": "5m", "afterRestore": "10m"}}
    )
    assert [(e.path, "longer than" in e.message) for e in errors] == [
        ("spec.silence.afterRestore", True)
    ]
    spec, errors = read_maintenance_spec({"nodes": ["a"], "silence": SILENCE})
    assert spec is not None
    assert spec.silence is not None
    assert spec.silence.after_restore == timedelta(minutes=2)


def test_capped_by_max_duration_then_left_to_lapse() -> None:
    cluster = silenced(tail="10m", maxDuration="30m")
    cluster.run_until(lambda c: c.phase() == NodePhase.IN_MAINTENANCE)
    started = cluster.record().silence.started_at  # type: ignore[union-attr]
    assert started is not None
    cluster.tick = timedelta(minutes=1)
    for _ in range(40):
        cluster.step()
    record = cluster.record().silence
    assert record is not None
    assert record.state == SilenceState.LAPSED
    assert max(s.ends_at for s in cluster.alertmanager.silences.values()) == started + timedelta(
        minutes=30
    )
    assert condition(cluster)["reason"] == "MaxDurationReached"
    assert cluster.phase() == NodePhase.IN_MAINTENANCE  # the maintenance itself goes on


def test_alertmanager_down_never_blocks_the_maintenance() -> None:
    cluster = silenced(afterRestore="0s")  # the expiry at the restore fails, then is retried
    cluster.alertmanager.down = True
    cluster.run_until(lambda c: c.phase() == NodePhase.IN_MAINTENANCE)
    found = condition(cluster)
    assert (found["status"], found["reason"]) == ("False", "SilenceFailed")
    assert "Alertmanager unreachable" in found["message"]
    assert "DeliveryFailed" not in found["message"]
    warnings = [n for n in cluster.notes if n.reason == "SilenceFailed"]
    assert len(warnings) == 1
    assert warnings[0].type == WARNING
    cluster.alertmanager.down = False
    cluster.tick = timedelta(seconds=40)  # retried after RETRY_AFTER
    cluster.step()
    cluster.step()
    assert condition(cluster)["status"] == "True"
    assert len(cluster.alertmanager.active()) == 2
    cluster.alertmanager.down = True
    cluster.spec_raw["release"] = ["a"]
    cluster.run_until(Cluster.finished)
    assert cluster.phase() == NodePhase.COMPLETED
    assert condition(cluster)["reason"] == "SilenceFailed"  # the expiry failed: it says so
    cluster.alertmanager.down = False
    cluster.tick = timedelta(seconds=40)
    cluster.step()
    assert cluster.alertmanager.active() == []
    assert condition(cluster)["reason"] == "NotHeld"


def test_a_lost_status_write_does_not_create_a_second_silence() -> None:
    cluster = silenced()
    cluster.run_until(lambda c: c.phase() == NodePhase.PREFLIGHT)
    while cluster.alertmanager.creates == 0:
        cluster.step(crash="unsaved")  # the silences are made, the status never says so
    cluster.step(crash="unsaved")  # and once more: found by their marker, not made again
    assert cluster.record().silence is None
    assert cluster.alertmanager.creates == 2
    cluster.step()
    record = cluster.record().silence
    assert record is not None
    assert len(record.ids) == 2
    assert cluster.alertmanager.creates == 2  # found by the marker, extended
    assert {s.id for s in cluster.alertmanager.active()} == set(record.ids)


@pytest.mark.parametrize("how", ["abort", "delete"])
def test_expired_on_abort_and_on_deletion(how: str) -> None:
    cluster = silenced()
    cluster.run_until(lambda c: c.phase() == NodePhase.IN_MAINTENANCE)
    assert len(cluster.alertmanager.active()) == 2
    if how == "abort":
        cluster.spec_raw["abort"] = True
        cluster.run_until(Cluster.finished)
    else:
        cluster.deleting = True
        cluster.run_until(lambda c: bool(c.steps) and c.steps[-1].cleaned_up)
    assert cluster.alertmanager.active() == []
    assert cluster.leftovers() == []


def test_the_bearer_token_comes_from_a_secret_in_the_maintenance_namespace() -> None:
    token = {"name": "am-token", "key": "token"}
    cluster = silenced()
    cluster.spec_raw["silence"]["alertmanager"]["bearerTokenSecretRef"] = token
    cluster.run_until(lambda c: c.phase() == NodePhase.IN_MAINTENANCE)
    found = condition(cluster)
    assert (found["reason"], found["message"]) == (
        "SilenceFailed",
        "node a: Secret ops/am-token not found",
    )
    cluster.alertmanager.secrets.add(("ops", "am-token", "token"))
    cluster.tick = timedelta(seconds=40)  # retried after RETRY_AFTER
    cluster.step()
    cluster.step()
    assert condition(cluster)["status"] == "True"
    assert cluster.alertmanager.asked == {AlertmanagerRef(URL, "ops", "am-token", "token")}
    assert cluster.status_doc["nodes"][0]["silence"]["bearerTokenSecretRef"] == token


def test_a_node_without_osds_gets_only_the_node_silence() -> None:
    cluster = Cluster({"nodes": ["a"], "silence": SILENCE}, {"a": ()})
    cluster.run_until(lambda c: c.phase() == NodePhase.IN_MAINTENANCE)
    assert matcher_texts(cluster) == ['node="a"']


def test_no_silence_spec_no_alertmanager_call_and_no_condition() -> None:
    cluster = Cluster({"nodes": ["a"], "release": ["a"]})
    cluster.run_until(Cluster.finished)
    assert cluster.alertmanager.asked == set()
    assert all(c["type"] != "Silenced" for c in cluster.status_doc["conditions"])
    assert IDENTITY  # the fake's Maintenance
