"""Reads a window (``start`` + ``duration``, or ``schedule`` + ``duration`` + ``timeZone``) out
of a raw spec, with every error collected: the one reader for a Maintenance's ``spec.window``
and a MaintenanceFreeze's ``spec.windows[]`` (evaluated by ``windows.window_state``)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import CroniterBadDateError, croniter

from caretaker.domain.common.validation import SpecReader
from caretaker.domain.common.windows import AlwaysOpen, OneOffWindow, RecurringWindow, Window

LATEST_END = datetime.max.replace(tzinfo=UTC)
WINDOW_KEYS = frozenset({"start", "schedule", "duration", "timeZone"})


def read_window(r: SpecReader, raw: Mapping[str, Any], path: str) -> Window:
    """The window at ``path``; ``AlwaysOpen`` when ``raw`` is empty (or wrong: see r.errors)."""
    r.unknown_keys(raw, set(WINDOW_KEYS), path)
    if not raw:
        return AlwaysOpen()
    duration = r.duration(raw, "duration", path, None)
    if raw.get("duration") is None:
        r.fail(f"{path}.duration", "required with a window (how long it stays open)")
    start_text, schedule = r.string(raw, "start", path), r.string(raw, "schedule", path)
    if start_text and schedule:
        r.fail(path, "give start (one-off) or schedule (recurring), not both")
        return AlwaysOpen()
    if not start_text and not schedule:
        r.fail(path, "give start (one-off window) or schedule (recurring window)")
        return AlwaysOpen()
    if start_text:
        if "timeZone" in raw:
            r.fail(f"{path}.timeZone", "only for a recurring schedule; put the offset in start")
        start = parse_time(r, start_text, f"{path}.start")
        if start is None or duration is None:
            return AlwaysOpen()
        if start > LATEST_END - duration:
            r.fail(f"{path}.start", f"{start_text!r} plus the duration ends after the year 9999")
            return AlwaysOpen()
        return OneOffWindow(start, duration)
    zone = read_zone(r, raw.get("timeZone", "UTC"), f"{path}.timeZone")
    assert schedule is not None
    problem = cron_problem(schedule, f"{path}.timeZone")
    if problem:
        r.fail(f"{path}.schedule", problem)
        return AlwaysOpen()
    if zone is None or duration is None:
        return AlwaysOpen()
    return RecurringWindow(schedule, duration, zone)


def cron_problem(schedule: str, zone_path: str = "spec.window.timeZone") -> str | None:
    """Why a schedule cannot be used, or None. Five fields (or @daily etc.), and it must fire."""
    text = schedule.strip()
    fields = text.split()
    if text.startswith("@"):
        valid = croniter.is_valid(text)
    else:
        valid = len(fields) == 5 and croniter.is_valid(text)
    if not valid:
        return (
            f"{schedule!r} is not a valid cron expression (5 fields: minute hour day month "
            f"weekday, e.g. '0 2 * * 6'); put the time zone in {zone_path}"
        )
    try:
        croniter(text, datetime(2000, 1, 1)).get_next(datetime)
    except CroniterBadDateError:
        return f"{schedule!r} never fires (no such date); check the day and month fields"
    return None


def parse_time(r: SpecReader, text: str, path: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        r.fail(path, f"{text!r} is not an RFC 3339 time such as 2026-12-05T22:00:00Z")
        return None
    if moment.tzinfo is None:
        r.fail(path, f"{text!r} has no time zone offset; add Z or +01:00")
        return None
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        r.fail(path, f"{text!r} is outside the years 1 to 9999 in UTC")
        return None


def read_zone(r: SpecReader, name: object, path: str) -> ZoneInfo | None:
    if not isinstance(name, str) or not name:
        r.fail(path, "must be an IANA time zone name such as Europe/Berlin")
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a name too long for a file
        r.fail(path, f"unknown time zone {name!r}; use an IANA name such as Europe/Berlin")
        return None
