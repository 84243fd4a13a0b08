"""The read cache against the real kube-apiserver: reads of Leases and Nodes stay in memory
while the watch is open, changes by others arrive through the watch, and compare-and-swap
writes stay correct when the cache is behind."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from kubernetes.client import ApiClient
from prometheus_client import REGISTRY

from caretaker.clients.kube.api import (
    api_path,
    attach_read_cache,
    close_api_client,
    load_api_client,
    request_json,
)
from caretaker.clients.kube.informer import Informer
from caretaker.clients.kube.lease import acquire_lease, read_lease, release_lease
from caretaker.clients.kube.nodes import cordon_for, get_node, list_nodes, uncordon_for
from caretaker.clients.kube.read_cache import Collection, start_read_cache
from fixtures.kube import KubeTestbed, delete_ignoring_missing, private_kube_server

pytestmark = pytest.mark.kube
BARE_KUBE_PORT_OFFSET = 120  # +499/+500/+563: clear of the testbed and the other bare servers


@pytest.fixture(scope="module")
def kube_testbed() -> Iterator[KubeTestbed]:
    """A bare API server of this module's own: Leases and Nodes need no controllers."""
    with private_kube_server(BARE_KUBE_PORT_OFFSET) as testbed:
        yield testbed


@pytest.fixture(scope="module")
def kube_api(kube_testbed: KubeTestbed) -> Iterator[ApiClient]:
    api = load_api_client(kube_testbed.kubeconfig)
    yield api
    close_api_client(api)


@pytest.fixture
def namespace(kube_api: ApiClient) -> Iterator[str]:
    name = f"ct-cache-{time.monotonic_ns() % 10**8}"
    body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
    request_json(kube_api, "POST", "/api/v1/namespaces", body=body)
    yield name
    delete_ignoring_missing(kube_api, api_path("/api/v1/namespaces/{}", name))


Cached = Callable[[str], ApiClient]
LEASES = "/apis/coordination.k8s.io/v1"


def gets() -> float:
    return REGISTRY.get_sample_value("caretaker_kube_requests_total", {"verb": "GET"}) or 0.0


def eventually(check: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "not seen in time"
        time.sleep(0.05)


@pytest.fixture
def cached_client(kube_testbed: KubeTestbed) -> Iterator[Cached]:
    """cached_client(namespace): a client of its own whose Lease reads in ``namespace`` and
    Node reads are answered by informers."""
    made: list[tuple[ApiClient, list[Informer]]] = []

    def make(namespace: str) -> ApiClient:
        api = load_api_client(kube_testbed.kubeconfig)
        collections = [Collection("/api/v1", "nodes"), Collection(LEASES, "leases", namespace)]
        informers = start_read_cache(api, collections, sync_timeout=10)
        assert all(informer.fresh() for informer in informers)
        made.append((api, informers))
        return api

    yield make
    for api, informers in made:
        for informer in informers:
            informer.stop()
        attach_read_cache(api, None)
        close_api_client(api)


def test_reads_stay_in_memory_and_see_other_writers(
    kube_api: ApiClient, namespace: str, cached_client: Cached, make_node: Callable[..., str]
) -> None:
    node = make_node()
    api = cached_client(namespace)
    assert acquire_lease(kube_api, namespace, "n1", "someone-else", duration_seconds=30)
    eventually(lambda: holder(api, namespace, "n1") == "someone-else")

    before = gets()
    for _ in range(50):
        lease = read_lease(api, namespace, "n1")
        assert lease is not None
        assert lease.holder == "someone-else"
        assert node in {n.name for n in list_nodes(api)}
    assert gets() - before < 5  # 100 reads; at most a watch reopened meanwhile
    before = gets()
    for _ in range(20):
        assert read_lease(api, namespace, "never-made") is None  # absence is known too
    assert gets() - before < 3

    assert release_lease(kube_api, namespace, "n1", "someone-else")  # through the server
    eventually(lambda: holder(api, namespace, "n1") is None)


def test_own_writes_are_read_back_at_once(
    namespace: str, cached_client: Cached, make_node: Callable[..., str]
) -> None:
    node = make_node()
    api = cached_client(namespace)
    assert cordon_for(api, node, "caretaker/m1")
    seen = get_node(api, node)  # no waiting for the watch
    assert seen is not None
    assert seen.unschedulable
    assert [n.unschedulable for n in list_nodes(api) if n.name == node] == [True]
    assert uncordon_for(api, node, "caretaker/m1")
    assert not (get_node(api, node) or _none()).unschedulable


def test_one_of_many_cached_contenders_wins_a_lease(
    kube_api: ApiClient, namespace: str, cached_client: Cached
) -> None:
    """Each contender's cache still shows the Lease free when the others have written it: the
    compare-and-swap with the cached resourceVersion fails (409) and the retry reads the
    server, so exactly one holds it."""
    assert acquire_lease(kube_api, namespace, "contended", "nobody", duration_seconds=30)
    assert release_lease(kube_api, namespace, "contended", "nobody")
    clients = [cached_client(namespace) for _ in range(4)]
    for api in clients:
        eventually(lambda api=api: read_lease(api, namespace, "contended") is not None)

    def contend(index: int) -> bool:
        api = clients[index]
        return acquire_lease(api, namespace, "contended", f"c{index}", duration_seconds=30)

    with ThreadPoolExecutor(len(clients)) as pool:
        won = list(pool.map(contend, range(len(clients))))
    assert won.count(True) == 1
    holder = (read_lease(kube_api, namespace, "contended") or _none()).holder
    assert holder == f"c{won.index(True)}"


def holder(api: ApiClient, namespace: str, name: str) -> str | None:
    lease = read_lease(api, namespace, name)
    return lease.holder if lease is not None else "(no Lease)"


def _none() -> object:
    raise AssertionError("not found")
