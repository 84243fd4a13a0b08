"""Topology benchmark: the CPU one OSD map epoch costs, parsing the synthetic 3,000-OSD cluster's
``osd tree`` and ``osd dump`` (the same answers as bench/scale_bench.py) into the failure-domain
topology and the OSD evidence, as ``handlers/ceph/view.py`` does each time the epoch moves (during
a rolling maintenance every noout change moves it).

    .venv/bin/python bench/topology_bench.py [--hosts 1000] [--repeat 5]

Prints the best of ``--repeat`` runs of each step in CPU seconds.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable

import _common  # noqa: F401 - puts operator/ on sys.path
from synthetic_ceph import SyntheticCeph

from caretaker.clients.ceph.models import OsdTree
from caretaker.clients.ceph.parsing import parse_osd_dump, parse_osd_tree
from caretaker.handlers.ceph.topology import osd_evidence, topology_of


def best(step: Callable[[OsdTree], object], tree_json: object, repeat: int) -> float:
    """On a freshly parsed tree each time (a new epoch's tree has no cached indexes)."""
    times = []
    for _ in range(repeat):
        tree = parse_osd_tree(tree_json)
        started = time.process_time()
        step(tree)
        times.append(time.process_time() - started)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--hosts", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    ceph = SyntheticCeph([f"node-{i:04d}" for i in range(args.hosts)])
    tree_json = json.loads(ceph.answer(json.dumps({"prefix": "osd tree", "format": "json"}))[1])
    dump_json = json.loads(ceph.answer(json.dumps({"prefix": "osd dump", "format": "json"}))[1])
    osd_map = parse_osd_dump(dump_json)
    steps: dict[str, Callable[[OsdTree], object]] = {
        "parse osd tree": lambda _: parse_osd_tree(tree_json),
        "parse osd dump": lambda _: parse_osd_dump(dump_json),
        "topology (ancestry of every OSD)": lambda tree: topology_of(tree, osd_map, (), "host"),
        "OSD evidence (hosts of every OSD)": lambda tree: osd_evidence(tree, osd_map, {}, ()),
    }
    print(f"{len(osd_map.osds)} OSDs in {args.hosts} hosts; best of {args.repeat}, CPU s")
    for name, step in steps.items():
        print(f"  {name:<36} {best(step, tree_json, args.repeat):8.3f}")


if __name__ == "__main__":
    main()
