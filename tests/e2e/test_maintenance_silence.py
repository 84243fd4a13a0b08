"""spec.silence end to end: a real alert flows Prometheus → Alertmanager → a webhook receiver.

A Prometheus alerting rule fires while an OSD of the node is down (the drain stops its pod, as on
Rook). While the node is held, Caretaker's silence keeps the alert away from the receiver; once
the node is restored the silence is expired, so when the OSD goes down again the alert reaches
the receiver at once (not only after the silence's tail would have run out).
"""

from __future__ import annotations

import json
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from kubernetes.client import ApiClient

from caretaker.clients.kube.events import ObjectRef
from fixtures.ceph import CephTestbed
from fixtures.kube_reads import EventInfo, list_events
from fixtures.maintenance import (
    OperatorFactory,
    create_maintenance,
    get_maintenance,
    node_status,
    osd_up,
    patch_maintenance,
    status_of,
    wait_phase,
)
from fixtures.operator import wait_until
from fixtures.prom import PrometheusTestbed
from fixtures.receivers import MakeReceiver, Receiver

pytestmark = [pytest.mark.e2e, pytest.mark.ceph, pytest.mark.kube]
ALERT = "CaretakerTestOsdDown"
AFTER_RESTORE = "45s"
RULES = f"""\
groups:
  - name: caretaker-silence-test
    rules:
      - alert: {ALERT}
        expr: ceph_osd_up == 0
        labels: {{severity: critical}}
"""


def _post(url: str) -> None:
    request = urllib.request.Request(url, data=b"", method="POST")
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert answer.status == 200, answer.status


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as answer:
        return json.load(answer)


def _alertmanager_config(receiver_url: str) -> str:
    return f"""\
# Written by tests/e2e/test_maintenance_silence.py (alertmanager.sh writes it again on start)
route:
  receiver: "null"
  group_wait: 1s
  group_interval: 5s
  repeat_interval: 1h
  routes:
    - receiver: webhook
      matchers: ['alertname="{ALERT}"']
      group_by: [ceph_daemon]
      group_wait: 1s
      group_interval: 1s
receivers:
  - name: "null"
  - name: webhook
    webhook_configs:
      - url: {receiver_url}/alerts
        send_resolved: false
"""


@pytest.fixture
def alert_receiver(
    ceph_prometheus: PrometheusTestbed,
    alertmanager_testbed: str,
    make_receiver: MakeReceiver,
) -> Iterator[Receiver]:
    """The rule loaded in Prometheus, and Alertmanager routing its alert to a new receiver;
    both put back afterwards."""
    receiver = make_receiver(200, name="alert-webhook")
    rules = ceph_prometheus.state_dir / "prometheus" / "rules" / "caretaker-silence-test.yml"
    config = ceph_prometheus.state_dir / "alertmanager" / "alertmanager.yml"
    original = config.read_text()
    rules.write_text(RULES)
    config.write_text(_alertmanager_config(receiver.url))
    try:
        _post(f"{ceph_prometheus.url}/-/reload")
        _post(f"{alertmanager_testbed}/-/reload")
        yield receiver
    finally:
        rules.unlink(missing_ok=True)
        config.write_text(original)
        _post(f"{ceph_prometheus.url}/-/reload")
        _post(f"{alertmanager_testbed}/-/reload")


def _osd_alerts(alertmanager: str, osd: int) -> list[dict[str, Any]]:
    query = urllib.parse.urlencode(
        [("filter", f'alertname="{ALERT}"'), ("filter", f'ceph_daemon="osd.{osd}"')]
    )
    found: list[dict[str, Any]] = _get(f"{alertmanager}/api/v2/alerts?{query}")
    return found


def _delivered(receiver: Receiver, osd: int) -> list[dict[str, Any]]:
    alerts = [a for r in receiver.requests for a in (r.json or {}).get("alerts", [])]
    return [a for a in alerts if a["labels"].get("ceph_daemon") == f"osd.{osd}"]


def _events(api: ApiClient, namespace: str, name: str) -> list[EventInfo]:
    obj = get_maintenance(api, namespace, name)
    assert obj is not None
    uid = obj["metadata"]["uid"]
    return list_events(
        api, ObjectRef("caretaker.dev/v1alpha1", "Maintenance", name, namespace, uid)
    )


def _silence(alertmanager: str, silence_id: str) -> dict[str, Any]:
    found: dict[str, Any] = _get(f"{alertmanager}/api/v2/silence/{silence_id}")
    return found


def test_the_osd_alert_is_silenced_while_held_and_reaches_the_receiver_after_the_restore(
    kube_api: ApiClient,
    clean_nodes: dict[str, list[int]],
    ceph_cluster: CephTestbed,
    run_operator: OperatorFactory,
    namespace: str,
    alertmanager_testbed: str,
    alert_receiver: Receiver,
) -> None:
    node = sorted(clean_nodes)[0]
    osd = clean_nodes[node][0]
    spec = {
        "nodes": [node],
        # tail 10m, the default; the alert the drain raised must resolve before the silence ends
        "silence": {"alertmanager": {"url": alertmanager_testbed}, "afterRestore": AFTER_RESTORE},
    }
    create_maintenance(kube_api, namespace, "quiet", spec)
    with run_operator():
        status = wait_phase(kube_api, namespace, "quiet", "InMaintenance", timeout=120)
        silence = node_status(status, node)["silence"]
        assert silence["state"] == "Active"
        assert silence["matchers"] == [f'node="{node}"', rf'ceph_daemon=~"osd\\.({osd})"']
        ids = silence["ids"]
        for silence_id in ids:
            assert _silence(alertmanager_testbed, silence_id)["status"]["state"] == "active"
        # The drain stopped the OSD's pod: the rule fires, Alertmanager has the alert, silenced.
        wait_until(lambda: not osd_up(ceph_cluster, osd), 60, f"osd.{osd} down after the drain")

        def suppressed() -> list[str]:
            alerts = _osd_alerts(alertmanager_testbed, osd)
            return [s for a in alerts for s in a["status"]["silencedBy"]]

        silenced_by = wait_until(suppressed, 60, f"Alertmanager to hold {ALERT} silenced")
        assert set(silenced_by) <= set(ids)  # type: ignore[arg-type]
        time.sleep(4)  # group_wait 1s: a notification would have been sent by now
        assert _delivered(alert_receiver, osd) == []
        conditions = {c["type"]: c for c in status_of(kube_api, namespace, "quiet")["conditions"]}
        assert conditions["Silenced"]["status"] == "True"
        assert conditions["Silenced"]["reason"] == "Held"

        patch_maintenance(kube_api, namespace, "quiet", {"spec": {"release": [node]}})
        status = wait_phase(kube_api, namespace, "quiet", "Completed", timeout=180)
        # Restored: the silences stay afterRestore, so the stale alert of the OSD the drain
        # stopped (the exporter and Prometheus see it up a little late) resolves while silenced
        restored = node_status(status, node)
        ends = restored["silence"]["endsAt"]
        finished = datetime.fromisoformat(restored["finishedAt"].replace("Z", "+00:00"))
        after = datetime.fromisoformat(ends.replace("Z", "+00:00")) - finished
        assert abs(after - timedelta(seconds=int(AFTER_RESTORE.rstrip("s")))) <= timedelta(
            seconds=1
        )
        assert _silence(alertmanager_testbed, ids[0])["status"]["state"] == "active"

        def expired() -> dict[str, Any] | None:
            found = node_status(status_of(kube_api, namespace, "quiet"), node)
            return found if found["silence"]["state"] == "Expired" else None

        # the operator notes the end without an edit to wake it (it sleeps until then)
        wait_until(expired, 90, "the silence recorded as ended")
        status = status_of(kube_api, namespace, "quiet")
    for silence_id in ids:
        assert _silence(alertmanager_testbed, silence_id)["status"]["state"] == "expired"
    conditions = {c["type"]: c for c in status["conditions"]}
    assert (conditions["Silenced"]["status"], conditions["Silenced"]["reason"]) == (
        "False",
        "NotHeld",
    )
    reasons = [e.reason for e in _events(kube_api, namespace, "quiet")]
    assert "Silenced" in reasons
    assert "SilenceExpired" in reasons
    time.sleep(3)  # group_interval 1s: a leaked alert would have been sent by now
    assert _delivered(alert_receiver, osd) == []  # nothing while held, nor when the silence ended

    # After the restore the OSD fails again and stays down: the alert reaches the receiver.
    ceph_cluster.kill_osd(osd)
    wait_until(lambda: _delivered(alert_receiver, osd), 90, f"{ALERT} for osd.{osd} delivered")
    (alert,) = _delivered(alert_receiver, osd)[:1]
    assert alert["status"] == "firing"


def test_alertmanager_unreachable_never_blocks_the_maintenance(
    kube_api: ApiClient,
    clean_nodes: dict[str, list[int]],
    ceph_cluster: CephTestbed,
    run_operator: OperatorFactory,
    namespace: str,
) -> None:
    node = sorted(clean_nodes)[1]
    nobody = "http://127.0.0.1:9"  # discard port: refused
    spec = {
        "nodes": [node],
        "hold": {"mode": "duration", "duration": "2s"},
        "silence": {"alertmanager": {"url": nobody}},
    }
    create_maintenance(kube_api, namespace, "deaf", spec)
    with run_operator():
        status = wait_phase(kube_api, namespace, "deaf", "Completed", timeout=180)
    conditions = {c["type"]: c for c in status["conditions"]}
    silenced = conditions["Silenced"]
    assert (silenced["status"], silenced["reason"]) == ("False", "SilenceFailed")
    assert "Alertmanager unreachable" in silenced["message"]
    assert "Error" not in silenced["message"].split(":")[0]
    warnings = [e for e in _events(kube_api, namespace, "deaf") if e.reason == "SilenceFailed"]
    assert warnings
    assert all(e.type == "Warning" for e in warnings)
