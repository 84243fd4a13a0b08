"""One node list for every loop: shared for a second, taken again after any node write."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from caretaker.clients.kube import nodes as kube_nodes
from caretaker.clients.kube.node_list import SharedNodeList
from caretaker.clients.kube.nodes import NodeInfo


class FakeApi:
    def __init__(self) -> None:
        self.lists, self.writes, self.now = 0, 0, 100.0
        self.cordoned = False

    def list_all(self) -> list[NodeInfo]:
        self.lists += 1
        time.sleep(0.01)  # a list takes a while: loops asking meanwhile wait for it
        return [NodeInfo("n1", self.cordoned, {}, ())]


def shared(api: FakeApi) -> SharedNodeList:
    return SharedNodeList(
        api.list_all, max_age=1.0, clock=lambda: api.now, writes=lambda: api.writes
    )


def test_a_list_serves_every_loop_for_max_age_then_is_taken_again() -> None:
    api = FakeApi()
    nodes = shared(api)
    assert nodes.get() == nodes.get()
    api.now += 0.9
    nodes.get()
    assert api.lists == 1
    api.now += 0.2
    nodes.get()
    assert api.lists == 2


def test_a_node_write_of_this_process_makes_the_next_get_list_again() -> None:
    """A loop that has just cordoned must not decide on a list taken before its cordon."""
    api = FakeApi()
    nodes = shared(api)
    assert not nodes.get()[0].unschedulable
    api.cordoned, api.writes = True, api.writes + 1  # the cordon patch went out
    assert nodes.get()[0].unschedulable
    assert api.lists == 2


def test_loops_asking_together_share_one_list() -> None:
    api = FakeApi()
    nodes = shared(api)
    start = threading.Barrier(8)

    def one_loop() -> int:
        start.wait()
        return len(nodes.get())

    with ThreadPoolExecutor(8) as pool:
        assert list(pool.map(lambda _: one_loop(), range(8))) == [1] * 8
    assert api.lists == 1


def test_every_node_patch_counts_as_a_write(monkeypatch: pytest.MonkeyPatch) -> None:
    answer = {"metadata": {"name": "n1"}, "spec": {"unschedulable": True}}
    monkeypatch.setattr(kube_nodes, "request_json", lambda *args, **kwargs: answer)
    before = kube_nodes.node_writes()
    kube_nodes._patch_node(None, "n1", {"spec": {"unschedulable": True}})  # type: ignore[arg-type]
    assert kube_nodes.node_writes() == before + 1
