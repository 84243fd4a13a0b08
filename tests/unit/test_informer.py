"""The informer's store and the read cache's routing, without a server: lists and watch events
are scripted, the clock is a number."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from caretaker.clients.kube.api import KubeApiError
from caretaker.clients.kube.informer import STALE_SECONDS, Informer
from caretaker.clients.kube.read_cache import Collection, KubeReadCache


def obj(name: str, version: int, namespace: str = "ns", **extra: Any) -> dict[str, Any]:
    meta = {"name": name, "namespace": namespace, "resourceVersion": str(version)}
    return {"kind": "Lease", "metadata": meta, **extra}


class Script:
    """A list answer and, per watch, the events it delivers."""

    def __init__(self, items: list[dict[str, Any]], version: str = "10") -> None:
        self.items, self.version = items, version
        self.watches: list[list[dict[str, Any]]] = []
        self.watched_from: list[str] = []
        self.lists = 0

    def list_all(self) -> tuple[list[dict[str, Any]], str]:
        self.lists += 1
        return list(self.items), self.version

    def watch(self, version: str) -> Iterator[dict[str, Any]]:
        self.watched_from.append(version)
        return iter(self.watches.pop(0) if self.watches else [])


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def informer(script: Script, clock: Clock | None = None) -> Informer:
    return Informer("leases", script.list_all, script.watch, clock=clock or Clock())


def test_a_watch_event_never_replaces_a_newer_version_written_by_this_process() -> None:
    script = Script([obj("a", 5)])
    inf = informer(script)
    inf.relist()
    inf.remember(obj("a", 12, spec={"holderIdentity": "me"}))
    script.watches.append([{"type": "MODIFIED", "object": obj("a", 8)}])
    assert inf.follow("10") == "8"
    stored = inf.get(("ns", "a"))
    assert stored is not None
    assert stored["metadata"]["resourceVersion"] == "12"
    script.watches.append([{"type": "MODIFIED", "object": obj("a", 13)}])
    inf.follow("8")
    assert (inf.get(("ns", "a")) or {})["metadata"]["resourceVersion"] == "13"


def test_a_relist_keeps_what_this_process_wrote_after_the_list_was_taken() -> None:
    script = Script([obj("a", 5), obj("b", 6)])
    inf = informer(script)
    inf.relist()
    inf.remember(obj("a", 20))
    script.items = [obj("a", 7)]  # b deleted meanwhile; a listed before our write
    inf.relist()
    assert (inf.get(("ns", "a")) or {})["metadata"]["resourceVersion"] == "20"
    assert inf.get(("ns", "b")) is None


def test_deleted_and_expired_watches() -> None:
    script = Script([obj("a", 5)])
    inf = informer(script)
    inf.relist()
    script.watches.append([{"type": "DELETED", "object": obj("a", 9)}])
    inf.follow("10")
    assert inf.get(("ns", "a")) is None
    script.watches.append([{"type": "ERROR", "object": {"code": 410, "message": "too old"}}])
    assert inf.follow("10") == ""  # list again
    script.watches.append([{"type": "ERROR", "object": {"code": 500, "message": "boom"}}])
    with pytest.raises(KubeApiError):
        inf.follow("10")


def test_fresh_only_while_a_watch_is_open_and_recent() -> None:
    clock = Clock()
    script = Script([obj("a", 5)])
    inf = informer(script, clock)
    assert not inf.fresh()
    inf.relist()
    assert not inf.fresh()  # listed, but no watch open yet
    seen: list[bool] = []

    def events(_: str) -> Iterator[dict[str, Any]]:
        seen.append(inf.fresh())
        clock.now += STALE_SECONDS + 1
        seen.append(inf.fresh())  # nothing heard for too long
        yield {"type": "BOOKMARK", "object": {"metadata": {"resourceVersion": "11"}}}
        seen.append(inf.fresh())

    inf._watch = events
    assert inf.follow("10") == "11"
    assert seen == [True, False, True]
    assert not inf.fresh()  # the watch ended


def test_a_forgotten_object_is_unknown_until_the_server_answers_for_it() -> None:
    script = Script([obj("a", 5)])
    inf = informer(script)
    inf.relist()
    inf.forget(("ns", "a"))  # a compare-and-swap lost: the server has a newer version
    assert not inf.knows(("ns", "a"))
    script.watches.append([{"type": "MODIFIED", "object": obj("a", 6)}])
    inf.follow("10")  # the watch may still be behind the version that won
    assert not inf.knows(("ns", "a"))
    inf.remember(obj("a", 9))  # the retry's read of the server
    assert inf.knows(("ns", "a"))
    inf.forget(("ns", "b"))
    inf.absent(("ns", "b"))
    assert inf.knows(("ns", "b"))
    assert inf.get(("ns", "b")) is None


def test_copies_are_returned_and_large_fields_dropped() -> None:
    node = {
        "kind": "Node",
        "metadata": {"name": "n1", "resourceVersion": "3", "managedFields": [{"x": 1}]},
        "status": {"images": ["big"], "nodeInfo": {"bootID": "b"}},
    }
    script = Script([node])
    inf = informer(script)
    inf.relist()
    got = inf.get(("", "n1"))
    assert got is not None
    assert "managedFields" not in got["metadata"]
    assert got["status"] == {"nodeInfo": {"bootID": "b"}}
    got["status"]["nodeInfo"]["bootID"] = "changed"
    assert (inf.get(("", "n1")) or {})["status"]["nodeInfo"]["bootID"] == "b"


class FakeInformer:
    def __init__(self, objects: dict[tuple[str, str], dict[str, Any]], fresh: bool = True) -> None:
        self.objects, self.is_fresh = objects, fresh
        self.remembered: list[dict[str, Any]] = []
        self.forgotten: list[tuple[str, str]] = []
        self.absents: list[tuple[str, str]] = []
        self.unknown: set[tuple[str, str]] = set()

    def fresh(self) -> bool:
        return self.is_fresh

    def get(self, key: tuple[str, str]) -> dict[str, Any] | None:
        return self.objects.get(key)

    def items(self, namespace: str | None) -> list[dict[str, Any]]:
        return [o for k, o in sorted(self.objects.items()) if namespace in (None, k[0])]

    def remember(self, o: dict[str, Any]) -> None:
        self.remembered.append(o)

    def forget(self, key: tuple[str, str]) -> None:
        self.forgotten.append(key)

    def absent(self, key: tuple[str, str]) -> None:
        self.absents.append(key)

    def knows(self, key: tuple[str, str]) -> bool:
        return key not in self.unknown


LEASES = "/apis/coordination.k8s.io/v1/namespaces/ns/leases"
MNTS = "/apis/caretaker.dev/v1alpha1"


def cache(fake: FakeInformer, collection: Collection) -> KubeReadCache:
    return KubeReadCache([(collection, fake)])  # type: ignore[list-item]


def test_routing_of_reads() -> None:
    lease = obj("a", 5)
    fake = FakeInformer({("ns", "a"): lease, ("other", "b"): obj("b", 6, "other")})
    reads = cache(fake, Collection("/apis/coordination.k8s.io/v1", "leases", "ns"))
    assert reads.answer("GET", LEASES + "/a", {}) == lease
    with pytest.raises(KubeApiError) as missing:
        reads.answer("GET", LEASES + "/missing", {})  # absent as far as the watch knows
    assert missing.value.not_found
    fake.unknown.add(("ns", "a"))
    assert reads.answer("GET", LEASES + "/a", {}) is None  # forgotten: the server decides
    fake.unknown.clear()
    assert reads.answer("GET", LEASES, {"limit": "500"}) == {
        "kind": "List",
        "metadata": {},
        "items": [lease],
    }
    assert reads.answer("GET", LEASES, {"labelSelector": "x=y"}) is None  # selectors: server
    assert reads.answer("PATCH", LEASES + "/a", {}) is None
    other_ns = "/apis/coordination.k8s.io/v1/namespaces/other/leases/b"
    assert reads.answer("GET", other_ns, {}) is None  # not a namespace this informer keeps
    assert reads.answer("GET", "/api/v1/nodes/n1", {}) is None
    fake.is_fresh = False
    assert reads.answer("GET", LEASES + "/a", {}) is None


def test_every_namespace_informer_answers_one_namespace_and_all() -> None:
    one = obj("m1", 5, "team-a", kind="Maintenance")
    two = obj("m2", 6, "team-b", kind="Maintenance")
    fake = FakeInformer({("team-a", "m1"): one, ("team-b", "m2"): two})
    reads = cache(fake, Collection(MNTS, "maintenances"))
    listed = reads.answer("GET", f"{MNTS}/namespaces/team-a/maintenances", {})
    assert listed is not None
    assert listed["items"] == [one]
    everything = reads.answer("GET", f"{MNTS}/maintenances", {})
    assert everything is not None
    assert everything["items"] == [one, two]
    assert reads.answer("GET", f"{MNTS}/namespaces/team-b/maintenances/m2/status", {}) is None


def test_answers_teach_the_informer() -> None:
    fake = FakeInformer({})
    reads = cache(fake, Collection("/api/v1", "nodes"))
    node = {"kind": "Node", "metadata": {"name": "n1", "resourceVersion": "9"}}
    reads.answered("PATCH", "/api/v1/nodes/n1", node)
    reads.answered("GET", "/api/v1/nodes/n1", node)
    reads.answered("GET", "/api/v1/nodes", {"kind": "NodeList", "items": [node]})  # not a node
    reads.answered("POST", "/api/v1/nodes/n1/proxy", {"kind": "Status", "metadata": {}})
    assert fake.remembered == [node, node]
    reads.failed("PATCH", "/api/v1/nodes/n1", 409)
    reads.failed("GET", "/api/v1/nodes/n2", 404)
    reads.failed("PATCH", "/api/v1/nodes/n3", 500)  # a server error says nothing of the node
    reads.answered("DELETE", "/api/v1/nodes/n4", {"kind": "Status"})
    assert fake.forgotten == [("", "n1"), ("", "n4")]
    assert fake.absents == [("", "n2")]
    eviction = "/api/v1/namespaces/ns/pods/p/eviction"
    reads.answered("POST", eviction, {"kind": "Status", "metadata": {}})  # pods: not kept
    assert len(fake.remembered) == 2
