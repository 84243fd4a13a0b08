"""Which OSDs each Kubernetes node carries, from every name Ceph and Rook know it by. Pure.

Ceph names a node in two places: the hostname in each OSD's metadata (on Rook the pod's node
name) and the CRUSH host bucket above it (on Rook the node's ``kubernetes.io/hostname`` label
with dots replaced by dashes). Rook's OSD pods name the node exactly (``spec.nodeName``). A name
that matches exactly (the node's name or hostname label, as is or with Rook's dashes) places the
OSD on that node; otherwise a match ignoring case and domain (``node-a`` for
``node-a.example.com``) does, when it is the only one. The mapping never fails silently: an OSD
that the evidence puts on several nodes, or a Rook OSD pod for an OSD Ceph does not know, makes
the node refused with the evidence, never diskless.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class OsdPod:
    """A Rook OSD pod bound to a node (terminating and finished pods left out)."""

    name: str  # namespace/name
    node: str
    osd: int | None  # its ceph-osd-id label; None when missing or not a number


@dataclass(frozen=True)
class OsdEvidence:
    known: frozenset[int]  # every OSD in Ceph's OSD map
    metadata_host: Mapping[int, str] = field(default_factory=dict)  # OSD metadata "hostname"
    crush_host: Mapping[int, str] = field(default_factory=dict)  # CRUSH host bucket above it
    pods: tuple[OsdPod, ...] = ()


@dataclass(frozen=True)
class NodeOsds:
    osds: tuple[int, ...] = ()
    problem: str = ""  # non-empty: do not touch the node, and this says why
    matched: str = ""  # how the OSDs were matched when not by exact names (for the Events)


def rook_crush_name(name: str) -> str:
    """Rook's NormalizeCrushName: a CRUSH bucket name has no dots."""
    return name.replace(".", "-")


def _exact_names(node: str, hostname: str) -> frozenset[str]:
    names = {node, hostname} - {""}
    return frozenset(names | {rook_crush_name(n) for n in names})


def _loose(name: str) -> str:
    return name.lower().split(".", 1)[0]


def _sources(osd: int, evidence: OsdEvidence) -> list[tuple[str, str]]:
    """(what says it, the host name it says) for one OSD."""
    found = []
    if osd in evidence.metadata_host:
        found.append(("OSD metadata hostname", evidence.metadata_host[osd]))
    if osd in evidence.crush_host:
        found.append(("CRUSH host", evidence.crush_host[osd]))
    return found


def _describe(osd: int, evidence: OsdEvidence, nodes: Iterable[str]) -> str:
    said = [f"{what} {host}" for what, host in _sources(osd, evidence)]
    said += [f"pod {p.name} on {p.node}" for p in evidence.pods if p.osd == osd]
    return f"osd.{osd} matches nodes {', '.join(sorted(nodes))} ({'; '.join(said)})"


def _nodes_by_name(names_of: Mapping[str, Iterable[str]]) -> dict[str, set[str]]:
    """A name -> the nodes that go by it (an index, so each OSD is matched in one lookup)."""
    index: dict[str, set[str]] = {}
    for node, names in names_of.items():
        for name in names:
            index.setdefault(name, set()).add(node)
    return index


def _named(index: Mapping[str, set[str]], names: Iterable[str]) -> set[str]:
    return {node for name in names for node in index.get(name, ())}


def map_osds_to_nodes(hostnames: Mapping[str, str], evidence: OsdEvidence) -> dict[str, NodeOsds]:
    """Node -> the OSDs it carries, or why that cannot be told. ``hostnames``: every node of the
    cluster -> its ``kubernetes.io/hostname`` label ("" without one)."""
    names_of = {node: _exact_names(node, label) for node, label in hostnames.items()}
    exact = _nodes_by_name(names_of)
    loose = _nodes_by_name({node: {_loose(n) for n in names} for node, names in names_of.items()})
    osds: dict[str, list[int]] = {node: [] for node in hostnames}
    loosely: dict[str, list[str]] = {node: [] for node in hostnames}
    problems: dict[str, list[str]] = {node: [] for node in hostnames}
    pod_nodes: dict[int, set[str]] = {}
    for pod in evidence.pods:
        if pod.node not in hostnames:
            continue
        if pod.osd is None:
            problems[pod.node].append(f"OSD pod {pod.name} has no usable ceph-osd-id label")
        elif pod.osd not in evidence.known:
            problems[pod.node].append(f"OSD pod {pod.name} runs osd.{pod.osd}, unknown to Ceph")
        else:
            pod_nodes.setdefault(pod.osd, set()).add(pod.node)
    for osd in sorted(evidence.known):
        hosts = [host for _, host in _sources(osd, evidence)]
        owners = set(pod_nodes.get(osd, ()))
        owners |= _named(exact, hosts)
        how = ""
        if not owners:
            owners = _named(loose, {_loose(h) for h in hosts})
            how = f"osd.{osd} by host name {'/'.join(sorted(set(hosts)))}"
        if len(owners) == 1:
            owner = owners.pop()
            osds[owner].append(osd)
            if how:
                loosely[owner].append(how)
        elif owners:
            for node in owners:
                problems[node].append(_describe(osd, evidence, owners))
    result = {}
    for node in hostnames:
        problem = ""
        if problems[node]:
            problem = f"cannot tell which OSDs it carries: {'; '.join(problems[node])}"
        result[node] = NodeOsds(tuple(sorted(osds[node])), problem, ", ".join(loosely[node]))
    return result
