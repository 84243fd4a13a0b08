"""One collection of the API server kept in memory: listed once, then watched.

An ``Informer`` answers reads of its collection (see ``caretaker.clients.kube.read_cache``)
while it is *fresh*: listed, and its watch connected or reconnected within ``STALE_SECONDS``.
Otherwise reads go to the server, as they would without it, so an informer that cannot watch
(no RBAC, a partition) costs requests, never correctness.

Read-your-own-writes: an object this process wrote (the answer of a PATCH, POST or PUT) is
stored at once; a watch event never replaces a newer version with an older one. A write that
got 404 or 409 forgets the object, so the next read (a compare-and-swap retry) asks the server.
"""

from __future__ import annotations

import copy
import logging
import threading
import time
from collections.abc import Callable, Iterator

from caretaker.clients.kube.api import JsonObject, KubeApiError

WATCH_TIMEOUT_SECONDS = 60  # the server ends each watch after this; it is opened again at once
STALE_SECONDS = 90.0  # a watch not (re)connected for this long: reads go to the server
RETRY_SECONDS = 2.0  # after a failed list or watch; doubled after each failure in a row
MAX_RETRY_SECONDS = 300.0  # e.g. no RBAC for the resource: reads go to the server meanwhile
DROPPED_FIELDS = (("metadata", "managedFields"), ("status", "images"))  # large, never read

logger = logging.getLogger(__name__)

Key = tuple[str, str]  # (namespace, name); namespace "" for cluster-scoped objects
Lister = Callable[[], tuple[list[JsonObject], str]]  # every item, and the list's resourceVersion
Watcher = Callable[[str], Iterator[JsonObject]]  # watch events from a resourceVersion


class Informer:
    def __init__(
        self,
        name: str,
        list_all: Lister,
        watch: Watcher,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self._list_all, self._watch, self._clock = list_all, watch, clock
        self._lock = threading.Lock()
        self._objects: dict[Key, JsonObject] = {}
        self._unknown: set[Key] = set()  # forgotten after a 409: only the server knows them
        self._synced = False
        self._watching = False  # a watch is open
        self._alive_at = float("-inf")  # last time the watch was known to be connected
        self._generation = 0  # changes with every stored change
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- reads ----------------------------------------------------------------------------

    def fresh(self) -> bool:
        with self._lock:
            return (
                self._synced and self._watching and self._clock() - self._alive_at < STALE_SECONDS
            )

    @property
    def generation(self) -> int:
        with self._lock:
            return self._generation

    def get(self, key: Key) -> JsonObject | None:
        """A copy of the stored object, or None when it is not stored."""
        with self._lock:
            found = self._objects.get(key)
            return copy.deepcopy(found) if found is not None else None

    def knows(self, key: Key) -> bool:
        """False for an object forgotten since its last write failed: ask the server."""
        with self._lock:
            return key not in self._unknown

    def items(self, namespace: str | None) -> list[JsonObject]:
        """Copies of the stored objects of one namespace (None: all), sorted like a list."""
        with self._lock:
            chosen = [
                obj for key, obj in sorted(self._objects.items()) if namespace in (None, key[0])
            ]
            return copy.deepcopy(chosen)

    # -- what this process wrote ----------------------------------------------------------

    def remember(self, obj: JsonObject) -> None:
        """The server's answer to this process (a write, or a read of a forgotten object)."""
        with self._lock:
            self._unknown.discard(_key(obj))
            self._store(obj)

    def forget(self, key: Key) -> None:
        """This process's view of the object is out of date (a write got 409)."""
        with self._lock:
            self._unknown.add(key)
            if self._objects.pop(key, None) is not None:
                self._generation += 1

    def absent(self, key: Key) -> None:
        """The server said the object does not exist (404)."""
        with self._lock:
            self._unknown.discard(key)
            if self._objects.pop(key, None) is not None:
                self._generation += 1

    # -- the list and the watch -----------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=f"informer-{self.name}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def wait_synced(self, timeout: float) -> bool:
        deadline = self._clock() + timeout
        while self._clock() < deadline:
            if self.fresh():
                return True
            self._stop.wait(0.05)
        return self.fresh()

    def _run(self) -> None:
        version, retry = "", RETRY_SECONDS
        while not self._stop.is_set():
            try:
                if not version:
                    version = self.relist()
                version = self.follow(version)
                retry = RETRY_SECONDS
            except (KubeApiError, OSError, ValueError) as error:
                logger.warning(
                    "watch of %s interrupted (next try in %g s): %s", self.name, retry, error
                )
                self._stop.wait(retry)
                retry = min(retry * 2, MAX_RETRY_SECONDS)

    def relist(self) -> str:
        items, version = self._list_all()
        with self._lock:
            written = self._objects  # what this process wrote meanwhile may be newer
            self._objects = {}
            self._unknown = set()
            for obj in items:
                self._store(obj)
                key = _key(obj)
                if key in written and version_number(written[key]) > version_number(obj):
                    self._objects[key] = written[key]
            self._generation += 1
            self._synced = True
        return version

    def follow(self, version: str) -> str:
        """Applies watch events from ``version`` until the server ends the watch; returns the
        version to go on from ("" when it has expired: list again)."""
        events = self._watch(version)
        self._watching_since_now(True)
        try:
            return self._apply(events, version)
        finally:
            self._watching_since_now(False)

    def _apply(self, events: Iterator[JsonObject], version: str) -> str:
        for event in events:
            kind = event.get("type")
            obj: JsonObject = event.get("object") or {}
            if kind == "ERROR":
                if obj.get("code") == 410:  # too old: the list must be taken again
                    return ""
                raise KubeApiError(int(obj.get("code") or 0), "WatchError", str(obj.get("message")))
            version = str((obj.get("metadata") or {}).get("resourceVersion") or version)
            with self._lock:
                self._alive_at = self._clock()
                if kind in ("ADDED", "MODIFIED"):
                    self._store(obj)
                elif kind == "DELETED" and self._objects.pop(_key(obj), None) is not None:
                    self._generation += 1

            if self._stop.is_set():
                break
        return version

    def _watching_since_now(self, watching: bool) -> None:
        with self._lock:
            self._watching = watching
            self._alive_at = self._clock()

    def _store(self, obj: JsonObject) -> None:
        """Keeps ``obj`` unless a newer version of it is stored already (lock held)."""
        key = _key(obj)
        stored = self._objects.get(key)
        if stored is not None and version_number(stored) > version_number(obj):
            return
        slim = dict(obj)
        for section, field in DROPPED_FIELDS:
            part = slim.get(section)
            if isinstance(part, dict) and field in part:
                slim[section] = {k: v for k, v in part.items() if k != field}
        self._objects[key] = slim
        self._generation += 1


def _key(obj: JsonObject) -> Key:
    meta = obj.get("metadata") or {}
    return str(meta.get("namespace") or ""), str(meta.get("name") or "")


def version_number(obj_or_version: JsonObject | str) -> int:
    """A resourceVersion (of an object, or as text) as a number (etcd's revision); -1 when it
    is not one: then the newest arrival wins."""
    if isinstance(obj_or_version, str):
        text = obj_or_version
    else:
        text = str((obj_or_version.get("metadata") or {}).get("resourceVersion") or "")
    return int(text) if text.isdigit() else -1
