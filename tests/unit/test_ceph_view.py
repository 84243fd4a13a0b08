"""One read of Ceph for every feature: ``status`` each round, the OSD map and what hangs on it
(tree, rules, OSD metadata) again only when the epoch moves; read with the operator's own
client against the synthetic Ceph of the scale benchmark (3,000 OSDs in 1,000 hosts)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from test_synthetic_ceph import HOSTS, SyntheticCeph, SyntheticClient

from caretaker.handlers.ceph import view
from caretaker.handlers.ceph.view import read_cluster

MAP_COMMANDS = ("osd dump", "osd tree", "osd metadata", "osd crush rule dump")


def test_the_osd_map_is_read_again_only_when_its_epoch_moves() -> None:
    ceph = SyntheticCeph(HOSTS)
    client = SyntheticClient(ceph)
    hostnames = dict.fromkeys(HOSTS, "")
    first = read_cluster(client, fallback_type="host", hostnames=hostnames)
    assert [ceph.counts[c] for c in MAP_COMMANDS] == [1, 1, 1, 1]
    again = read_cluster(client, fallback_type="host", hostnames=hostnames)
    assert ceph.counts["status"] == 2
    assert [ceph.counts[c] for c in MAP_COMMANDS] == [1, 1, 1, 1]  # the same epoch: no re-read
    assert again.osd_up == first.osd_up
    assert again.osds_of(HOSTS[7]) == first.osds_of(HOSTS[7]) != ()
    client.add_noout(first.osds_of(HOSTS[7]))  # a new OSD map (the client reads one to check)
    dumps = ceph.counts["osd dump"]
    after = read_cluster(client, fallback_type="host", hostnames=hostnames)
    assert ceph.counts["osd dump"] == dumps + 1
    assert set(first.osds_of(HOSTS[7])) <= after.noout_osds
    # another fallback type is another topology: never mixed up
    read_cluster(client, fallback_type="rack", hostnames=hostnames)
    assert ceph.counts["osd dump"] == dumps + 2


def test_loops_starting_together_read_a_new_map_once() -> None:
    """150 loops start at once: one reads and parses the map, the others take its result."""
    view._by_fsid.clear()
    ceph = SyntheticCeph(HOSTS[:60])
    hostnames = dict.fromkeys(HOSTS[:60], "")
    start = threading.Barrier(8)

    def one_loop() -> int:
        start.wait()
        return len(
            read_cluster(SyntheticClient(ceph), fallback_type="host", hostnames=hostnames).osd_up
        )

    with ThreadPoolExecutor(8) as pool:
        sizes = list(pool.map(lambda _: one_loop(), range(8)))
    assert sizes == [180] * 8
    assert ceph.counts["status"] == 8
    assert [ceph.counts[c] for c in MAP_COMMANDS] == [1, 1, 1, 1]


def test_which_node_carries_which_osd_is_matched_once_per_map_and_node_list() -> None:
    view._by_fsid.clear()
    ceph = SyntheticCeph(HOSTS[:30])
    client = SyntheticClient(ceph)
    hostnames = dict.fromkeys(HOSTS[:30], "")
    first = read_cluster(client, fallback_type="host", hostnames=hostnames)
    placements = dict(view._placements)
    again = read_cluster(client, fallback_type="host", hostnames=hostnames)
    assert again.node_osds == first.node_osds
    assert view._placements == placements  # taken from the first round
    fewer = {name: label for name, label in hostnames.items() if name != HOSTS[3]}
    narrower = read_cluster(client, fallback_type="host", hostnames=fewer)
    assert HOSTS[3] not in narrower.node_osds  # another node list: matched again
    assert narrower.osds_of(HOSTS[4]) == first.osds_of(HOSTS[4])
    client.add_noout(first.osds_of(HOSTS[4]))  # a new OSD map: matched again on it
    read_cluster(client, fallback_type="host", hostnames=hostnames)
    key = (tuple(sorted(hostnames.items())), ())
    assert view._placements[key].facts is not placements[key].facts
