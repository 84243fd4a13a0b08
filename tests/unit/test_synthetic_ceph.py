"""The scale benchmark's synthetic Ceph (bench/synthetic_ceph.py) answers in the recorded shape of
the real cluster's answers and is read correctly by the operator's own Ceph client and parsers:
if either side drifts from the real format, this fails."""

from __future__ import annotations

import errno
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from caretaker.clients.ceph.base import CephClient
from caretaker.clients.ceph.commands import CephCommand, CommandReply
from caretaker.clients.ceph.connection import CephConnection
from caretaker.clients.ceph.errors import OsdNotFound
from caretaker.clients.ceph.models import HealthStatus
from caretaker.clients.ceph.parsing import parse_failure_domain

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from synthetic_ceph import SyntheticCeph, recorded

HOSTS = [f"scale-node-{i:04d}" for i in range(1000)]


class SyntheticClient(CephClient):
    """The operator's client, sending to the synthetic Ceph as the librados backend would."""

    def __init__(self, ceph: SyntheticCeph) -> None:
        super().__init__(CephConnection(conf_path=Path("/dev/null")), retry_attempts=1)
        self.ceph = ceph

    def send(self, command: CephCommand) -> CommandReply:
        ret, output, message = self.ceph.answer(command.to_json())
        return CommandReply(ret=ret, output=output.decode(), message=message)

    def close(self) -> None:
        pass


@pytest.fixture(scope="module")
def ceph() -> SyntheticCeph:
    return SyntheticCeph(HOSTS)


def raw(ceph: SyntheticCeph, prefix: str, **args: Any) -> Any:
    ret, output, _ = ceph.answer(json.dumps({"prefix": prefix, **args, "format": "json"}))
    assert ret == 0
    return json.loads(output)


@pytest.mark.parametrize(
    ("prefix", "name", "entries"),
    [
        ("osd dump", "osd_dump_noout", ("osds", "osd_xinfo", "pools")),
        ("osd tree", "osd_tree", ("nodes",)),
        ("osd df", "osd_df", ("nodes",)),
        ("status", "status_ok", ()),
    ],
)
def test_answers_keep_the_recorded_keys(
    ceph: SyntheticCeph, prefix: str, name: str, entries: tuple[str, ...]
) -> None:
    real, synthetic = recorded(name), raw(ceph, prefix)
    assert set(synthetic) == set(real)
    for key in entries:
        assert {frozenset(e) for e in synthetic[key]} <= {frozenset(e) for e in real[key]}


def test_osd_metadata_keeps_the_recorded_keys(ceph: SyntheticCeph) -> None:
    real = recorded("osd_metadata")
    assert {frozenset(e) for e in raw(ceph, "osd metadata")} == {frozenset(e) for e in real}


def test_the_operator_reads_3000_osds_in_1000_hosts_in_racks(ceph: SyntheticCeph) -> None:
    client = SyntheticClient(ceph)
    osd_map, tree, hostnames = client.osd_dump(), client.osd_tree(), client.osd_hostnames()
    assert len(osd_map.osds) == 3000
    assert all(state.up and state.in_cluster for state in osd_map.osds.values())
    hosts = tree.osds_by_bucket("host")
    assert set(hosts) == set(HOSTS)
    assert all(len(osds) == 3 for osds in hosts.values())
    assert {hostnames[osd] for osd in hosts["scale-node-0007"]} == {"scale-node-0007"}
    assert len(tree.osds_by_bucket("rack")) == 5
    (rule,) = client.crush_rules()
    assert rule.failure_domain_type == "rack"
    assert parse_failure_domain(raw(ceph, "osd crush rule dump", name=rule.name)) == "rack"
    status = client.status()
    assert (status.num_osds, status.num_up_osds, status.num_in_osds) == (3000, 3000, 3000)
    assert status.pgs.by_state == {"active+clean": status.pgs.total}


def test_noout_set_by_the_operator_shows_in_the_map_and_in_health() -> None:
    client = SyntheticClient(SyntheticCeph(HOSTS[:30]))
    assert client.status().health.status is HealthStatus.OK
    client.add_noout([3, 4, 5])
    client.set_group_noout("scale-node-0009")
    osd_map = client.osd_dump()
    assert osd_map.osds_with("noout") == {3, 4, 5}
    assert osd_map.buckets_with("noout") == {"scale-node-0009"}
    health = client.status().health
    assert health.status is HealthStatus.WARN
    assert [c.name for c in health.checks] == ["OSD_FLAGS"]
    client.rm_noout([3, 4, 5])
    client.unset_group_noout("scale-node-0009")
    assert client.osd_dump().osds_with("noout") == frozenset()
    assert client.status().health.status is HealthStatus.OK
    client.set_flag("noout")
    assert "noout" in client.cluster_flags()
    assert client.status().health.status is HealthStatus.WARN


def test_ok_to_stop_within_one_rack_only() -> None:
    ceph = SyntheticCeph(HOSTS[:30])  # racks of 6 hosts: OSDs 0-17 in rack-0
    client = SyntheticClient(ceph)
    assert client.ok_to_stop([0, 1, 2, 17]).ok_to_stop
    refused = client.ok_to_stop([0, 18])
    assert not refused.ok_to_stop
    assert refused.bad_become_inactive
    assert "unsafe to stop" in refused.message
    ret, _, _ = ceph.answer(json.dumps({"prefix": "osd ok-to-stop", "ids": ["0", "18"]}))
    assert ret == -errno.EBUSY
    # the ids are checked with `osd ls`, not with the whole OSD map
    assert (ceph.counts["osd ls"], ceph.counts["osd dump"]) == (2, 0)


def test_unknown_osds_and_commands_are_errors() -> None:
    ceph = SyntheticCeph(HOSTS[:3])
    with pytest.raises(OsdNotFound):
        SyntheticClient(ceph).ok_to_stop([42])
    ret, _, message = ceph.answer(json.dumps({"prefix": "osd purge"}))
    assert ret == -errno.EINVAL
    assert "osd purge" in message
    assert ceph.counts["osd purge"] == 1
