"""The disruption arbiter under crashes: two Maintenances and a HealthPolicy, each driven by its
shipped executor, share one fake world (``arbiter_world``): one ledger, one Ceph, one set of
nodes and Leases. Whatever the interleaving, and wherever an actor is killed, no two failure
domains are ever disrupted at once, nothing is changed on a node without a claim, and once
everything has run to its end nothing is left behind and nothing was done twice."""

from __future__ import annotations

from collections import Counter

from arbiter_world import SLOW, Arbiter
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from caretaker.domain.health.actions import kind_of
from caretaker.domain.maintenance.actions import EvictPods
from caretaker.domain.maintenance.status import NodePhase

ACTORS = ("team-a/maintenance", "team-b/maintenance", "ceph/osd-health")
# None: the round runs through; n: the actor is killed at its n-th port call (if it gets there)
KILL = st.one_of(st.none(), st.none(), st.integers(0, 9))
SCHEDULE = st.lists(st.tuples(st.integers(0, len(ACTORS) - 1), KILL), min_size=20, max_size=150)


def assert_nothing_left(arbiter: Arbiter) -> None:
    world = arbiter.world
    assert arbiter.all_violations() == []
    for cluster in arbiter.maintenances:
        assert cluster.leftovers() == [], cluster.identity
        assert {r.name: r.phase for r in cluster.status.nodes} == dict.fromkeys(
            cluster.spec_raw["nodes"], NodePhase.COMPLETED
        )
    assert world.claims == {}
    assert (world.noout, world.noout_buckets, world.cluster_flags) == ({}, {}, set())
    assert [n for n, f in world.nodes.items() if f.unschedulable or f.cordoned_by] == []
    assert {h for h in world.leases.values() if h is not None} == set()
    assert all(world.osd_up.values())
    assert all(world.osd_in.values())


def assert_nothing_twice(arbiter: Arbiter) -> None:
    """Each change of a Maintenance's node lifecycle once (kills included), none found already
    in place (e.g. a noout someone else set); each slow OSD restarted at most once."""
    for cluster in arbiter.maintenances:
        assert cluster.redundant == [], cluster.identity
        changes = Counter(
            (type(a).__name__, a.node) for a in cluster.actions if not isinstance(a, EvictPods)
        )
        assert [c for c, n in changes.items() if n > 1] == [], cluster.identity
    restarts = Counter(a.target.key for _, a in arbiter.policy.actions)
    assert {kind_of(a.action) for _, a in arbiter.policy.actions} <= {"restartOsd"}
    assert all(n == 1 for n in restarts.values()), restarts
    if arbiter.policy.kills == 0:  # a step killed before it ran is not run again (at most once)
        assert set(restarts) == {f"osd/osd.{i}" for i in SLOW}
    record_keys = [a.key for _, a in arbiter.policy.actions]
    assert len(record_keys) == len(set(record_keys))


def waits(arbiter: Arbiter) -> set[tuple[str, str]]:
    """(who, for whom) every time an actor waited for a failure domain someone else held."""
    said = [
        (cluster.identity, record.message)
        for cluster in arbiter.maintenances
        for step in cluster.steps
        for record in step.status.nodes
    ]
    said += [(ACTORS[2], note.message) for note in arbiter.policy.notes]
    return {
        (who, by)
        for who, text in said
        for by in ACTORS
        if by != who and f"being disrupted by {_KIND[by]} {by}" in text
    }


_KIND = dict(zip(ACTORS, ("Maintenance", "Maintenance", "HealthPolicy"), strict=True))


def test_without_crashes_the_actors_take_the_failure_domains_in_turn() -> None:
    """Everyone wants a failure domain at the start: the ledger makes them wait for each
    other, and everything is done once."""
    arbiter = Arbiter()
    arbiter.finish()
    assert_nothing_left(arbiter)
    assert_nothing_twice(arbiter)
    a, b, policy = ACTORS
    assert {(a, b), (b, a), (b, policy), (policy, a)} <= waits(arbiter)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(schedule=SCHEDULE)
def test_random_kills_of_three_actors_never_disrupt_two_failure_domains(
    schedule: list[tuple[int, int | None]],
) -> None:
    """Hypothesis draws who steps next and where it is killed; every step is checked (no two
    failure domains claimed, flagged noout, cordoned or with an OSD down; no change to a node
    without its claim); then everyone runs to the end without kills."""
    arbiter = Arbiter()
    for actor, kill_at in schedule:
        arbiter.step(actor, kill_at)
        assert arbiter.violations == [], arbiter.violations[0]
    arbiter.finish()
    assert_nothing_left(arbiter)
    assert_nothing_twice(arbiter)
