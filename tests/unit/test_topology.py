"""Failure domains from the CRUSH map and the pools' rules (caretaker.domain.ceph.topology)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from caretaker.domain.ceph.topology import (
    REFUSED,
    PoolPlacement,
    Topology,
    node_failure_domain,
    osd_failure_domain,
)

# root default > rack-ab > hosts a, b; root default > host c (no rack); osd.N on host N
ANCESTRY = {
    0: (("host", "a"), ("rack", "rack-ab"), ("root", "default")),
    1: (("host", "b"), ("rack", "rack-ab"), ("root", "default")),
    2: (("host", "c"), ("root", "default")),
}
BY_HOST = PoolPlacement("rbd", "host", frozenset({0, 1, 2}))
BY_RACK = PoolPlacement("racked", "rack", frozenset({0, 1, 2}))


def test_one_pool_by_host_makes_each_host_a_domain() -> None:
    topology = Topology(ANCESTRY, (BY_HOST,))
    assert [osd_failure_domain(topology, i) for i in (0, 1, 2)] == ["a", "b", "c"]


def test_the_coarsest_rule_of_the_pools_on_an_osd_wins() -> None:
    topology = Topology(ANCESTRY, (BY_HOST, BY_RACK))
    assert osd_failure_domain(topology, 0) == "rack-ab"
    assert osd_failure_domain(topology, 1) == "rack-ab"
    assert node_failure_domain(topology, "a", (0,)).domain == "rack-ab"
    # host c is in no rack: the rack rule cannot place PGs on it; the host rule says host
    assert osd_failure_domain(topology, 2) == "c"


def test_a_pool_counts_only_on_the_osds_its_rule_can_reach() -> None:
    only_b = PoolPlacement("ssd", "rack", frozenset({1}))
    topology = Topology(ANCESTRY, (BY_HOST, only_b))
    assert osd_failure_domain(topology, 0) == "a"
    assert osd_failure_domain(topology, 1) == "rack-ab"


def test_the_setting_counts_only_when_no_pool_says() -> None:
    assert osd_failure_domain(Topology(ANCESTRY, (), fallback_type="rack"), 0) == "rack-ab"
    assert osd_failure_domain(Topology(ANCESTRY, (BY_HOST,), fallback_type="rack"), 0) == "a"
    # a type with no bucket above the OSD: its host, the least that can be assumed
    assert osd_failure_domain(Topology(ANCESTRY, (), fallback_type="row"), 2) == "c"
    assert osd_failure_domain(Topology(ANCESTRY, (BY_HOST,)), 7) == ""


def test_a_node_without_osds_is_its_own_domain() -> None:
    assert node_failure_domain(Topology(ANCESTRY, (BY_HOST,)), "x", ()).domain == "node/x"


def test_a_node_whose_osds_are_in_two_domains_is_refused() -> None:
    placed = node_failure_domain(Topology(ANCESTRY, (BY_HOST,)), "a", (0, 2))
    assert placed.refused
    assert placed.domain == ""
    assert placed.problem.startswith(f"{REFUSED}a: ")
    assert "its OSDs are in 2 failure domains (a: osd.0; c: osd.2)" in placed.problem


racks = st.lists(st.integers(0, 3), min_size=1, max_size=8)


@given(racks, st.sampled_from(["host", "rack"]), st.booleans())
def test_osds_sharing_a_domain_share_the_bucket_of_the_coarsest_type(
    rack_of: list[int], fine: str, with_rack_pool: bool
) -> None:
    ancestry = {
        i: (("host", f"h{i}"), ("rack", f"r{rack}"), ("root", "default"))
        for i, rack in enumerate(rack_of)
    }
    every = frozenset(ancestry)
    pools = [PoolPlacement("p", fine, every)]
    if with_rack_pool:
        pools.append(PoolPlacement("q", "rack", every))
    topology = Topology(ancestry, tuple(pools))
    coarse = with_rack_pool or fine == "rack"
    for i, rack in enumerate(rack_of):
        assert osd_failure_domain(topology, i) == (f"r{rack}" if coarse else f"h{i}")
