"""What the benchmarks share: the testbed scripts, the CRDs, and the counters they read (the
operator's /metrics, the API server's apiserver_request_total, the operator process in /proc).

Importing this module puts tests/ (the fixtures) and operator/ on sys.path.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "tests"), str(REPO / "operator")]

from kubernetes.client import ApiClient  # noqa: E402

from fixtures.operator import apply_crd  # noqa: E402

# A Prometheus text sample: name{labels} value
_SAMPLE = re.compile(r"^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(?P<labels>.*)\})? (?P<value>\S+)")
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def script(name: str, *args: str, env: dict[str, str] | None = None) -> None:
    """Runs hack/testbed/<name> ARGS; its output is dropped, a failure raises."""
    subprocess.run(
        [str(REPO / "hack" / "testbed" / name), *args],
        check=True,
        stdout=subprocess.DEVNULL,
        env={**os.environ, **(env or {})},
    )


def install_crds(api: ApiClient) -> None:
    import yaml  # noqa: PLC0415

    for crd in sorted((REPO / "crds").glob("*.yaml")):
        for doc in yaml.safe_load_all(crd.read_text()):
            if doc:
                apply_crd(api, doc)


def samples(text: str, name: str) -> list[tuple[dict[str, str], float]]:
    """Every sample of metric ``name`` in a Prometheus text exposition, with its labels."""
    found = []
    for line in text.splitlines():
        match = _SAMPLE.match(line)
        if match and match["name"] == name:
            labels = dict(_LABEL.findall(match["labels"] or ""))
            found.append((labels, float(match["value"])))
    return found


def operator_metric(port: int, name: str, timeout: float = 5) -> float:
    """The sum of every sample of ``name`` (all labels) on the operator's /metrics."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=timeout) as answer:
        text = answer.read().decode()
    return sum(value for _, value in samples(text, name))


def apiserver_requests_by(kubeconfig: Path) -> Counter[tuple[str, str, str]]:
    """apiserver_request_total summed per (verb, resource, subresource)."""
    text = subprocess.run(
        ["kubectl", "--kubeconfig", str(kubeconfig), "get", "--raw", "/metrics"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    counts: Counter[tuple[str, str, str]] = Counter()
    for labels, value in samples(text, "apiserver_request_total"):
        key = (labels.get("verb", ""), labels.get("resource", ""), labels.get("subresource", ""))
        counts[key] += value
    return counts


def apiserver_requests(kubeconfig: Path) -> float:
    """Every request the API server has counted (apiserver_request_total), all labels."""
    return sum(apiserver_requests_by(kubeconfig).values())


def baseline_rate(kubeconfig: Path, seconds: float) -> float:
    """API requests per second over ``seconds`` (run it with no operator)."""
    before, started = apiserver_requests(kubeconfig), time.monotonic()
    time.sleep(seconds)
    return (apiserver_requests(kubeconfig) - before) / (time.monotonic() - started)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of the process (all its threads) from /proc/PID/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime


def memory_kib(pid: int) -> dict[str, int]:
    """VmRSS (resident now) and VmHWM (the peak resident size so far) in KiB."""
    found = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            found[key] = int(value.split()[0])
    return found
