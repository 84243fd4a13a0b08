"""The Ceph client against the real testbed cluster, once per backend (librados and the CLI).

Every change the client makes is checked with the ``ceph`` CLI run by the fixture, not only through
the client itself. Tests that change the cluster use ``ceph_cluster``, which restores it.
"""

from __future__ import annotations

import base64
import shutil
import stat
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest
from kubernetes.client import ApiClient, CoreV1Api

from caretaker.clients.ceph import (
    CephClient,
    CephCommandError,
    CephConnection,
    CephUnavailable,
    ClusterStatus,
    HealthStatus,
    OsdNotFound,
    RookDiscoveryError,
    create_ceph_client,
)
from caretaker.clients.ceph.cli_backend import CliCephClient
from caretaker.clients.ceph.factory import Backend, connect_ceph
from caretaker.clients.ceph.rados_backend import RadosCephClient
from caretaker.clients.ceph.rook_discovery import (
    MON_ENDPOINTS_CONFIGMAP,
    MON_SECRET,
    discover_rook_connection,
)
from caretaker.settings.flags import Settings
from fixtures.ceph import CephTestbed

pytestmark = pytest.mark.ceph

T = TypeVar("T")


def connection_to(testbed: CephTestbed, timeout: float = 10.0) -> CephConnection:
    return CephConnection(
        conf_path=testbed.conf, keyring_path=testbed.keyring, timeout_seconds=timeout
    )


@pytest.fixture(params=["rados", "cli"])
def backend(request: pytest.FixtureRequest) -> Backend:
    value: Backend = request.param
    return value


@pytest.fixture
def client(backend: Backend, ceph_testbed: CephTestbed) -> Iterator[CephClient]:
    with create_ceph_client(connection_to(ceph_testbed), backend) as ceph:
        yield ceph


@pytest.fixture
def changing_client(backend: Backend, ceph_cluster: CephTestbed) -> Iterator[CephClient]:
    """A client for tests that change the cluster (ceph_cluster restores it afterwards)."""
    with create_ceph_client(connection_to(ceph_cluster), backend) as ceph:
        yield ceph


def eventually(read: Callable[[], T], accept: Callable[[T], bool], timeout: float = 20) -> T:
    """Polls ``read`` until ``accept`` holds; returns the accepted value."""
    deadline = time.monotonic() + timeout
    value = read()
    while not accept(value):
        assert time.monotonic() < deadline, f"still {value!r} after {timeout} s"
        time.sleep(0.25)
        value = read()
    return value


def all_active_clean(status: ClusterStatus) -> bool:
    return status.pgs.total > 0 and status.pgs.by_state == {"active+clean": status.pgs.total}


def check_names(ceph: CephClient) -> set[str]:
    return {check.name for check in ceph.status().health.checks}


def test_factory_builds_the_asked_backend(backend: Backend, ceph_testbed: CephTestbed) -> None:
    expected = RadosCephClient if backend == "rados" else CliCephClient
    assert isinstance(create_ceph_client(connection_to(ceph_testbed), backend), expected)
    assert isinstance(create_ceph_client(connection_to(ceph_testbed)), RadosCephClient)


def test_status_and_health_of_the_healthy_cluster(client: CephClient) -> None:
    status = client.status()
    assert status.health.status is HealthStatus.OK
    assert (status.num_osds, status.num_up_osds, status.num_in_osds) == (3, 3, 3)
    assert status.health.checks == ()
    assert all_active_clean(status)
    assert status.mgr_available


def test_each_osd_sits_in_its_own_host_bucket(
    client: CephClient, ceph_testbed: CephTestbed
) -> None:
    assert client.osd_hostnames() == ceph_testbed.osd_hosts
    tree = client.osd_tree()
    expected = {host: frozenset({osd_id}) for osd_id, host in ceph_testbed.osd_hosts.items()}
    assert tree.osds_by_bucket("host") == expected
    rbd = next(p for p in client.osd_dump().pools if p.name == "rbd")
    rule = next(r for r in client.crush_rules() if r.id == rbd.crush_rule)
    assert (rule.takes, rule.failure_domain_type) == (("default",), "host")
    assert tree.osds_taken(rule.takes[0]) == frozenset(ceph_testbed.osd_hosts)


def test_cluster_flag_noout_is_set_and_unset(
    changing_client: CephClient, ceph_cluster: CephTestbed
) -> None:
    changing_client.set_flag("noout")
    assert "noout" in ceph_cluster.ceph("osd", "dump")["flags_set"]
    assert "noout" in changing_client.cluster_flags()
    assert "OSDMAP_FLAGS" in check_names(changing_client)
    changing_client.unset_flag("noout")
    assert "noout" not in ceph_cluster.ceph("osd", "dump")["flags_set"]
    assert "noout" not in changing_client.cluster_flags()


def osd_states(testbed: CephTestbed) -> dict[int, list[str]]:
    return {osd["osd"]: osd["state"] for osd in testbed.ceph("osd", "dump")["osds"]}


def test_noout_on_one_osd(changing_client: CephClient, ceph_cluster: CephTestbed) -> None:
    changing_client.add_noout([1])
    states = osd_states(ceph_cluster)
    assert "noout" in states[1]
    assert "noout" not in states[0]
    assert changing_client.osd_dump().osds_with("noout") == frozenset({1})
    changing_client.rm_noout([1])
    assert "noout" not in osd_states(ceph_cluster)[1]
    assert changing_client.osd_dump().osds_with("noout") == frozenset()


def test_noout_on_one_host_bucket(changing_client: CephClient, ceph_cluster: CephTestbed) -> None:
    host = ceph_cluster.osd_hosts[2]
    changing_client.set_group_noout(host)
    assert ceph_cluster.ceph("osd", "dump")["crush_node_flags"] == {host: ["noout"]}
    osd_map = changing_client.osd_dump()
    assert osd_map.buckets_with("noout") == frozenset({host})
    assert osd_map.osds_with("noout") == frozenset()  # the flag sits on the bucket
    changing_client.unset_group_noout(host)
    assert ceph_cluster.ceph("osd", "dump")["crush_node_flags"] == {}
    assert changing_client.osd_dump().buckets_with("noout") == frozenset()


def test_noout_on_an_unknown_bucket_is_a_command_error(client: CephClient) -> None:
    with pytest.raises(CephCommandError) as caught:
        client.set_group_noout("no-such-host")
    assert caught.value.errno == 22


def test_osd_out_and_in(changing_client: CephClient, ceph_cluster: CephTestbed) -> None:
    def in_flags() -> dict[int, int]:
        return {osd["osd"]: osd["in"] for osd in ceph_cluster.ceph("osd", "dump")["osds"]}

    changing_client.mark_out([2])
    assert in_flags() == {0: 1, 1: 1, 2: 0}
    assert not changing_client.osd_dump().osds[2].in_cluster
    changing_client.mark_in([2])
    assert in_flags() == {0: 1, 1: 1, 2: 1}
    assert changing_client.osd_dump().osds[2].in_cluster


def test_ok_to_stop_one_osd_but_not_two(client: CephClient) -> None:
    one = client.ok_to_stop([0])
    assert one.ok_to_stop
    assert one.osds == (0,)
    assert one.num_not_ok_pgs == 0
    assert one.ok_become_degraded  # size 3 -> 2 replicas: degraded but active
    two = client.ok_to_stop([0, 1])  # 1 replica left < min_size 2: PGs would go inactive
    assert not two.ok_to_stop
    assert two.osds == (0, 1)
    assert two.bad_become_inactive
    assert "unsafe to stop" in two.message
    # max only widens the set within the OSD's CRUSH bucket: one OSD per host here
    assert client.ok_to_stop([0], max_osds=3).osds == (0,)


def test_a_missing_osd_raises_instead_of_ceph_saying_yes(client: CephClient) -> None:
    for call in (
        lambda: client.mark_out([7]),
        lambda: client.mark_in([7]),
        lambda: client.add_noout([7]),
        lambda: client.rm_noout([7]),
        lambda: client.ok_to_stop([7]),
    ):
        with pytest.raises(OsdNotFound) as caught:
            call()
        assert caught.value.osd_ids == (7,)


def test_an_unknown_flag_is_a_command_error(client: CephClient) -> None:
    with pytest.raises(CephCommandError) as caught:
        client.set_flag("bogus")
    assert caught.value.errno == 22


def test_a_killed_osd_shows_as_down_then_recovers(
    changing_client: CephClient, ceph_cluster: CephTestbed
) -> None:
    ceph_cluster.kill_osd(1)
    osd_map = eventually(changing_client.osd_dump, lambda dump: not dump.osds[1].up, timeout=15)
    assert osd_map.osds[1].in_cluster  # down, not (yet) out
    eventually(lambda: check_names(changing_client), lambda names: "OSD_DOWN" in names)
    assert changing_client.osd_tree().nodes[1].status == "down"
    # once re-peered, the PGs are undersized on the two OSDs left
    status = eventually(
        changing_client.status,
        lambda s: bool(s.pgs.by_state) and all("undersized" in state for state in s.pgs.by_state),
    )
    assert not all_active_clean(status)
    assert changing_client.ok_to_stop([1]).ok_to_stop  # already down: stopping it changes nothing
    assert not changing_client.ok_to_stop([0]).ok_to_stop  # would leave a single replica

    ceph_cluster.start_osd(1)
    assert changing_client.osd_dump().osds[1].up
    ceph_cluster.wait_healthy()
    assert all_active_clean(changing_client.status())


def test_quorum_lost_is_unavailable_and_the_client_recovers(
    backend: Backend, ceph_cluster: CephTestbed
) -> None:
    with create_ceph_client(
        connection_to(ceph_cluster, timeout=2), backend, retry_attempts=2
    ) as ceph:
        assert ceph.status().health.status is HealthStatus.OK  # connected before the mons go
        ceph_cluster.stop_mon("a")  # two of three left: still a quorum, the client carries on

        def status_or_none() -> ClusterStatus | None:
            try:
                return ceph.status()
            except CephUnavailable:  # while the monitors elect a new leader
                return None

        eventually(status_or_none, lambda s: s is not None and s.quorum == ("b", "c"), 60)
        ceph_cluster.stop_mon("b")
        ceph_cluster.stop_mon("c")
        started = time.monotonic()
        with pytest.raises(CephUnavailable):
            ceph.status()
        assert time.monotonic() - started < 30
        ceph_cluster.start_mon("a")
        ceph_cluster.start_mon("b")
        status = eventually(
            status_or_none, lambda s: s is not None and s.quorum == ("a", "b"), timeout=60
        )
        assert status is not None
        assert status.num_osds == 3


def test_connect_ceph_from_operator_settings(backend: Backend, ceph_testbed: CephTestbed) -> None:
    settings = Settings(ceph_conf=ceph_testbed.conf, ceph_keyring=ceph_testbed.keyring)
    with connect_ceph(settings, None, backend) as ceph:
        assert ceph.status().num_osds == 3


def create_rook_objects(api: ApiClient, namespace: str, testbed: CephTestbed) -> str:
    """What Rook keeps for its cluster, pointing at the testbed's mon; returns the fsid."""
    fsid: str = testbed.ceph("fsid")["fsid"]
    core = CoreV1Api(api)
    core.create_namespaced_config_map(
        namespace,
        {
            "metadata": {"name": MON_ENDPOINTS_CONFIGMAP},
            "data": {"data": f"a={testbed.mon_v1_address()}", "mapping": "{}", "maxMonId": "0"},
        },
    )
    secret = {"ceph-username": "client.admin", "ceph-secret": testbed.admin_key(), "fsid": fsid}
    encoded = {name: base64.b64encode(value.encode()).decode() for name, value in secret.items()}
    core.create_namespaced_secret(
        namespace, {"metadata": {"name": MON_SECRET}, "type": "kubernetes.io/rook", "data": encoded}
    )
    return fsid


@pytest.mark.kube
def test_rook_discovery_connects_through_the_configmap_and_secret(
    backend: Backend, ceph_testbed: CephTestbed, kube_api: ApiClient, namespace: str, tmp_path: Path
) -> None:
    fsid = create_rook_objects(kube_api, namespace, ceph_testbed)
    connection = discover_rook_connection(kube_api, namespace, directory=tmp_path)
    assert connection.keyring_path is not None
    assert stat.S_IMODE(connection.keyring_path.stat().st_mode) == 0o600
    assert stat.S_IMODE(connection.conf_path.stat().st_mode) == 0o600
    assert connection.user == "client.admin"
    with create_ceph_client(connection, backend) as ceph:
        assert ceph.status().fsid == fsid

    with connect_ceph(Settings(rook_namespace=namespace), kube_api, backend) as ceph:
        try:
            assert ceph.status().fsid == fsid
        finally:
            shutil.rmtree(ceph.connection.conf_path.parent)


@pytest.mark.kube
def test_rook_discovery_without_rook_objects_fails_clearly(
    kube_api: ApiClient, namespace: str, tmp_path: Path
) -> None:
    with pytest.raises(RookDiscoveryError, match="rook-ceph-mon-endpoints"):
        discover_rook_connection(kube_api, namespace, directory=tmp_path)
