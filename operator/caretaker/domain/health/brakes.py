"""Deliberate brakes on markOut: what people and Ceph itself say about marking an OSD out.

A markOut step is held (not skipped: it runs once the brake is released) while

- noout is set on the OSD (``ceph osd add-noout``), on any CRUSH bucket above it or on its
  device class (``ceph osd set-group noout``), or on the cluster (``ceph osd set noout``);
- the cluster's data movement is paused (``norebalance``, ``nobackfill`` or ``norecover``):
  marking out starts data movement;
- Ceph itself would not mark it out: fewer than ``mon_osd_min_in_ratio`` of the OSDs are in
  (Ceph's own test, counting the outs planned in this evaluation), or every OSD of the
  smallest subtree of type ``mon_osd_down_out_subtree_limit`` (or larger) holding it is down;
- the estimated fill after the move reaches ``nearfull_ratio`` (see ``fill_after_out``).

The readings are taken only when a markOut step is due (``OutBrakes``); without them the step
is held too: unknown is not safe.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from caretaker.domain.health.reasons import HoldReason

DATA_MOVEMENT_FLAGS = ("norebalance", "nobackfill", "norecover")


@dataclass(frozen=True)
class CrushBucket:
    name: str
    type: str  # "host", "rack", ...
    type_id: int
    osds: frozenset[int]  # every OSD below it


@dataclass(frozen=True)
class OsdSpace:
    size: int  # bytes; 0: not reported (a down OSD reports nothing)
    used: int


@dataclass(frozen=True)
class OutBrakes:
    """Ceph's answers that markOut must respect, read when a markOut step is due."""

    cluster_flags: frozenset[str] = frozenset()
    osd_flags: Mapping[int, frozenset[str]] = field(default_factory=dict)  # per-OSD state words
    osd_up: Mapping[int, bool] = field(default_factory=dict)
    osd_in: Mapping[int, bool] = field(default_factory=dict)  # every OSD of the map
    ancestors: Mapping[int, tuple[CrushBucket, ...]] = field(default_factory=dict)  # nearest first
    bucket_flags: Mapping[str, frozenset[str]] = field(default_factory=dict)
    device_class: Mapping[int, str] = field(default_factory=dict)
    class_flags: Mapping[str, frozenset[str]] = field(default_factory=dict)
    space: Mapping[int, OsdSpace] = field(default_factory=dict)
    min_in_ratio: float = 0.0
    subtree_limit: str = ""  # mon_osd_down_out_subtree_limit, e.g. "rack"
    subtree_limit_id: int | None = None  # its CRUSH type id; None: no such type
    nearfull_ratio: float = 0.0  # 0: not set, no fill check
    error: str = ""  # why they could not be read (then every markOut is held)


@dataclass(frozen=True)
class Brake:
    reason: str
    message: str


@dataclass(frozen=True)
class FillEstimate:
    """What marking one OSD out would do to the fullest receiving OSD."""

    moved: int  # bytes that move: the OSD's used bytes, or the receivers' mean if unknown
    guessed: bool  # the OSD reports no size: ``moved`` is the mean of the receivers
    receivers: int
    fullest: int
    before: float
    after: float


def out_brake(osd: int, brakes: OutBrakes | None, planned_out: int = 0) -> Brake | None:
    """Why markOut of this OSD must wait, or None. ``planned_out``: other markOuts planned in
    this evaluation (Ceph counts its pending outs the same way)."""
    unknown = _unknown(osd, brakes)
    if unknown or brakes is None:
        return unknown
    if not brakes.osd_in[osd]:
        return None  # already out: nothing would change
    return (
        _noout(osd, brakes)
        or _movement_paused(osd, brakes)
        or _min_in_ratio(osd, brakes, planned_out)
        or _subtree_down(osd, brakes)
        or _nearfull(osd, brakes)
    )


def _unknown(osd: int, brakes: OutBrakes | None) -> Brake | None:
    what = f"Ceph's noout flags, in ratio and fullness for osd.{osd}"
    if brakes is None:
        message = f"waiting for {what}"
    elif brakes.error:
        message = f"cannot read {what}: {brakes.error}"
    elif osd not in brakes.osd_in:
        message = f"osd.{osd} is not in the OSD map"
    else:
        return None
    return Brake(HoldReason.OUT_BRAKES_UNKNOWN, message)


def _noout(osd: int, brakes: OutBrakes) -> Brake | None:
    where = ""
    if "noout" in brakes.osd_flags.get(osd, frozenset()):
        where = f"on osd.{osd} (ceph osd add-noout)"
    for bucket in brakes.ancestors.get(osd, ()):
        if not where and "noout" in brakes.bucket_flags.get(bucket.name, frozenset()):
            where = f"on its CRUSH {bucket.type} {bucket.name} (ceph osd set-group noout)"
    device_class = brakes.device_class.get(osd, "")
    if not where and "noout" in brakes.class_flags.get(device_class, frozenset()):
        where = f"on its device class {device_class} (ceph osd set-group noout)"
    if not where and "noout" in brakes.cluster_flags:
        where = "on the cluster (ceph osd set noout)"
    if not where:
        return None
    return Brake(
        HoldReason.NOOUT,
        f"noout is set {where}: someone wants osd.{osd} kept in; Caretaker does not mark it "
        f"out until the flag is lifted",
    )


def _movement_paused(osd: int, brakes: OutBrakes) -> Brake | None:
    paused = [flag for flag in DATA_MOVEMENT_FLAGS if flag in brakes.cluster_flags]
    if not paused:
        return None
    return Brake(
        HoldReason.DATA_MOVEMENT_PAUSED,
        f"{', '.join(paused)} set on the cluster: data movement is paused, and marking "
        f"osd.{osd} out would start it",
    )


def _min_in_ratio(osd: int, brakes: OutBrakes, planned_out: int) -> Brake | None:
    total = len(brakes.osd_in)
    count = sum(brakes.osd_in.values()) - planned_out
    ratio = count / total if total else 0.0
    if ratio >= brakes.min_in_ratio:
        return None
    return Brake(
        HoldReason.MIN_IN_RATIO,
        f"{count}/{total} OSDs in ({ratio:.2f}), below mon_osd_min_in_ratio "
        f"{brakes.min_in_ratio:g}: Ceph itself marks no more OSDs out, nor does Caretaker "
        f"(osd.{osd})",
    )


def _subtree_down(osd: int, brakes: OutBrakes) -> Brake | None:
    """Ceph's own rule (``containing_subtree_is_down``): walking up from the OSD, every
    level so far entirely down, up to a bucket whose type is the limit's or larger."""
    limit = brakes.subtree_limit_id
    if limit is None or brakes.osd_up.get(osd, True):
        return None
    if limit <= 0:
        return _subtree_brake(osd, f"osd.{osd}", brakes.subtree_limit)
    for bucket in brakes.ancestors.get(osd, ()):
        if any(brakes.osd_up.get(other, True) for other in bucket.osds):
            return None
        if bucket.type_id >= limit:
            return _subtree_brake(osd, f"{bucket.type} {bucket.name}", brakes.subtree_limit)
    return None


def _subtree_brake(osd: int, subtree: str, limit: str) -> Brake:
    return Brake(
        HoldReason.DOWN_OUT_SUBTREE_LIMIT,
        f"every OSD of {subtree} is down: Ceph does not mark out a whole subtree of "
        f"mon_osd_down_out_subtree_limit {limit} or larger (it is likely to come back), nor "
        f"does Caretaker (osd.{osd})",
    )


def fill_after_out(osd: int, brakes: OutBrakes) -> FillEstimate | None:
    """Estimates the fill of the fullest OSD once this OSD is out: its used bytes (or, when it
    reports no size, the mean used bytes of the receivers) spread over the OSDs that are up
    and in, in proportion to their size. None when no receiver reports its size."""
    receivers = {
        other: space
        for other, space in brakes.space.items()
        if other != osd
        and space.size > 0
        and brakes.osd_in.get(other, False)
        and brakes.osd_up.get(other, False)
    }
    if not receivers:
        return None
    capacity = sum(space.size for space in receivers.values())
    own = brakes.space.get(osd)
    guessed = own is None or own.size <= 0
    moved = (
        sum(s.used for s in receivers.values()) // len(receivers)
        if own is None or guessed
        else own.used
    )
    fullest = max(receivers, key=lambda other: receivers[other].used / receivers[other].size)
    space = receivers[fullest]
    before = space.used / space.size
    return FillEstimate(moved, guessed, len(receivers), fullest, before, before + moved / capacity)


def _nearfull(osd: int, brakes: OutBrakes) -> Brake | None:
    if brakes.nearfull_ratio <= 0:
        return None
    estimate = fill_after_out(osd, brakes)
    if estimate is None:
        return Brake(
            HoldReason.WOULD_BE_NEARFULL,
            f"no other OSD that is up and in reports its size: the fill after marking "
            f"osd.{osd} out cannot be estimated",
        )
    if estimate.after < brakes.nearfull_ratio:
        return None
    source = "the mean of the others (it reports no size)" if estimate.guessed else "its data"
    return Brake(
        HoldReason.WOULD_BE_NEARFULL,
        f"marking osd.{osd} out would move about {_size(estimate.moved)} ({source}) onto "
        f"{estimate.receivers} OSD(s): the fullest, osd.{estimate.fullest}, would go from "
        f"{estimate.before:.0%} to about {estimate.after:.0%}, at or above nearfull_ratio "
        f"{brakes.nearfull_ratio:.0%}",
    )


def _size(count: int) -> str:
    value, unit = float(count), "B"
    for bigger in ("KiB", "MiB", "GiB", "TiB"):
        if value < 1024:
            break
        value, unit = value / 1024, bigger
    return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
