"""The Prometheus client against the testbed's real Prometheus: data, no data, bad queries,
a closed port, and Prometheus going away mid-run and coming back.

What reaches the server (auth headers, TLS) and slow answers are in test_prometheus_http.py."""

from __future__ import annotations

import json
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from caretaker.clients.prometheus import (
    PrometheusBadQuery,
    PrometheusClient,
    PrometheusSettings,
    PrometheusUnreachable,
    RetryPolicy,
)
from fixtures.prom import PrometheusTestbed

pytestmark = pytest.mark.prometheus

QUICK_RETRIES = RetryPolicy(max_attempts=3, max_total_seconds=2.0, initial_backoff=0.1)


@pytest.fixture(scope="module")
def prometheus(prometheus_testbed: PrometheusTestbed) -> PrometheusTestbed:
    """The testbed Prometheus once it has scraped itself."""
    prometheus_testbed.wait_for_series('up{job="prometheus"}', timeout=30)
    return prometheus_testbed


@pytest.fixture
def client(prometheus: PrometheusTestbed) -> Iterator[PrometheusClient]:
    with PrometheusClient(PrometheusSettings(url=prometheus.url, retry=QUICK_RETRIES)) as c:
        yield c


# --- against the real Prometheus ---------------------------------------------------------------


def test_instant_query_returns_typed_samples(client: PrometheusClient) -> None:
    result = client.query('up{job="prometheus"}')
    (sample,) = result.samples
    assert sample.labels["job"] == "prometheus"
    assert sample.labels["__name__"] == "up"
    assert sample.value == 1.0
    assert sample.timestamp == pytest.approx(result.evaluated_at, abs=0.01)


def test_scalar_query(client: PrometheusClient) -> None:
    result = client.query("scalar(up{job='prometheus'}) * 2")
    assert result.is_scalar
    assert [s.value for s in result] == [2.0]


def test_bad_query_carries_the_server_text_verbatim(
    client: PrometheusClient, prometheus: PrometheusTestbed
) -> None:
    promql = 'sum(up{job="prometheus"'
    with pytest.raises(PrometheusBadQuery) as caught:
        client.query(promql)
    assert caught.value.server_message == raw_error_text(prometheus.url, promql)
    assert "parse error" in caught.value.server_message
    assert caught.value.error_type == "bad_data"
    assert caught.value.query == promql


def test_execution_error_is_a_bad_query(client: PrometheusClient) -> None:
    with pytest.raises(PrometheusBadQuery, match="many-to-many") as caught:
        client.query("up * on() group_left prometheus_http_requests_total")
    assert caught.value.error_type == "execution"


def test_no_data_is_an_empty_result(client: PrometheusClient) -> None:
    result = client.query('caretaker_no_such_metric{job="nothing"}')
    assert not result
    assert result.samples == ()


def test_closed_port_is_unreachable_quickly_with_bounded_retries() -> None:
    settings = PrometheusSettings(url=f"http://127.0.0.1:{closed_port()}", retry=QUICK_RETRIES)
    started = time.monotonic()
    with pytest.raises(PrometheusUnreachable, match="Connection refused") as caught:
        PrometheusClient(settings).query("up")
    assert time.monotonic() - started < 2.5
    assert "after 3 attempts" in str(caught.value)


def test_prometheus_going_away_then_coming_back(prometheus: PrometheusTestbed) -> None:
    settings = PrometheusSettings(url=prometheus.url, retry=QUICK_RETRIES)
    patient_retries = RetryPolicy(max_attempts=100, max_total_seconds=30, max_backoff=0.3)
    patient = PrometheusSettings(url=prometheus.url, retry=patient_retries)
    prometheus.stop()
    try:
        with pytest.raises(PrometheusUnreachable):
            PrometheusClient(settings).query("up")
        with ThreadPoolExecutor(max_workers=1) as pool:
            waiting = pool.submit(PrometheusClient(patient).query, "vector(1)")
            time.sleep(0.5)
            assert not waiting.done()  # retrying while Prometheus is down
            prometheus.start()
            assert [s.value for s in waiting.result(timeout=30)] == [1.0]
    finally:
        prometheus.start()
    assert [s.value for s in PrometheusClient(settings).query("vector(2)")] == [2.0]
    prometheus.wait_for_series('up{job="prometheus"}', timeout=30)


# --- helpers -----------------------------------------------------------------------------------


def raw_error_text(url: str, promql: str) -> str:
    """Prometheus's own ``error`` text for a query, read without the client."""
    query = urllib.parse.urlencode({"query": promql})
    try:
        urllib.request.urlopen(f"{url}/api/v1/query?{query}", timeout=5)
    except urllib.error.HTTPError as error:
        text: str = json.load(error)["error"]
        return text
    raise AssertionError("query unexpectedly succeeded")


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port
