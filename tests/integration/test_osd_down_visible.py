"""A killed OSD is seen down through both views the operator uses: the Ceph client (librados or the
CLI) and Prometheus scraping the mgr's exporter; after a restart both see it up again."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import TypeVar

import pytest

from caretaker.clients.ceph import CephClient, CephConnection, HealthStatus, create_ceph_client
from caretaker.clients.prometheus import InstantResult, PrometheusClient, PrometheusSettings
from fixtures.ceph import CephTestbed
from fixtures.prom import PrometheusTestbed

pytestmark = [pytest.mark.ceph, pytest.mark.prometheus]

T = TypeVar("T")
OSD_ID = 1


def eventually(read: Callable[[], T], accept: Callable[[T], bool], timeout: float) -> T:
    """Polls ``read`` until ``accept`` holds; returns the accepted value."""
    deadline = time.monotonic() + timeout
    value = read()
    while not accept(value):
        assert time.monotonic() < deadline, f"still {value!r} after {timeout} s"
        time.sleep(0.25)
        value = read()
    return value


@pytest.fixture
def ceph(ceph_cluster: CephTestbed) -> Iterator[CephClient]:
    connection = CephConnection(conf_path=ceph_cluster.conf, keyring_path=ceph_cluster.keyring)
    with create_ceph_client(connection) as client:
        yield client


@pytest.fixture
def prometheus(ceph_prometheus: PrometheusTestbed) -> Iterator[PrometheusClient]:
    with PrometheusClient(PrometheusSettings(url=ceph_prometheus.url)) as client:
        yield client


def test_killed_osd_is_down_in_ceph_and_in_prometheus(
    ceph_cluster: CephTestbed, ceph: CephClient, prometheus: PrometheusClient
) -> None:
    osd_is_down = f'ceph_osd_up{{ceph_daemon="osd.{OSD_ID}"}} == 0'
    osd_is_up = f'ceph_osd_up{{ceph_daemon="osd.{OSD_ID}"}} == 1'
    assert ceph.osd_dump().osds[OSD_ID].up
    eventually(lambda: prometheus.query(osd_is_up), bool, timeout=30)
    assert not prometheus.query(osd_is_down)

    ceph_cluster.kill_osd(OSD_ID)

    osd_map = eventually(ceph.osd_dump, lambda m: not m.osds[OSD_ID].up, timeout=30)
    assert osd_map.osds[OSD_ID].in_cluster  # down, not (yet) out
    status = eventually(
        ceph.status, lambda s: "OSD_DOWN" in {c.name for c in s.health.checks}, timeout=30
    )
    assert status.num_up_osds == 2
    down: InstantResult = eventually(lambda: prometheus.query(osd_is_down), bool, timeout=30)
    (sample,) = down
    assert sample.labels["ceph_daemon"] == f"osd.{OSD_ID}"
    assert sample.labels["job"] == "ceph"
    assert sample.value == 0.0
    eventually(lambda: prometheus.query("ceph_health_status >= 1"), bool, timeout=30)

    ceph_cluster.start_osd(OSD_ID)

    eventually(ceph.osd_dump, lambda m: m.osds[OSD_ID].up, timeout=30)
    eventually(lambda: prometheus.query(osd_is_up), bool, timeout=30)
    assert not prometheus.query(osd_is_down)
    ceph_cluster.wait_healthy(timeout=120)
    assert ceph.status().health.status is HealthStatus.OK
    eventually(lambda: prometheus.query("ceph_health_status == 0"), bool, timeout=30)
