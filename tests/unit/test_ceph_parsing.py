"""Parsing of real Ceph 16.2 answers (captured from the testbed: tests/unit/data/ceph/), the command
definitions both backends share, and how replies become results or typed errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from caretaker.clients.ceph import commands
from caretaker.clients.ceph.cli_backend import reply_from_cli
from caretaker.clients.ceph.commands import CommandReply
from caretaker.clients.ceph.errors import (
    CephCommandError,
    CephUnavailable,
    OsdNotFound,
    RookDiscoveryError,
)
from caretaker.clients.ceph.models import HealthStatus
from caretaker.clients.ceph.parsing import (
    parse_config_value,
    parse_crush_rules,
    parse_crush_types,
    parse_failure_domain,
    parse_health,
    parse_ok_to_stop,
    parse_osd_df,
    parse_osd_dump,
    parse_osd_hostnames,
    parse_osd_tree,
    parse_status,
)
from caretaker.clients.ceph.replies import raise_for_reply
from caretaker.clients.ceph.rook_discovery import parse_mon_endpoints, render_ceph_conf

DATA = Path(__file__).parent / "data" / "ceph"
HOSTS = {0: "ct-node-a", 1: "ct-node-b", 2: "ct-node-c"}


def answer(name: str) -> Any:
    return json.loads((DATA / f"{name}.json").read_text())


def test_status_of_a_healthy_cluster() -> None:
    status = parse_status(answer("status_ok"))
    assert status.health.status is HealthStatus.OK
    assert status.health.checks == ()
    assert (status.num_osds, status.num_up_osds, status.num_in_osds) == (3, 3, 3)
    assert status.pgs.by_state == {"active+clean": 9}
    assert status.pgs.total == 9
    assert status.quorum == ("a",)
    assert status.mgr_available


def test_status_with_an_osd_down_names_the_checks_with_their_summaries() -> None:
    status = parse_status(answer("status_osd_down"))
    assert status.health.status is HealthStatus.WARN
    assert status.num_up_osds == 2
    assert status.pgs.by_state == {"active+undersized": 8, "active+undersized+degraded": 1}
    checks = {check.name: check for check in status.health.checks}
    assert sorted(checks) == ["OSD_DOWN", "OSD_HOST_DOWN", "PG_DEGRADED"]
    osd_down = checks["OSD_DOWN"]
    assert osd_down.severity is HealthStatus.WARN
    assert osd_down.summary == "1 osds down"
    assert osd_down.count == 1
    assert not osd_down.muted


def test_unknown_health_word_counts_as_error() -> None:
    assert parse_health({"status": "HEALTH_WHAT", "checks": {}}).status is HealthStatus.ERR


def test_osd_tree_has_one_host_bucket_per_osd() -> None:
    tree = parse_osd_tree(answer("osd_tree"))
    by_host = tree.osds_by_bucket("host")
    assert by_host == {host: frozenset({osd_id}) for osd_id, host in HOSTS.items()}
    assert tree.osds_under("default") == frozenset(HOSTS)
    assert tree.osds_under("no-such-bucket") == frozenset()
    assert [node.name for node in tree.buckets("root")] == ["default"]


def test_osd_tree_gives_ancestors_type_ids_and_device_classes() -> None:
    tree = parse_osd_tree(answer("osd_tree"))
    assert [(n.name, n.type, n.type_id) for n in tree.ancestors(1)] == [
        ("ct-node-b", "host", 1),
        ("default", "root", 11),
    ]
    assert tree.ancestors(-1) == ()
    assert tree.nodes[1].device_class == "hdd"
    assert tree.nodes[-1].device_class == ""


def test_osd_df_gives_size_and_used_bytes() -> None:
    space = parse_osd_df(answer("osd_df"))
    assert sorted(space) == [0, 1, 2]
    assert space[0].size == 4194304 * 1024
    assert space[0].used == 297320 * 1024


def test_crush_types_and_config_values() -> None:
    # crush_dump_types.json: the "types" part of ``osd crush dump`` (the rest is not read)
    types = parse_crush_types(answer("crush_dump_types"))
    assert (types["osd"], types["host"], types["rack"], types["root"]) == (0, 1, 3, 11)
    assert parse_config_value("0.750000\n", "mon_osd_min_in_ratio") == "0.750000"
    assert parse_config_value("rack\n", "mon_osd_down_out_subtree_limit") == "rack"
    with pytest.raises(ValueError, match="no value for mon_osd_min_in_ratio"):
        parse_config_value("\n", "mon_osd_min_in_ratio")


def test_osd_tree_shows_a_down_osd() -> None:
    tree = parse_osd_tree(answer("osd_tree_down"))
    assert tree.nodes[1].status == "down"
    assert tree.nodes[0].status == "up"


def test_osd_dump_reads_noout_per_osd_per_bucket_and_cluster_wide() -> None:
    osd_map = parse_osd_dump(answer("osd_dump_noout"))
    assert "noout" in osd_map.flags
    assert osd_map.osds_with("noout") == frozenset({1})
    assert osd_map.osds[1].noout
    assert not osd_map.osds[0].noout
    assert osd_map.buckets_with("noout") == frozenset({"ct-node-c"})
    assert all(osd.up and osd.in_cluster for osd in osd_map.osds.values())
    assert round(osd_map.nearfull_ratio, 2) == 0.85
    assert round(osd_map.full_ratio, 2) == 0.95


def test_osd_dump_with_a_down_osd() -> None:
    osd_map = parse_osd_dump(answer("osd_dump_down"))
    assert not osd_map.osds[1].up
    assert osd_map.osds[1].in_cluster
    assert "noout" not in osd_map.flags


def test_osd_metadata_gives_the_hostname_of_each_osd() -> None:
    assert parse_osd_hostnames(answer("osd_metadata")) == HOSTS


def test_osd_metadata_skips_osds_that_never_reported() -> None:
    assert parse_osd_hostnames([{"id": 4}, {"id": 5, "hostname": "n5"}]) == {5: "n5"}


def test_ok_to_stop_one_osd_of_three() -> None:
    result = parse_ok_to_stop(answer("ok_to_stop_one"))
    assert result.ok_to_stop
    assert result.osds == (0,)
    assert (result.num_ok_pgs, result.num_not_ok_pgs) == (9, 0)
    assert len(result.ok_become_degraded) == 9
    assert result.bad_become_inactive == ()
    assert result.describe().startswith("ok to stop osd.0")


def test_ok_to_stop_two_osds_of_three_is_not_ok() -> None:
    message = "unsafe to stop osd(s) at this time (9 PGs are or would become offline)"
    result = parse_ok_to_stop(answer("ok_to_stop_two"), message)
    assert not result.ok_to_stop
    assert result.osds == (0, 1)
    assert result.num_not_ok_pgs == 9
    assert len(result.bad_become_inactive) == 9
    assert result.message == message
    assert "unsafe to stop" in result.describe()


def test_ok_to_stop_a_down_osd_and_a_peer_of_a_down_osd() -> None:
    assert parse_ok_to_stop(answer("ok_to_stop_down_osd")).ok_to_stop
    assert not parse_ok_to_stop(answer("ok_to_stop_with_peer_down")).ok_to_stop


def test_failure_domain_of_the_default_rule() -> None:
    assert parse_failure_domain(answer("crush_rule_dump")) == "host"


def test_failure_domain_of_a_two_level_rule_is_the_finest_level() -> None:
    rule = {
        "rule_name": "rack_then_host",
        "steps": [
            {"op": "take", "item": -1, "item_name": "default"},
            {"op": "choose_firstn", "num": 2, "type": "rack"},
            {"op": "chooseleaf_firstn", "num": 2, "type": "host"},
            {"op": "emit"},
        ],
    }
    assert parse_failure_domain(rule) == "host"
    with pytest.raises(ValueError, match="no choose step"):
        parse_failure_domain({"rule_name": "x", "steps": [{"op": "emit"}]})


@pytest.mark.parametrize(
    ("command", "argv", "body"),
    [
        (commands.set_flag("noout"), ["osd", "set", "noout"], {"key": "noout"}),
        (commands.add_noout([1, 2]), ["osd", "add-noout", "1", "2"], {"ids": ["1", "2"]}),
        (
            commands.set_group_flags(["noout"], ["ct-node-a"]),
            ["osd", "set-group", "noout", "ct-node-a"],
            {"flags": "noout", "who": ["ct-node-a"]},
        ),
        (
            commands.ok_to_stop([0], max_osds=3),
            ["osd", "ok-to-stop", "0", "--max", "3"],
            {"ids": ["0"], "max": 3},
        ),
    ],
)
def test_one_definition_gives_both_cli_argv_and_mon_command_json(
    command: commands.CephCommand, argv: list[str], body: dict[str, object]
) -> None:
    assert command.to_argv() == argv
    assert json.loads(command.to_json()) == {"prefix": command.prefix, **body, "format": "json"}


def test_ok_to_stop_ebusy_is_an_answer_when_allowed_and_an_error_otherwise() -> None:
    reply = CommandReply(ret=-16, output="{}", message="unsafe to stop osd(s)")
    command = commands.ok_to_stop([0, 1])
    raise_for_reply(command, reply, allowed_errnos={16})
    with pytest.raises(CephCommandError) as caught:
        raise_for_reply(command, reply)
    assert caught.value.errno == 16
    assert "EBUSY" in str(caught.value)


def test_missing_osd_reported_with_success_code_raises() -> None:
    reply = CommandReply(ret=0, output="", message="osd.7 does not exist. ")
    with pytest.raises(OsdNotFound) as caught:
        raise_for_reply(commands.osd_out([7]), reply)
    assert caught.value.osd_ids == (7,)


def test_missing_osd_with_enoent_raises_osd_not_found() -> None:
    reply = CommandReply(ret=-2, output="", message="osd.7 does not exist")
    with pytest.raises(OsdNotFound):
        raise_for_reply(commands.osd_metadata(), reply)


def test_timeout_is_unavailable_and_einval_is_a_command_error() -> None:
    with pytest.raises(CephUnavailable) as caught:
        raise_for_reply(commands.status(), CommandReply(ret=-110, output="", message="timed out"))
    assert caught.value.transient
    with pytest.raises(CephCommandError) as error:
        raise_for_reply(
            commands.set_flag("bogus"), CommandReply(-22, "", "unrecognized flag 'bogus'")
        )
    assert error.value.errno == 22


def test_cli_error_line_gives_errno_and_message() -> None:
    stderr = "Invalid command: bogus not in full|pause\nError EINVAL: invalid command\n"
    assert reply_from_cli(22, "", stderr) == CommandReply(-22, "", "invalid command")
    ebusy = reply_from_cli(16, '{"ok_to_stop":false}', "Error EBUSY: unsafe to stop osd(s)\n")
    assert (ebusy.ret, ebusy.output, ebusy.message) == (
        -16,
        '{"ok_to_stop":false}',
        "unsafe to stop osd(s)",
    )


@pytest.mark.parametrize(
    ("returncode", "stderr", "transient"),
    [
        (1, "timed out\n", True),
        (
            13,
            "-1 monclient(hunting): handle_auth_bad_method\n\n[errno 13] RADOS permission denied "
            "(error connecting to the cluster)\n",
            False,
        ),
        (1, "Error initializing cluster client: ObjectNotFound('RADOS object not found')\n", False),
    ],
)
def test_cli_connection_failures_are_unavailable(
    returncode: int, stderr: str, transient: bool
) -> None:
    with pytest.raises(CephUnavailable) as caught:
        reply_from_cli(returncode, "", stderr)
    assert caught.value.transient is transient


def test_rook_mon_endpoints_become_mon_host() -> None:
    addresses = parse_mon_endpoints("a=10.0.0.1:6789,b=10.0.0.2:6789,c=10.0.0.3:3300")
    assert addresses == ["10.0.0.1:6789", "10.0.0.2:6789", "10.0.0.3:3300"]
    conf = render_ceph_conf(addresses, Path("/k/keyring"), fsid="f-1")
    assert "mon_host = 10.0.0.1:6789,10.0.0.2:6789,10.0.0.3:3300\n" in conf
    assert "keyring = /k/keyring\n" in conf
    assert "fsid = f-1\n" in conf


@pytest.mark.parametrize("value", ["", "a=", "a=10.0.0.1:6789,b="])
def test_rook_mon_endpoints_that_cannot_be_read(value: str) -> None:
    with pytest.raises(RookDiscoveryError):
        parse_mon_endpoints(value)


def test_pools_of_the_osd_map_name_their_crush_rule() -> None:
    pools = parse_osd_dump(answer("osd_dump_noout")).pools
    assert [(p.name, p.crush_rule, p.size) for p in pools] == [
        ("rbd", 0, 3),
        ("device_health_metrics", 0, 3),
    ]


def test_every_crush_rule_with_what_it_takes_and_separates_by() -> None:
    by_rack = {
        "rule_id": 3,
        "rule_name": "by-rack-ssd",
        "steps": [
            {"op": "take", "item": -12, "item_name": "default~ssd"},
            {"op": "chooseleaf_firstn", "num": 0, "type": "rack"},
            {"op": "emit"},
        ],
    }
    no_choose = {"rule_id": 4, "rule_name": "odd", "steps": [{"op": "emit"}]}
    rules = parse_crush_rules([answer("crush_rule_dump"), by_rack, no_choose])
    assert [(r.id, r.name, r.takes, r.failure_domain_type) for r in rules] == [
        (0, "replicated_rule", ("default",), "host"),
        (3, "by-rack-ssd", ("default~ssd",), "rack"),
        (4, "odd", (), ""),
    ]


def test_osds_a_rule_takes_follow_the_device_class_and_ancestry_goes_up_to_the_root() -> None:
    tree = parse_osd_tree(answer("osd_tree"))
    assert tree.osds_taken("default") == frozenset(HOSTS)
    assert tree.osds_taken("default~hdd") == frozenset(HOSTS)
    assert tree.osds_taken("default~ssd") == frozenset()
    assert tree.ancestry(1) == (("host", "ct-node-b"), ("root", "default"))
    assert tree.ancestry(99) == ()
