"""Every Node, for all the loops of one process: listed at most once per ``max_age`` (at 1,000
nodes a list is about 1 MB of JSON, and each Maintenance round and node-evicting policy round
needs one), and listed again at once after this process patched any node, so a loop never
decides on a list taken before its own cordon or uncordon. Loops that ask while a list is under
way wait for it and share it."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from caretaker.clients.kube.nodes import NodeInfo, node_writes

MAX_AGE_SECONDS = 1.0


class SharedNodeList:
    def __init__(
        self,
        list_all: Callable[[], list[NodeInfo]],
        *,
        max_age: float = MAX_AGE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        writes: Callable[[], int] = node_writes,
    ) -> None:
        self._list_all, self._max_age, self._clock, self._writes = list_all, max_age, clock, writes
        self._lock = threading.Lock()
        self._cached: tuple[float, int, list[NodeInfo]] | None = None

    def get(self) -> list[NodeInfo]:
        with self._lock:
            if self._cached is not None:
                listed_at, writes, nodes = self._cached
                if writes == self._writes() and self._clock() - listed_at < self._max_age:
                    return nodes
            listed_at, writes = self._clock(), self._writes()
            nodes = self._list_all()
            self._cached = (listed_at, writes, nodes)
            return nodes
