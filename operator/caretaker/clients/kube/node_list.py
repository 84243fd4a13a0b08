"""Every Node, for all the loops of one process, parsed once per change.

With a fresh node informer (``watched`` gives its generation) the parsed list is kept until the
informer stores a change, this process's own cordons included. Without one, the nodes are
listed at most once per ``max_age`` (at 1,000 nodes a list is about 1 MB of JSON) and listed
again at once after this process patched any node, so a loop never decides on a list taken
before its own cordon or uncordon. Loops that ask while a list is under way wait and share it."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from caretaker.clients.kube.nodes import NodeInfo, node_writes

MAX_AGE_SECONDS = 1.0


def unwatched() -> int | None:
    return None


class SharedNodeList:
    def __init__(
        self,
        list_all: Callable[[], list[NodeInfo]],
        *,
        max_age: float = MAX_AGE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        writes: Callable[[], int] = node_writes,
        watched: Callable[[], int | None] = unwatched,
    ) -> None:
        self._list_all, self._max_age, self._clock, self._writes = list_all, max_age, clock, writes
        self.watched = watched
        self._lock = threading.Lock()
        self._cached: tuple[float, tuple[int, int | None], list[NodeInfo]] | None = None

    def get(self) -> list[NodeInfo]:
        with self._lock:
            token = (self._writes(), self.watched())
            if self._cached is not None:
                listed_at, cached_token, nodes = self._cached
                in_time = token[1] is not None or self._clock() - listed_at < self._max_age
                if cached_token == token and in_time:
                    return nodes
            listed_at = self._clock()
            nodes = self._list_all()
            self._cached = (listed_at, token, nodes)
            return nodes
