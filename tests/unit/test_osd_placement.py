"""Which node carries which OSD (caretaker.domain.ceph.osd_placement): never diskless by mistake."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from caretaker.domain.ceph.osd_placement import (
    NodeOsds,
    OsdEvidence,
    OsdPod,
    map_osds_to_nodes,
    rook_crush_name,
)

NODES = {"ct-node-a": "ct-node-a", "ct-node-b": "ct-node-b", "ct-node-c": ""}
KNOWN = frozenset({0, 1, 2})


def test_rook_layout_maps_by_exact_names() -> None:
    evidence = OsdEvidence(
        KNOWN,
        metadata_host={0: "ct-node-a", 1: "ct-node-b", 2: "ct-node-c"},
        crush_host={0: "ct-node-a", 1: "ct-node-b", 2: "ct-node-c"},
        pods=(OsdPod("rook-ceph/osd-0", "ct-node-a", 0),),
    )
    placed = map_osds_to_nodes(NODES, evidence)
    assert placed == {
        "ct-node-a": NodeOsds((0,)),
        "ct-node-b": NodeOsds((1,)),
        "ct-node-c": NodeOsds((2,)),
    }


def test_rooks_crush_host_of_a_dotted_hostname_label() -> None:
    nodes = {"node-a.example.com": "node-a.example.com", "other": "other"}
    evidence = OsdEvidence(frozenset({5}), crush_host={5: "node-a-example-com"})
    assert map_osds_to_nodes(nodes, evidence)["node-a.example.com"] == NodeOsds((5,))
    assert rook_crush_name("node-a.example.com") == "node-a-example-com"


def test_a_hostname_label_other_than_the_node_name() -> None:
    nodes = {"i-0abc.eu-west-1.compute.internal": "storage-1", "x": "x"}
    evidence = OsdEvidence(frozenset({3}), crush_host={3: "storage-1"})
    assert map_osds_to_nodes(nodes, evidence)["i-0abc.eu-west-1.compute.internal"].osds == (3,)


def test_an_fqdn_node_and_a_short_ceph_host_map_when_only_one_node_fits() -> None:
    nodes = {"store-1.dc.example": "", "store-2.dc.example": ""}
    evidence = OsdEvidence(frozenset({0}), metadata_host={0: "STORE-1"}, crush_host={0: "STORE-1"})
    placed = map_osds_to_nodes(nodes, evidence)
    assert placed["store-1.dc.example"].osds == (0,)
    assert placed["store-1.dc.example"].matched == "osd.0 by host name STORE-1"
    assert placed["store-2.dc.example"] == NodeOsds()


def test_an_fqdn_metadata_hostname_does_not_hide_the_exact_crush_host() -> None:
    evidence = OsdEvidence(
        frozenset({0}), metadata_host={0: "ct-node-a.caretaker.test"}, crush_host={0: "ct-node-a"}
    )
    assert map_osds_to_nodes(NODES, evidence)["ct-node-a"] == NodeOsds((0,))


def test_a_short_name_two_nodes_share_refuses_both() -> None:
    nodes = {"store-1.dc1.example": "", "store-1.dc2.example": ""}
    evidence = OsdEvidence(frozenset({0}), crush_host={0: "store-1"})
    placed = map_osds_to_nodes(nodes, evidence)
    for node in nodes:
        assert placed[node].problem == (
            "cannot tell which OSDs it carries: osd.0 matches nodes store-1.dc1.example, "
            "store-1.dc2.example (CRUSH host store-1)"
        )


def test_a_pod_on_one_node_and_ceph_on_another_refuses_both() -> None:
    evidence = OsdEvidence(
        KNOWN,
        metadata_host={0: "ct-node-a"},
        crush_host={0: "ct-node-a"},
        pods=(OsdPod("rook-ceph/rook-ceph-osd-0-x", "ct-node-b", 0),),
    )
    placed = map_osds_to_nodes(NODES, evidence)
    expected = (
        "osd.0 matches nodes ct-node-a, ct-node-b (OSD metadata hostname ct-node-a; CRUSH host "
        "ct-node-a; pod rook-ceph/rook-ceph-osd-0-x on ct-node-b)"
    )
    assert expected in placed["ct-node-a"].problem
    assert expected in placed["ct-node-b"].problem
    assert placed["ct-node-c"] == NodeOsds()


def test_the_osd_pod_alone_places_an_osd_ceph_has_no_host_for() -> None:
    evidence = OsdEvidence(KNOWN, pods=(OsdPod("rook-ceph/osd-2", "ct-node-c", 2),))
    assert map_osds_to_nodes(NODES, evidence)["ct-node-c"] == NodeOsds((2,))


def test_an_osd_pod_ceph_does_not_know_or_without_an_id_refuses_its_node() -> None:
    evidence = OsdEvidence(
        KNOWN,
        pods=(
            OsdPod("rook-ceph/osd-9", "ct-node-c", 9),
            OsdPod("rook-ceph/odd", "ct-node-b", None),
        ),
    )
    placed = map_osds_to_nodes(NODES, evidence)
    assert placed["ct-node-c"].problem == (
        "cannot tell which OSDs it carries: OSD pod rook-ceph/osd-9 runs osd.9, unknown to Ceph"
    )
    assert "OSD pod rook-ceph/odd has no usable ceph-osd-id label" in placed["ct-node-b"].problem


def test_osds_on_machines_that_are_no_nodes_are_nobodys() -> None:
    evidence = OsdEvidence(KNOWN, metadata_host={0: "storage-7"}, crush_host={0: "storage-7"})
    assert all(p == NodeOsds() for p in map_osds_to_nodes(NODES, evidence).values())


names = st.text("abcdefgh-", min_size=1, max_size=6).map(lambda s: f"n{s}")


@given(st.dictionaries(names, st.sampled_from(["", ".example.com", ".EXAMPLE"]), min_size=1))
def test_every_osd_is_on_one_node_or_its_candidates_are_refused(suffix: dict[str, str]) -> None:
    """Ceph hosts are the nodes' names with a varying domain: no OSD is silently lost."""
    nodes = dict.fromkeys(suffix, "")
    hosts = {i: name + domain for i, (name, domain) in enumerate(sorted(suffix.items()))}
    evidence = OsdEvidence(frozenset(hosts), metadata_host=hosts, crush_host=hosts)
    placed = map_osds_to_nodes(nodes, evidence)
    for osd, host in hosts.items():
        carriers = [n for n, p in placed.items() if osd in p.osds]
        refused = [n for n, p in placed.items() if f"osd.{osd} " in p.problem]
        assert len(carriers) == 1 or refused, (osd, host, placed)
        if carriers:
            assert carriers[0] == host.split(".")[0]
