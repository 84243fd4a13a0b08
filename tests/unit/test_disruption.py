"""The cluster-wide disruption ledger: admission, ok-to-stop union, persistence, claims ending."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from caretaker.domain.disruption.ledger import (
    Claim,
    ClaimKind,
    Observed,
    admit,
    claim_over,
    parse_ledger,
    render_ledger,
    union_osds,
    with_claim,
)

A = Claim("maintenance/ns1/m1/node-a", "host/node-a", (0,))
B = Claim("maintenance/ns2/m2/node-b", "host/node-b", (1,))


def test_a_second_domain_is_refused_whoever_asks() -> None:
    verdict = admit((A,), B)
    assert not verdict.admitted
    assert "host/node-a is being disrupted by Maintenance ns1/m1 (node node-a)" in verdict.reason
    policy = Claim("healthpolicy/ns3/p/osd.1", "host/node-b", (1,), ClaimKind.RESTART)
    assert not admit((A,), policy).admitted


def test_same_domain_and_own_claim_are_admitted() -> None:
    peer = Claim("maintenance/ns2/m2/node-a2", "host/node-a", (5,))
    assert admit((A,), peer).admitted
    assert admit((A,), A).admitted
    assert admit((), B).admitted


def test_ok_to_stop_is_asked_for_the_union_without_our_own_claim() -> None:
    peer = Claim("maintenance/ns2/m2/node-a2", "host/node-a", (5, 6))
    assert union_osds((A, peer), A.claimant, (0, 2)) == (0, 2, 5, 6)


claims_strategy = st.lists(
    st.builds(
        Claim,
        claimant=st.text("abc/-", min_size=1, max_size=12),
        domain=st.text("xyz/", min_size=1, max_size=8),
        osds=st.lists(st.integers(0, 500), max_size=4).map(lambda x: tuple(sorted(x))),
        kind=st.sampled_from([ClaimKind.MAINTENANCE, ClaimKind.RESTART, ClaimKind.MARK_OUT]),
        since=st.just(datetime(2026, 12, 1, 10, tzinfo=UTC)),
        up_from=st.integers(0, 10_000),
    ),
    unique_by=lambda c: c.claimant,
    max_size=5,
)


@given(claims_strategy)
def test_ledger_round_trips(claims: list[Claim]) -> None:
    assert sorted(parse_ledger(render_ledger(claims)), key=lambda c: c.claimant) == sorted(
        claims, key=lambda c: c.claimant
    )


@given(claims_strategy, claims_strategy)
def test_admitted_claims_never_span_two_domains(first: list[Claim], more: list[Claim]) -> None:
    ledger: tuple[Claim, ...] = ()
    for claim in [*first, *more]:
        if admit(ledger, claim).admitted:
            ledger = with_claim(ledger, claim)
    assert len({c.domain for c in ledger}) <= 1


@pytest.mark.parametrize("text", ["not json", "[1]", '{"x": {"osds": []}}'])
def test_an_unreadable_ledger_is_an_error_not_an_empty_one(text: str) -> None:
    with pytest.raises(ValueError, match="disruption ledger"):
        parse_ledger(text)


def test_policy_claims_end_on_observation() -> None:
    restart = Claim("p/osd.1", "host/b", (1,), ClaimKind.RESTART, up_from=40)
    out = Claim("p/osd.2", "host/b", (2,), ClaimKind.MARK_OUT)
    node = Claim("p/node-b", "host/b", (1, 2), ClaimKind.NODE, node="node-b")

    def seen(up: bool, up_from: int, osd_in: bool, cordoned: bool) -> Observed:
        return Observed({1: up, 2: up}, {1: True, 2: osd_in}, {1: up_from}, {"node-b": cordoned})

    assert not claim_over(restart, seen(True, 40, False, True))  # not restarted yet
    assert not claim_over(restart, seen(False, 40, False, True))  # going down
    assert claim_over(restart, seen(True, 45, False, True))  # up again, a new up_from
    assert not claim_over(out, seen(True, 45, False, True))
    assert claim_over(out, seen(True, 45, True, True))
    assert not claim_over(node, seen(True, 45, True, True))
    assert claim_over(node, seen(True, 45, True, False))
    assert not claim_over(A, seen(True, 45, True, False))  # a Maintenance releases its own


def test_policy_steps_claim_what_they_take_down() -> None:
    from caretaker.domain.ceph.osd_placement import NodeOsds  # noqa: PLC0415
    from caretaker.domain.ceph.topology import Topology  # noqa: PLC0415
    from caretaker.domain.health.actions import Drain, MarkOut, RestartOsd  # noqa: PLC0415
    from caretaker.domain.health.claims import claim_for  # noqa: PLC0415
    from caretaker.domain.health.keys import PolicyRef  # noqa: PLC0415
    from caretaker.domain.health.targets import Target, TargetKind  # noqa: PLC0415
    from caretaker.domain.health.world import CephReadings  # noqa: PLC0415

    ceph = CephReadings(
        health="HEALTH_WARN",
        osds_total=3,
        osds_up=2,
        quorum=("a",),
        osd_up={0: True, 1: False, 2: True},
        osd_up_from={0: 40, 1: 12, 2: 41},
        # osd.2 is in no CRUSH bucket: its failure domain cannot be told
        topology=Topology(ancestry={0: (("host", "host/a"),), 1: (("host", "host/b"),)}),
        node_osds={
            "a": NodeOsds((0,)),
            "b": NodeOsds((1,)),
            "c": NodeOsds((2,)),
            "diskless": NodeOsds(()),
            "fqdn": NodeOsds((), "cannot tell which OSDs it carries: osd.1 matches nodes b, fqdn"),
        },
    )
    policy = PolicyRef("ops", "osd-health", "uid")
    up, down, lost = (Target(TargetKind.OSD, f"osd.{i}") for i in range(3))
    restart = claim_for(RestartOsd(), up, ceph, policy)
    assert restart == Claim(
        "healthpolicy/ops/osd-health/osd/osd.0", "host/a", (0,), ClaimKind.RESTART, up_from=40
    )
    assert claim_for(RestartOsd(), down, ceph, policy) is None  # already down: nothing more
    assert isinstance(claim_for(MarkOut(), down, ceph, policy), Claim)
    assert "not in Ceph's CRUSH map" in str(claim_for(MarkOut(), lost, ceph, policy))
    node = claim_for(Drain(), Target(TargetKind.NODE, "a"), ceph, policy)
    assert node == Claim(
        "healthpolicy/ops/osd-health/node/a", "host/a", (0,), ClaimKind.NODE, node="a"
    )
    assert claim_for(Drain(), Target(TargetKind.NODE, "diskless"), ceph, policy) is None
    # the Maintenance's rules: a node whose OSDs cannot be told is refused, never diskless
    refused = str(claim_for(Drain(), Target(TargetKind.NODE, "fqdn"), ceph, policy))
    assert refused.startswith("not touching node fqdn: cannot tell which OSDs it carries")
    unread = claim_for(Drain(), Target(TargetKind.NODE, "elsewhere"), ceph, policy)
    assert unread == "which OSDs node elsewhere carries was not read"


def test_a_policy_claim_names_its_target() -> None:
    claim = Claim("healthpolicy/ops/osd-health/osd/osd.1", "host-b", (1,), ClaimKind.MARK_OUT)
    reason = admit((claim,), A).reason
    assert "disrupted by HealthPolicy ops/osd-health (markOut osd/osd.1)" in reason


def test_a_claim_is_not_over_before_its_action_can_show() -> None:
    """The sweeper may look between the claim and the action: the OSD is still in then."""
    t0 = datetime(2026, 12, 1, 22, tzinfo=UTC)
    out = Claim("p/osd.2", "host/b", (2,), ClaimKind.MARK_OUT, since=t0)
    restart = Claim("p/osd.1", "host/b", (1,), ClaimKind.RESTART, since=t0, up_from=40)

    def seen(after: timedelta) -> Observed:
        return Observed({1: True, 2: True}, {1: True, 2: True}, {1: 40}, {}, at=t0 + after)

    assert not claim_over(out, seen(timedelta(seconds=2)))  # markOut not applied yet
    assert claim_over(out, seen(timedelta(minutes=2)))  # still in a while later: over
    assert not claim_over(restart, seen(timedelta(minutes=2)))  # no restart seen yet
    assert claim_over(restart, seen(timedelta(minutes=11)))  # the restart never came
