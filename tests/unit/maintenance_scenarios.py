"""Random Maintenance runs for the property tests: nodes with twists (someone else's noout or
cordon, pods, a pod no budget lets go), spec knobs, the world's pace, crashes and the ending.
Each run drives the shipped executor through ``maintenance_worlds.Cluster``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from hypothesis import strategies as st
from maintenance_worlds import OTHER, Cluster, rs_pod


@dataclass
class NodeTwist:
    """How one node of a random scenario differs from the plain case."""

    domain: str = "r1"
    noout_by_other: bool = False
    cordoned_by_other: bool = False
    pods: int = 0
    stuck_pod: bool = False  # a pod whose eviction is always refused: the drain times out


@dataclass
class Scenario:
    """A random run: the nodes, the spec knobs, the world's pace, crashes and the ending."""

    twists: list[NodeTwist]
    max_unavailable: int
    hold: str
    noout_timeout: str
    delays: tuple[int, int, int]  # seconds: pod termination, OSD return, PG recovery
    crashes: list[str]  # per step: a crash= of Cluster.step, or "kill@<n>" (the n-th call)
    ticks: list[int]  # seconds between reconciles, cycled
    ending: str  # "none", "abort" or "delete"
    end_at: int  # step at which to abort or delete
    noout_scope: str = "osd"
    windowed: bool = False  # a 15 minute window every half hour instead of always open

    def build(self) -> Cluster:
        names = [chr(ord("a") + i) for i in range(len(self.twists))]
        hold = self.hold
        spec: dict[str, Any] = {
            "nodes": names,
            "strategy": {"maxUnavailable": self.max_unavailable},
            "release": ["*"],
            "gates": {"allowedWarnings": ["OSD_FLAGS"]},
            "drain": {"timeout": "30m"},
            "ceph": {
                "restoreTimeout": "2h",
                "nooutTimeout": self.noout_timeout,
                "noout": self.noout_scope,
            },
            "hold": {"mode": hold, **({"duration": "2m"} if hold == "duration" else {})},
        }
        if self.windowed:
            spec["window"] = {"schedule": "*/30 * * * *", "duration": "15m"}
            spec["strategy"]["nodeDurationEstimate"] = "5m"
        cluster = Cluster(
            spec,
            {name: (i,) for i, name in enumerate(names)},
            {name: t.domain for name, t in zip(names, self.twists, strict=True)},
        )
        if hold == "auto":  # the node reboots by itself and comes back
            cluster.reboot_length = timedelta(seconds=60)
        evict, back, recover = (timedelta(seconds=d) for d in self.delays)
        cluster.evict_delay, cluster.return_delay, cluster.recovery_delay = evict, back, recover
        for i, (name, twist) in enumerate(zip(names, self.twists, strict=True)):
            node = cluster.nodes[name]
            if twist.noout_by_other:
                cluster.noout[i] = OTHER
            node.unschedulable = twist.cordoned_by_other
            node.pods = [rs_pod(f"{name}-{k}") for k in range(twist.pods)]
            if twist.stuck_pod:
                node.pods.append(rs_pod(f"{name}-guarded"))
                cluster.refusing.add(f"apps/{name}-guarded")
        return cluster

    def drive(self, cluster: Cluster) -> None:
        """Steps with crashes and uneven time until the Maintenance is over (or deleted)."""
        crashes, ticks = self.crashes, self.ticks
        for i in range(3000):
            if i == self.end_at and self.ending == "abort":
                cluster.spec_raw = {**cluster.spec_raw, "abort": True}
            if i == self.end_at and self.ending == "delete":
                cluster.deleting = True
            cluster.tick = timedelta(seconds=ticks[i % len(ticks)])
            crash = crashes[i] if i < len(crashes) else ""
            if crash.startswith("kill@"):
                step = cluster.step(kill_at=int(crash.removeprefix("kill@")))
            else:
                step = cluster.step(crash=crash)
            cleaned_up = step is not None and step.cleaned_up
            if cleaned_up or (not cluster.deleting and step is not None and cluster.finished()):
                return
        raise AssertionError(f"never finished; last summary {cluster.steps[-1].summary}")


SCENARIOS = st.builds(
    Scenario,
    twists=st.lists(
        st.builds(
            NodeTwist,
            domain=st.sampled_from(["r1", "r2"]),
            noout_by_other=st.booleans(),
            cordoned_by_other=st.booleans(),
            pods=st.integers(0, 2),
            stuck_pod=st.integers(0, 9).map(lambda n: n == 0),
        ),
        min_size=1,
        max_size=3,
    ),
    max_unavailable=st.integers(1, 2),
    hold=st.sampled_from(["manual", "duration", "auto"]),
    noout_timeout=st.sampled_from(["30m", "1m"]),
    delays=st.tuples(*[st.sampled_from([0, 20, 90, 200])] * 3),
    crashes=st.lists(
        st.sampled_from(["", "", "", "", "", "restart", "lost", "killed", "unsaved"])
        | st.integers(0, 8).map(lambda n: f"kill@{n}"),
        max_size=200,
    ),
    ticks=st.lists(st.sampled_from([5, 10, 30, 120]), min_size=1, max_size=20),
    ending=st.sampled_from(["none", "none", "abort", "delete"]),
    end_at=st.integers(0, 120),
    noout_scope=st.sampled_from(["osd", "host", "none"]),
    windowed=st.booleans(),
)
