"""HealthPolicy benchmark: evaluation cost at 5,000 series, and detection latency of a real OSD.

    .venv/bin/python bench/health_bench.py [--series 5000] [--evaluations 20] [--kills 8]

1. Cost: the testbed Prometheus scrapes a page of N synthetic ``bench_osd_up`` series, all 0.
   A rule ``bench_osd_up == 0`` returns all N; each evaluation is the operator's own path: the
   query through Caretaker's Prometheus client, then the pure ``evaluate()`` fed back its own
   status and records, as the executor does. Wall and CPU time are reported separately.
2. Detection latency: the real operator evaluates an OsdDown rule (``for: 0s``, interval 1 s)
   against the testbed's Ceph and Prometheus (scrape 2 s); a real OSD is killed and the time to
   the PagerDuty trigger at a local receiver is measured, then the OSD is restarted and the
   resolve awaited, ``--kills`` times.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "tests"), str(REPO / "operator")]

import yaml  # noqa: E402

from caretaker.clients.kube.api import KubeApiError, load_api_client, request_json  # noqa: E402
from caretaker.clients.prometheus import PrometheusClient, PrometheusSettings  # noqa: E402
from caretaker.domain.health.evaluation import evaluate  # noqa: E402
from caretaker.domain.health.keys import PolicyRef  # noqa: E402
from caretaker.domain.health.records import record_body, view_from_object  # noqa: E402
from caretaker.domain.health.spec import read_health_policy_spec  # noqa: E402
from caretaker.domain.health.status import status_from_dict  # noqa: E402
from caretaker.domain.health.world import CephReadings, HealthWorld  # noqa: E402
from caretaker.domain.promql.outcome import QueryOk, Sample  # noqa: E402
from fixtures.health import create_policy, create_secret  # noqa: E402
from fixtures.operator import apply_crd, operator_process  # noqa: E402

PORT_BASE = "30000"
SCRAPE_SECONDS = 2.0


def _script(name: str, *args: str) -> None:
    subprocess.run(
        [str(REPO / "hack" / "testbed" / name), *args], check=True, stdout=subprocess.DEVNULL
    )


@contextmanager
def _http(handler: type[BaseHTTPRequestHandler]) -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()


def _series_page(count: int) -> type[BaseHTTPRequestHandler]:
    lines = [
        f'bench_osd_up{{ceph_daemon="osd.{i}",hostname="host-{i % 100}"}} 0' for i in range(count)
    ]
    page = ("# TYPE bench_osd_up gauge\n" + "\n".join(lines) + "\n").encode()

    class Page(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, *args: object) -> None:
            return

    return Page


def _wait(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        time.sleep(0.1)


def _timed(call: Callable[[], Any]) -> tuple[Any, float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    result = call()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def measure_cost(state: Path, series: int, evaluations: int) -> dict[str, list[float]]:
    url = (state / "prometheus" / "url").read_text().strip()
    client = PrometheusClient(PrometheusSettings(url=url, timeout=30.0))
    expr = "bench_osd_up == 0"
    with _http(_series_page(series)) as port:
        target = [{"targets": [f"127.0.0.1:{port}"], "labels": {"job": "bench"}}]
        (state / "prometheus" / "targets" / "bench.json").write_text(json.dumps(target))
        _wait(lambda: len(client.query(expr)) == series, 60, f"{series} series in Prometheus")
        spec, errors = read_health_policy_spec(
            {
                "interval": "10s",
                "rules": [
                    {
                        "name": "many-down",
                        "expr": expr,
                        "severity": "routine",
                        "for": "0s",
                        "target": {"kind": "osd", "label": "ceph_daemon"},
                        "actions": [{"after": "0s", "notify": {}}],
                    }
                ],
            }
        )
        assert spec is not None, errors
        policy = PolicyRef("bench", "bench", "00000000-0000-4000-8000-000000000000")
        status, records = status_from_dict(None), {}
        ceph = CephReadings(health="HEALTH_OK", osds_total=series, osds_up=series, quorum=("a",))
        times: dict[str, list[float]] = {k: [] for k in ("q_wall", "q_cpu", "e_wall", "e_cpu")}
        now = datetime.now(UTC)
        for index in range(evaluations):
            result, q_wall, q_cpu = _timed(lambda: client.query(expr))
            outcome = QueryOk(tuple(Sample(dict(s.labels), s.value) for s in result.samples))
            world = HealthWorld(
                now=now + timedelta(seconds=10 * index),
                policy=policy,
                spec=spec,
                status=status,
                outcomes={"many-down": outcome},
                ceph=ceph,
                remediations=tuple(
                    view for view in map(view_from_object, records.values()) if view is not None
                ),
                exporter_age=timedelta(seconds=1),
            )
            evaluation, e_wall, e_cpu = _timed(lambda w=world: evaluate(w))
            status = evaluation.status
            records.update({r.name: record_body(r) for r in evaluation.records})
            for key, value in zip(times, (q_wall, q_cpu, e_wall, e_cpu), strict=True):
                times[key].append(value)
    client.close()
    return times


class _PagerDuty(BaseHTTPRequestHandler):
    events: ClassVar[list[tuple[float, dict[str, Any]]]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
        type(self).events.append((time.monotonic(), body))
        data = json.dumps({"status": "success", "dedup_key": body.get("dedup_key")}).encode()
        self.send_response(202)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        return


def measure_detection(state: Path, kills: int) -> list[float]:
    api = load_api_client(state / "kube" / "kubeconfig")
    for crd in sorted((REPO / "crds").glob("*.yaml")):
        for doc in yaml.safe_load_all(crd.read_text()):
            apply_crd(api, doc)
    for ns in ("bench", "caretaker-system"):
        try:
            request_json(
                api,
                "POST",
                "/api/v1/namespaces",
                body={"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}},
            )
        except KubeApiError as error:
            if not error.conflict:
                raise
    create_secret(api, "bench", "pagerduty", {"routing-key": "bench"})
    ref = {"name": "pagerduty", "key": "routing-key"}
    create_policy(
        api,
        "bench",
        "osds",
        {
            "interval": "1s",
            "notifications": {
                "receivers": [{"name": "oncall", "pagerduty": {"routingKeySecretRef": ref}}],
                "routes": [{"severity": "urgent", "receivers": ["oncall"]}],
            },
            "rules": [
                {
                    "name": "osd-down",
                    "preset": "OsdDown",
                    "for": "0s",
                    "actions": [{"after": "0s", "notify": {}}],
                }
            ],
        },
    )
    osd = "1"
    latencies: list[float] = []
    with _http(_PagerDuty) as port:
        env = {"KUBECONFIG": str(state / "kube" / "kubeconfig")}
        args = [
            "--namespace",
            "bench",
            "--ceph-conf",
            str(state / "ceph" / "ceph.conf"),
            "--ceph-keyring",
            str(state / "ceph" / "keyring"),
            "--prometheus-url",
            (state / "prometheus" / "url").read_text().strip(),
            "--pagerduty-events-url",
            f"http://127.0.0.1:{port}/",
            "--lease-namespace",
            "caretaker-system",
        ]
        with operator_process(env, args, state / "operator.log"):
            time.sleep(5)  # the first evaluations, and the exporter's first scrapes
            for _ in range(kills):
                seen = len(_PagerDuty.events)
                killed = time.monotonic()
                _script("ceph.sh", "kill-osd", str(state), osd)
                _wait(lambda n=seen: len(_PagerDuty.events) > n, 60, "trigger")
                latencies.append(_PagerDuty.events[seen][0] - killed)
                _script("ceph.sh", "start-osd", str(state), osd)
                _wait(lambda n=seen: len(_PagerDuty.events) > n + 1, 120, "resolve")
                time.sleep(SCRAPE_SECONDS)
    return latencies


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, default=5000)
    parser.add_argument("--evaluations", type=int, default=20)
    parser.add_argument("--kills", type=int, default=8)
    args = parser.parse_args()
    os.environ.setdefault("CARETAKER_TESTBED_PORT_BASE", PORT_BASE)
    os.environ.setdefault("CARETAKER_SCRAPE_INTERVAL", f"{SCRAPE_SECONDS:g}s")
    state = Path(tempfile.mkdtemp(prefix="caretaker-bench-", dir="/dev/shm"))
    components = ("kube.sh", "nodes.sh", "ceph.sh", "prometheus.sh")
    try:
        for component in components:
            _script(component, "start", str(state))
        cost = measure_cost(state, args.series, args.evaluations)
        latencies = measure_detection(state, args.kills) if args.kills else []
    finally:
        for component in reversed(components):
            _script(component, "stop", str(state))

    def median_ms(values: list[float]) -> str:
        return f"{statistics.median(values) * 1000:.0f} ms"

    print(f"evaluation of one rule returning {args.series} series (median of {args.evaluations}):")
    print(
        f"  Prometheus query + parse: wall {median_ms(cost['q_wall'])}, "
        f"CPU {median_ms(cost['q_cpu'])}"
    )
    print(
        f"  evaluate():               wall {median_ms(cost['e_wall'])}, "
        f"CPU {median_ms(cost['e_cpu'])}"
    )
    if latencies:
        ordered = sorted(latencies)
        p90 = ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]
        print(
            f"detection latency, OSD killed -> page ({len(latencies)} kills; scrape interval "
            f"{SCRAPE_SECONDS:g} s, evaluation interval 1 s, for 0 s):"
        )
        print(
            f"  min {ordered[0]:.2f} s, median {statistics.median(ordered):.2f} s, "
            f"p90 {p90:.2f} s, max {ordered[-1]:.2f} s"
        )
        print("  all: " + ", ".join(f"{v:.2f}" for v in latencies))
    return 0


if __name__ == "__main__":
    sys.exit(main())
