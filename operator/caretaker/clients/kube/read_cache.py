"""Reads answered from informers, for every caller of ``request_json`` at once.

``KubeReadCache`` is attached to the operator's ApiClient (``attach_read_cache``). A GET of an
object, or a list without selectors, in a collection that a fresh informer keeps is answered
from memory; everything else goes to the server as before. The answers of the requests that
went to the server teach the informers (an object written or read is stored; a 404 or 409 of
a write forgets it). Callers do not change: a compare-and-swap that lost to a newer version
gets 409, which makes its retry read from the server.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

from kubernetes.client import ApiClient

from caretaker.clients.kube.api import (
    JsonObject,
    KubeApiError,
    ReadCache,
    api_path,
    attach_read_cache,
    request_json,
    watch_events,
)
from caretaker.clients.kube.informer import WATCH_TIMEOUT_SECONDS, Informer

WRITES = frozenset({"POST", "PUT", "PATCH"})
PAGING = frozenset({"limit", "continue"})  # a cached list is answered whole, on one page


@dataclass(frozen=True)
class Collection:
    """Objects of one resource: ``base`` is "/api/v1" or "/apis/<group>/<version>";
    ``namespace`` None for every namespace (or a cluster-scoped resource)."""

    base: str
    plural: str
    namespace: str | None = None

    @property
    def path(self) -> str:
        if self.namespace is None:
            return f"{self.base}/{self.plural}"
        return self.base + api_path("/namespaces/{}/", self.namespace) + self.plural


@dataclass(frozen=True)
class _Target:
    """What a request path names."""

    base: str
    plural: str
    namespace: str | None
    name: str | None
    subresource: str | None


def informer_for(api: ApiClient, collection: Collection) -> Informer:
    """An informer (not started) that lists and watches ``collection`` through ``api``."""

    def list_all() -> tuple[list[JsonObject], str]:
        items: list[JsonObject] = []
        query: dict[str, str] = {"limit": "500"}
        while True:
            page = request_json(api, "GET", collection.path, query=query, cached=False)
            items.extend(page.get("items") or [])
            meta = page.get("metadata") or {}
            if not meta.get("continue"):
                return items, str(meta.get("resourceVersion") or "")
            query["continue"] = str(meta["continue"])

    def watch(version: str) -> Iterator[JsonObject]:
        query = {
            "resourceVersion": version,
            "allowWatchBookmarks": "true",
            "timeoutSeconds": str(WATCH_TIMEOUT_SECONDS),
        }
        return watch_events(api, collection.path, query, read_timeout=WATCH_TIMEOUT_SECONDS + 15)

    return Informer(collection.path, list_all, watch)


class KubeReadCache(ReadCache):
    def __init__(self, kept: list[tuple[Collection, Informer]]) -> None:
        self._kept = kept

    def answer(self, method: str, path: str, query: dict[str, str]) -> JsonObject | None:
        if method != "GET" or set(query) - PAGING:
            return None
        target = _parse(path)
        if target is None or target.subresource is not None:
            return None
        informer = self._informer(target)
        if informer is None or not informer.fresh():
            return None
        if target.name is None:
            return {"kind": "List", "metadata": {}, "items": informer.items(target.namespace)}
        key = (target.namespace or "", target.name)
        if not informer.knows(key):
            return None  # forgotten after a failed write: the server decides
        found = informer.get(key)
        if found is None:
            # absent as far as the watch knows: a create that races another writer gets 409
            raise KubeApiError(404, "NotFound", f'{target.plural} "{target.name}" not found')
        return found

    def answered(self, method: str, path: str, result: JsonObject) -> None:
        target = _parse(path)
        if target is None:
            return
        informer = self._informer(target)
        if informer is None:
            return
        if method == "DELETE" and target.name is not None:
            informer.forget((target.namespace or "", target.name))
        elif (method in WRITES or (method == "GET" and target.name is not None)) and (
            (result.get("metadata") or {}).get("name")
            and (target.subresource in (None, "status"))
            and result.get("kind") not in (None, "Status")
        ):
            informer.remember(result)

    def failed(self, method: str, path: str, status: int) -> None:
        target = _parse(path)
        if target is None or target.name is None or status not in (404, 409):
            return
        informer = self._informer(target)
        if informer is None:
            return
        key = (target.namespace or "", target.name)
        if status == 404 and target.subresource is None:
            informer.absent(key)
        else:
            informer.forget(key)

    def _informer(self, target: _Target) -> Informer | None:
        for collection, informer in self._kept:
            if (collection.base, collection.plural) != (target.base, target.plural):
                continue
            if collection.namespace is None or collection.namespace == target.namespace:
                return informer
        return None


def start_read_cache(
    api: ApiClient, collections: list[Collection], sync_timeout: float
) -> list[Informer]:
    """Starts one informer per collection and attaches them to ``api``; returns the informers
    (each answers only once it has listed its collection)."""
    kept = [(collection, informer_for(api, collection)) for collection in collections]
    for _, informer in kept:
        informer.start()
    deadline = time.monotonic() + sync_timeout  # one wait for all: a resource that cannot be
    for _, informer in kept:  # listed (no CRD, no RBAC) is read from the server meanwhile
        informer.wait_synced(max(0.0, deadline - time.monotonic()))
    attach_read_cache(api, KubeReadCache(kept))
    return [informer for _, informer in kept]


def _parse(path: str) -> _Target | None:
    """Splits "/api/v1/namespaces/ns/pods/name/eviction" and the like; None for other paths."""
    parts = [part for part in path.split("?", maxsplit=1)[0].split("/") if part]
    if parts[:1] == ["api"] and len(parts) >= 3:
        base, rest = "/api/" + parts[1], parts[2:]
    elif parts[:1] == ["apis"] and len(parts) >= 4:
        base, rest = f"/apis/{parts[1]}/{parts[2]}", parts[3:]
    else:
        return None
    namespace = None
    if rest[:1] == ["namespaces"] and len(rest) >= 3:
        namespace, rest = rest[1], rest[2:]
    elif rest[:1] == ["namespaces"]:
        return None  # namespaces themselves are not cached
    plural = rest[0]
    name = rest[1] if len(rest) > 1 else None
    subresource = rest[2] if len(rest) > 2 else None
    return _Target(base, plural, namespace, name, subresource)
