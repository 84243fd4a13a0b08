"""Maintenance windows: cron in local wall time, durations in real time, DST edge cases."""

from __future__ import annotations

import functools
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from croniter import croniter
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from caretaker.domain.common.windows import (
    AlwaysOpen,
    OneOffWindow,
    RecurringWindow,
    can_start,
    is_over,
    next_opportunity,
    window_state,
)

ZONES = [
    "Europe/Berlin",
    "America/New_York",
    "Australia/Lord_Howe",  # 30-minute DST shift
    "Asia/Kolkata",
    "UTC",
    "Pacific/Chatham",  # +12:45/+13:45, changes at 02:45 local
]
MINUTES = ["0", "30", "15", "45", "50", "5", "*/20", "0,30"]
HOURS = ["*", "0", "1", "2", "2", "3", "2,3", "1-3", "*/6", "23", "12"]
DOMS = ["*", "*", "*", "1", "15", "1,15", "28"]
DOWS = ["*", "*", "*", "0", "1-5", "6", "0,6"]
SCHEDULES = st.one_of(
    st.builds(
        "{} {} {} * {}".format,
        st.sampled_from(MINUTES),
        st.sampled_from(HOURS),
        st.sampled_from(DOMS),
        st.sampled_from(DOWS),
    ),
    st.sampled_from(["@daily", "@weekly", "@hourly"]),
)
DURATIONS = st.integers(min_value=1, max_value=3 * 24 * 60).map(lambda m: timedelta(minutes=m))
FIRST, LAST = datetime(2024, 1, 1, tzinfo=UTC), datetime(2031, 1, 1, tzinfo=UTC)
PROPERTY = settings(
    max_examples=120,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)


@functools.cache
def transitions(zone_name: str) -> tuple[datetime, ...]:
    """Instants (to the minute) at which the zone's UTC offset changes, 2024-2030."""
    zone, found = ZoneInfo(zone_name), []
    day = FIRST
    before = day.astimezone(zone).utcoffset()
    while day < LAST:
        after_day = day + timedelta(days=1)
        after = after_day.astimezone(zone).utcoffset()
        if after != before:
            lo, hi = day, after_day
            while hi - lo > timedelta(minutes=1):
                mid = lo + (hi - lo) / 2
                lo, hi = (mid, hi) if mid.astimezone(zone).utcoffset() == before else (lo, mid)
            found.append(hi.replace(second=0, microsecond=0))
            before = after
        day = after_day
    return tuple(found)


@st.composite
def instants(draw: st.DrawFn, zone_name: str) -> datetime:
    """Instants over several years, half of them within two days of a DST change."""
    seconds = draw(st.sampled_from([0, 0, 0, 1, 59]))
    near = transitions(zone_name)
    if near and draw(st.booleans()):
        base = draw(st.sampled_from(near))
        hours = draw(st.sampled_from([3, 48]))
        minutes = draw(st.integers(min_value=-hours * 60, max_value=hours * 60))
        return base + timedelta(minutes=minutes, seconds=seconds)
    span = int((LAST - FIRST).total_seconds() // 60)
    return FIRST + timedelta(minutes=draw(st.integers(0, span)), seconds=seconds)


@st.composite
def cases(draw: st.DrawFn) -> tuple[RecurringWindow, datetime]:
    zone_name = draw(st.sampled_from(ZONES))
    window = RecurringWindow(draw(SCHEDULES), draw(DURATIONS), ZoneInfo(zone_name))
    return window, draw(instants(zone_name))


def _berlin(schedule: str, minutes: int) -> RecurringWindow:
    return RecurringWindow(schedule, timedelta(minutes=minutes), ZoneInfo("Europe/Berlin"))


# Found by these properties; kept as explicit examples so they are always tried.
DST_EXAMPLES = [
    # 03:15 CEST, after the skipped hour; 02:30 happens at 03:30 CEST (01:30Z) that day.
    (_berlin("30 2 * * *", 60), datetime(2026, 3, 29, 1, 15, tzinfo=UTC)),
    # 03:00 CEST: the 01:30 CET start (00:30Z) is still open for another minute.
    (_berlin("30 * * * *", 31), datetime(2024, 3, 31, 1, 0, tzinfo=UTC)),
    # 02:05 CET, second pass of the repeated hour: 02:40 CEST (00:40Z) opened last.
    (_berlin("*/20 * * * *", 30), datetime(2024, 10, 27, 1, 5, tzinfo=UTC)),
]


def expected_starts(window: RecurringWindow, now: datetime) -> list[datetime]:
    """Independent oracle: every cron wall time as an instant (skipped times move forward by
    the gap, repeated times happen at their first occurrence), from well before the latest
    window that could still be open until past the first start after ``now``."""
    zone = window.time_zone
    wall = (now - window.duration).astimezone(zone).replace(tzinfo=None) - timedelta(days=1)
    found: set[datetime] = set()
    first_future_wall: datetime | None = None
    walker = croniter(window.schedule, wall)
    while True:
        wall = walker.get_next(datetime)
        if first_future_wall is not None and wall > first_future_wall + timedelta(hours=3):
            return sorted(found)
        instant = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
        found.add(instant)
        if instant > now and first_future_wall is None:
            first_future_wall = wall


@PROPERTY
@given(cases())
@example(DST_EXAMPLES[0])
@example(DST_EXAMPLES[1])
@example(DST_EXAMPLES[2])
def test_window_state_agrees_with_the_cron_starts(case: tuple[RecurringWindow, datetime]) -> None:
    window, now = case
    state = window_state(window, now)
    starts = expected_starts(window, now)
    past = [s for s in starts if s <= now]
    assert state.is_open == any(now < s + window.duration for s in past)
    if state.is_open:
        assert state.ends_at is not None
        opening = state.ends_at - window.duration  # real elapsed time, not wall time
        assert opening == max(past)
        assert opening <= now < state.ends_at
    else:
        assert state.ends_at is None
    assert state.next_start == min(s for s in starts if s > now)


@PROPERTY
@given(cases())
@example(DST_EXAMPLES[0])
@example(DST_EXAMPLES[1])
@example(DST_EXAMPLES[2])
def test_next_start_opens_and_nothing_opens_before_it(
    case: tuple[RecurringWindow, datetime],
) -> None:
    window, now = case
    state = window_state(window, now)
    upcoming = state.next_start
    assert upcoming is not None
    assert upcoming > now
    at_start = window_state(window, upcoming)
    assert at_start.is_open
    assert at_start.ends_at == upcoming + window.duration
    if not state.is_open:
        gap = upcoming - now
        probes = [now + gap * k / 24 for k in range(1, 24)]
        probes += [now + timedelta(minutes=m) for m in range(5, 181, 5)]
        for probe in probes:
            if probe < upcoming:
                assert not window_state(window, probe).is_open, probe


@PROPERTY
@given(cases(), DURATIONS)
@example(DST_EXAMPLES[1], timedelta(minutes=1))
def test_can_start_only_when_the_step_fits(
    case: tuple[RecurringWindow, datetime], needed: timedelta
) -> None:
    window, now = case
    state = window_state(window, now)
    fits = state.is_open and state.ends_at is not None and now + needed <= state.ends_at
    assert can_start(window, now, needed) == fits
    assert not is_over(window, now)
    chance = next_opportunity(window, now, needed)
    if needed > window.duration:
        assert chance is None
    else:
        assert chance is not None
        assert chance >= now
        assert can_start(window, chance, needed)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def berlin(schedule: str, duration: timedelta) -> RecurringWindow:
    return RecurringWindow(schedule, duration, ZoneInfo("Europe/Berlin"))


def new_york(schedule: str, duration: timedelta) -> RecurringWindow:
    return RecurringWindow(schedule, duration, ZoneInfo("America/New_York"))


HOUR, HALF = timedelta(hours=1), timedelta(minutes=30)
SKIPPED = [  # (window, first instant the skipped wall time opens at, a probe inside the gap)
    (berlin("30 2 * * *", HOUR), at("2026-03-29T01:30"), at("2026-03-29T01:15")),
    (new_york("30 2 * * *", HOUR), at("2026-03-08T07:30"), at("2026-03-08T07:15")),
    (
        RecurringWindow("15 2 * * *", HOUR, ZoneInfo("Australia/Lord_Howe")),
        at("2026-10-03T15:45"),  # 02:15 +10:30 does not exist: 02:45 +11:00
        at("2026-10-03T15:40"),
    ),
]


@pytest.mark.parametrize(("window", "opens", "probe"), SKIPPED)
def test_skipped_wall_time_opens_moved_forward_by_the_gap(
    window: RecurringWindow, opens: datetime, probe: datetime
) -> None:
    before = window_state(window, opens - timedelta(hours=1))
    assert (before.is_open, before.next_start) == (False, opens)
    state = window_state(window, opens)
    assert state.is_open
    assert state.ends_at == opens + window.duration
    # Between the end of the wall-clock gap and the moved start: still the same next start.
    assert window_state(window, probe).next_start == opens


def test_long_window_stays_open_across_a_skipped_start() -> None:
    window = berlin("30 2 * * *", timedelta(days=2))
    # Opened 2026-03-28 02:30 CET (01:30Z) for two days: still open at 01:15Z on the 29th.
    state = window_state(window, at("2026-03-29T01:15"))
    assert state.is_open
    assert state.ends_at == at("2026-03-30T01:30")


@pytest.mark.parametrize(
    ("window", "opens", "probe", "after", "repeat"),
    [
        (
            berlin("30 2 * * *", HALF),
            at("2026-10-25T00:30"),  # 02:30 CEST, first occurrence
            at("2026-10-25T01:10"),  # 02:10 CET, inside the repeated hour
            at("2026-10-26T01:30"),
            at("2026-10-25T01:30"),  # 02:30 CET, second occurrence: no new window
        ),
        (
            new_york("30 1 * * *", HALF),
            at("2026-11-01T05:30"),
            at("2026-11-01T06:10"),
            at("2026-11-02T06:30"),
            at("2026-11-01T06:30"),
        ),
    ],
)
def test_repeated_wall_time_opens_once(
    window: RecurringWindow, opens: datetime, probe: datetime, after: datetime, repeat: datetime
) -> None:
    assert window_state(window, opens - timedelta(minutes=1)).next_start == opens
    state = window_state(window, opens)
    assert (state.is_open, state.ends_at, state.next_start) == (True, opens + HALF, after)
    closed = window_state(window, probe)
    assert (closed.is_open, closed.ends_at, closed.next_start) == (False, None, after)
    assert not window_state(window, repeat).is_open


def test_second_pass_of_repeated_hour_keeps_the_first_pass_starts() -> None:
    window = berlin("*/20 * * * *", HALF)
    # Starts at 02:00, 02:20, 02:40 CEST (00:00Z..00:40Z), none in the CET pass; at 01:05Z
    # (02:05 CET) the 00:40Z window is open until 01:10Z.
    state = window_state(window, at("2024-10-27T01:05"))
    assert (state.is_open, state.ends_at) == (True, at("2024-10-27T01:10"))
    assert state.next_start == at("2024-10-27T02:00")  # 03:00 CET


def test_duration_is_real_elapsed_time_across_the_change() -> None:
    window = berlin("0 1 * * *", timedelta(hours=3))
    state = window_state(window, at("2026-03-29T00:30"))  # 01:30 CET
    assert state.ends_at == at("2026-03-29T03:00")  # 05:00 CEST: four wall-clock hours later
    assert not window_state(window, at("2026-03-29T03:00")).is_open


def test_cron_fields_are_local_wall_time() -> None:
    window = RecurringWindow("0 2 * * 6", HOUR, ZoneInfo("Asia/Kolkata"))
    assert window_state(window, at("2026-05-04T12:00")).next_start == at("2026-05-08T20:30")


START = at("2026-12-05T22:00")
END = START + timedelta(hours=2)
ONE_OFF = OneOffWindow(START, END - START)


@pytest.mark.parametrize(
    ("now", "is_open", "ends_at", "next_start", "over"),
    [
        (START - timedelta(seconds=1), False, None, START, False),
        (START, True, END, None, False),
        (END - timedelta(seconds=1), True, END, None, False),
        (END - timedelta(microseconds=1), True, END, None, False),
        (END, False, None, None, True),
        (START + timedelta(days=9), False, None, None, True),
    ],
)
def test_one_off_window_boundaries(
    now: datetime, is_open: bool, ends_at: datetime | None, next_start: datetime | None, over: bool
) -> None:
    state = window_state(ONE_OFF, now)
    assert (state.is_open, state.ends_at, state.next_start) == (is_open, ends_at, next_start)
    assert is_over(ONE_OFF, now) == over


def test_one_off_can_start_and_next_opportunity() -> None:
    needed = timedelta(minutes=30)
    assert next_opportunity(ONE_OFF, START - HOUR, needed) == START
    assert can_start(ONE_OFF, START + timedelta(minutes=90), needed)
    assert next_opportunity(ONE_OFF, START + timedelta(minutes=90), needed) == START + 3 * HALF
    late = START + timedelta(minutes=91)
    assert not can_start(ONE_OFF, late, needed)
    assert next_opportunity(ONE_OFF, late, needed) is None


def test_next_opportunity_is_none_when_the_one_off_window_is_too_short() -> None:
    short = OneOffWindow(START, timedelta(minutes=10))
    # The window opens later, but a 30 minute step can never fit into it.
    assert next_opportunity(short, START - HOUR, timedelta(minutes=30)) is None


def test_recurring_window_too_short_for_the_step() -> None:
    window = berlin("0 2 * * *", HALF)
    assert next_opportunity(window, at("2026-05-04T12:00"), HOUR) is None


def test_always_open() -> None:
    now = at("2026-05-04T12:00")
    state = window_state(AlwaysOpen(), now)
    assert (state.is_open, state.ends_at, state.next_start) == (True, None, None)
    assert can_start(AlwaysOpen(), now, timedelta(days=30))
    assert not is_over(AlwaysOpen(), now)
    assert next_opportunity(AlwaysOpen(), now, timedelta(days=30)) == now
