"""Maintenance windows: when may a disruptive step start?

Three kinds: none (always open), one-off (``start`` + ``duration``) and recurring (cron
``schedule`` + ``duration`` in an IANA ``timeZone``). Cron fields are read in local wall-clock
time; durations are real elapsed time. Around daylight-saving changes a start that falls into
the skipped hour moves forward by the gap, and a start in the repeated hour happens once (its
first occurrence).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from croniter import croniter


@dataclass(frozen=True)
class AlwaysOpen:
    """No window: disruptive steps may start at any time."""


@dataclass(frozen=True)
class OneOffWindow:
    start: datetime  # timezone-aware
    duration: timedelta


@dataclass(frozen=True)
class RecurringWindow:
    schedule: str
    duration: timedelta
    time_zone: ZoneInfo


Window = AlwaysOpen | OneOffWindow | RecurringWindow


@dataclass(frozen=True)
class WindowState:
    """Where a window stands at one instant."""

    is_open: bool
    ends_at: datetime | None  # end of the open window; None when unbounded or closed
    next_start: datetime | None  # next opening after now; None when there is none


# Larger than any daylight-saving shift: wall times further apart than this keep their order
# when turned into instants, which bounds the searches below.
_DST_SLACK = timedelta(hours=3)


def localize(wall_time: datetime, zone: ZoneInfo) -> datetime:
    """Turns a naive local wall time into an aware instant (skipped times move forward)."""
    return wall_time.replace(tzinfo=zone, fold=0).astimezone(UTC)


def _wall(now: datetime, zone: ZoneInfo) -> datetime:
    return now.astimezone(zone).replace(tzinfo=None, fold=0)


def _cron_prev(window: RecurringWindow, now: datetime) -> datetime:
    """The latest start at or before ``now``.

    Wall times inside a DST gap map later than their neighbours, so candidates are collected
    from above ``now`` downwards until they are far enough below the best one found.
    """
    zone = window.time_zone
    walls = croniter(window.schedule, _wall(now, zone) + _DST_SLACK + timedelta(seconds=1))
    best: datetime | None = None
    best_wall: datetime | None = None
    while True:
        wall = walls.get_prev(datetime)
        if best_wall is not None and wall < best_wall - _DST_SLACK:
            assert best is not None
            return best
        start = localize(wall, zone)
        if start <= now and (best is None or start > best):
            best, best_wall = start, wall


def _cron_next(window: RecurringWindow, now: datetime) -> datetime:
    """The earliest start after ``now`` (see _cron_prev for why candidates are collected)."""
    zone = window.time_zone
    walls = croniter(window.schedule, _wall(now, zone) - _DST_SLACK)
    best: datetime | None = None
    best_wall: datetime | None = None
    while True:
        wall = walls.get_next(datetime)
        if best_wall is not None and wall > best_wall + _DST_SLACK:
            assert best is not None
            return best
        start = localize(wall, zone)
        if start > now and (best is None or start < best):
            best, best_wall = start, wall


def window_state(window: Window, now: datetime) -> WindowState:
    """Whether the window is open at ``now`` (aware), when it ends and when it next opens."""
    if isinstance(window, AlwaysOpen):
        return WindowState(is_open=True, ends_at=None, next_start=None)
    if isinstance(window, OneOffWindow):
        end = window.start + window.duration
        if window.start <= now < end:
            return WindowState(True, end, None)
        return WindowState(False, None, window.start if now < window.start else None)
    last_start = _cron_prev(window, now)
    last_end = last_start + window.duration
    upcoming = _cron_next(window, now)
    if last_start <= now < last_end:
        return WindowState(True, last_end, upcoming)
    return WindowState(False, None, upcoming)


def can_start(window: Window, now: datetime, needed: timedelta) -> bool:
    """True when the window is open now and stays open for at least ``needed``."""
    state = window_state(window, now)
    if not state.is_open:
        return False
    return state.ends_at is None or now + needed <= state.ends_at


def is_over(window: Window, now: datetime) -> bool:
    """True for a one-off window that has closed for good."""
    end = final_end(window)
    return end is not None and now >= end


def final_end(window: Window) -> datetime | None:
    """When a one-off window closes for good; None for windows that never do."""
    return window.start + window.duration if isinstance(window, OneOffWindow) else None


def next_opportunity(window: Window, now: datetime, needed: timedelta) -> datetime | None:
    """When a step of length ``needed`` could next start: now if it fits, else the next opening."""
    if can_start(window, now, needed):
        return now
    if isinstance(window, RecurringWindow | OneOffWindow) and window.duration < needed:
        return None
    return window_state(window, now).next_start
