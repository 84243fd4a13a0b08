"""The cluster-wide disruption ledger: which failure domain Caretaker is disrupting, and who.

Every actor (each Maintenance node, each HealthPolicy step that stops or moves data) writes a
claim into one ledger per Ceph cluster before it acts, and removes it once what it did is over.
The ledger admits a claim only when every other claim is in the same failure domain, so two
failure domains are never disrupted at once whoever asks; the writer stores it with a
compare-and-swap, so two actors deciding in the same second cannot both win. ``ok-to-stop`` is
asked for a target's OSDs together with the OSDs of every other claim (``union_osds``).

Pure: the ledger is read and written by ``caretaker.handlers.disruption.ledger``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from caretaker.domain.common.timestamps import format_time, parse_time


class ClaimKind:
    MAINTENANCE = "maintenance"  # a node being maintained (drain, noout, hold, restore)
    RESTART = "restartOsd"  # an up OSD restarted: over once it is up again with a new up_from
    MARK_OUT = "markOut"  # an OSD marked out: over once it is in again (or gone)
    NODE = "node"  # a HealthPolicy drain, cordon or NoExecute taint: over once uncordoned


@dataclass(frozen=True)
class Claim:
    claimant: str  # unique per actor and target, e.g. "maintenance/ns/name/node-a"
    domain: str  # "host/node-a": the failure domain the actor disrupts
    osds: tuple[int, ...] = ()
    kind: str = ClaimKind.MAINTENANCE
    since: datetime | None = None
    node: str = ""  # the node it acts on, when it acts on one
    up_from: int = 0  # RESTART: the OSD's up_from epoch when it was restarted

    def to_json(self) -> dict[str, object]:
        doc: dict[str, object] = {"domain": self.domain, "osds": list(self.osds), "kind": self.kind}
        if self.since is not None:
            doc["since"] = format_time(self.since)
        if self.node:
            doc["node"] = self.node
        if self.up_from:
            doc["upFrom"] = self.up_from
        return doc


@dataclass(frozen=True)
class Admission:
    admitted: bool
    reason: str = ""


def parse_ledger(text: str | None) -> tuple[Claim, ...]:
    """The claims stored in the ledger's annotation. Unreadable text raises ``ValueError``: an
    actor must not act on a ledger it cannot read (it would look empty)."""
    if not text:
        return ()
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"the disruption ledger is not JSON: {error.msg}") from None
    if not isinstance(doc, dict):
        raise ValueError("the disruption ledger is not a JSON object")
    claims = []
    for claimant, entry in sorted(doc.items()):
        if not isinstance(entry, dict) or not isinstance(entry.get("domain"), str):
            raise ValueError(f"the disruption ledger entry {claimant!r} has no domain")
        claims.append(
            Claim(
                claimant=str(claimant),
                domain=entry["domain"],
                osds=tuple(sorted(int(i) for i in entry.get("osds") or ())),
                kind=str(entry.get("kind") or ClaimKind.MAINTENANCE),
                since=parse_time(entry.get("since")),
                node=str(entry.get("node") or ""),
                up_from=int(entry.get("upFrom") or 0),
            )
        )
    return tuple(claims)


def render_ledger(claims: Iterable[Claim]) -> str:
    return json.dumps({c.claimant: c.to_json() for c in claims}, sort_keys=True)


def others(claims: Iterable[Claim], claimant: str) -> tuple[Claim, ...]:
    return tuple(c for c in claims if c.claimant != claimant)


def find(claims: Iterable[Claim], claimant: str) -> Claim | None:
    return next((c for c in claims if c.claimant == claimant), None)


def union_osds(claims: Iterable[Claim], claimant: str, osds: Iterable[int]) -> tuple[int, ...]:
    """The OSDs to ask ``ok-to-stop`` for: the target's and those of every other claim."""
    every = set(osds)
    for claim in others(claims, claimant):
        every.update(claim.osds)
    return tuple(sorted(every))


def admit(claims: Iterable[Claim], claim: Claim) -> Admission:
    """A claim is admitted when no other claim disrupts another failure domain."""
    elsewhere = [c for c in others(claims, claim.claimant) if c.domain != claim.domain]
    if not elsewhere:
        return Admission(True)
    first = elsewhere[0]
    more = f" and {len(elsewhere) - 1} more" if len(elsewhere) > 1 else ""
    return Admission(
        False,
        f"failure domain {first.domain} is being disrupted by {describe(first)}{more}; "
        f"{claim.domain} waits",
    )


def with_claim(claims: Iterable[Claim], claim: Claim) -> tuple[Claim, ...]:
    return (*others(claims, claim.claimant), claim)


def describe(claim: Claim) -> str:
    parts = claim.claimant.split("/", 3)  # a policy's target key has a slash: "osd/osd.1"
    if claim.kind == ClaimKind.MAINTENANCE and len(parts) == 4:
        return f"Maintenance {parts[1]}/{parts[2]} (node {parts[3]})"
    if len(parts) >= 4:
        return f"HealthPolicy {parts[1]}/{parts[2]} ({claim.kind} {parts[3]})"
    return claim.claimant


def maintenance_claimant(identity: str, node: str) -> str:
    """``identity`` is the Maintenance's "namespace/name"."""
    return f"maintenance/{identity}/{node}"


def policy_claimant(namespace: str, name: str, target_key: str) -> str:
    return f"healthpolicy/{namespace}/{name}/{target_key}"


# A claim is entered right before its action: until the action has had time to show in Ceph
# or Kubernetes, "the OSD is in" or "the node is not cordoned" says nothing about its end.
SETTLE = timedelta(minutes=1)
# A restart that never shows (its eviction was refused, the action failed) ends after this.
RESTART_UNSEEN = timedelta(minutes=10)


@dataclass(frozen=True)
class Observed:
    """What decides that a HealthPolicy claim is over (Maintenance claims are released by their
    Maintenance, which knows when its node is back)."""

    osd_up: Mapping[int, bool]
    osd_in: Mapping[int, bool]
    osd_up_from: Mapping[int, int]
    cordoned: Mapping[str, bool]  # node -> unschedulable; a node missing is gone
    at: datetime | None = None  # when observed (None: the claims' age is not considered)


def claim_over(claim: Claim, seen: Observed) -> bool:
    """Whether what the claim stands for is over, from observations; a claim younger than
    ``SETTLE`` is never over (its action may not show yet)."""
    age = seen.at - claim.since if seen.at and claim.since else None
    if age is not None and age < SETTLE:
        return False
    if claim.kind == ClaimKind.MARK_OUT:
        return all(seen.osd_in.get(i, True) for i in claim.osds)  # in again, or gone
    if claim.kind == ClaimKind.RESTART:
        never = age is not None and age > RESTART_UNSEEN
        return all(
            i not in seen.osd_up
            or (seen.osd_up[i] and (seen.osd_up_from.get(i, 0) > claim.up_from or never))
            for i in claim.osds
        )
    if claim.kind == ClaimKind.NODE:
        return not seen.cordoned.get(claim.node, False)
    return False
