"""Duration strings in specs: parsing, rejection of bad input, compact formatting."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from caretaker.domain.common.durations import (
    MAX_DURATION,
    DurationError,
    format_duration,
    parse_duration,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90s", timedelta(seconds=90)),
        ("10m", timedelta(minutes=10)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("1.5h", timedelta(hours=1, minutes=30)),
        ("2d", timedelta(days=2)),
        ("250ms", timedelta(milliseconds=250)),
        ("1d2h3m4s", timedelta(days=1, hours=2, minutes=3, seconds=4)),
        ("0s", timedelta(0)),
        ("5m5ms", timedelta(minutes=5, milliseconds=5)),
    ],
)
def test_parse_reads_units(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "10",
        "1x",
        "-5m",
        " 5m",
        "5m ",
        "5 m",
        "m",
        "1h-30m",
        "1,5h",
        "5M",
        "1w",
        ".5h",
        "5m\n",  # a trailing newline (YAML block scalar) is not a duration either
    ],
)
def test_parse_rejects_bad_input_with_a_hint(text: str) -> None:
    with pytest.raises(DurationError) as caught:
        parse_duration(text)
    message = str(caught.value)
    assert repr(text) in message
    assert "e.g." in message
    assert "ms, s, m, h, d" in message


@pytest.mark.parametrize("value", [None, 5, 5.0, ["5m"]])
def test_parse_rejects_non_strings(value: object) -> None:
    with pytest.raises(DurationError):
        parse_duration(value)  # type: ignore[arg-type]


def test_duration_error_is_a_value_error() -> None:
    assert issubclass(DurationError, ValueError)


@pytest.mark.parametrize(
    ("delta", "text"),
    [
        (timedelta(0), "0s"),
        (timedelta(seconds=-5), "0s"),
        (timedelta(milliseconds=999), "0s"),
        (timedelta(seconds=1), "1s"),
        (timedelta(seconds=90), "1m30s"),
        (timedelta(hours=1), "1h"),
        (timedelta(hours=1, minutes=30, seconds=5), "1h30m5s"),
        (timedelta(days=2, seconds=5), "2d5s"),
        (timedelta(days=3, hours=23, minutes=59, seconds=59), "3d23h59m59s"),
    ],
)
def test_format_is_compact(delta: timedelta, text: str) -> None:
    assert format_duration(delta) == text


@settings(max_examples=200, database=None)
@given(st.integers(min_value=1, max_value=400 * 86400))
def test_format_then_parse_round_trips_whole_seconds(seconds: int) -> None:
    delta = timedelta(seconds=seconds)
    text = format_duration(delta)
    assert parse_duration(text) == delta


_UNITS = {"d": 86400, "h": 3600, "m": 60, "s": 1}


@settings(max_examples=200, database=None)
@given(
    st.lists(
        st.tuples(st.integers(min_value=0, max_value=500), st.sampled_from(list(_UNITS))),
        min_size=1,
        max_size=4,
    )
)
def test_parse_sums_the_parts_and_format_is_canonical(parts: list[tuple[int, str]]) -> None:
    text = "".join(f"{value}{unit}" for value, unit in parts)
    total = sum(value * _UNITS[unit] for value, unit in parts)
    parsed = parse_duration(text)
    assert parsed == timedelta(seconds=total)
    canonical = format_duration(parsed)
    assert parse_duration(canonical) == parsed
    assert format_duration(parse_duration(canonical)) == canonical


@pytest.mark.parametrize(
    "text",
    [
        "36501d",
        "99999999999d",  # once an OverflowError from timedelta
        "9" * 400 + "s",  # once an OverflowError: the float is infinite
        "1" + "0" * 20 + "ms",
        "36500d1s",
    ],
)
def test_parse_rejects_huge_durations_with_the_limit(text: str) -> None:
    with pytest.raises(DurationError) as caught:
        parse_duration(text)
    message = str(caught.value)
    assert "too long: at most 36500d (100 years)" in message
    assert len(message) < 120, "a huge input is shortened in the message"


def test_the_limit_itself_is_a_duration() -> None:
    assert parse_duration("36500d") == MAX_DURATION
    assert parse_duration("876000h") == MAX_DURATION


@settings(max_examples=300, database=None)
@given(
    st.text(alphabet="0123456789.mshd", max_size=60)
    | st.text(st.characters(blacklist_categories=["Lu", "Cs"]), max_size=30)  # no "Error" by chance
)
def test_parse_raises_nothing_but_duration_error(text: str) -> None:
    try:
        parsed: timedelta | str = parse_duration(text)
    except DurationError as error:
        parsed = str(error)
    if isinstance(parsed, str):
        assert "Error" not in parsed
    else:
        assert timedelta(0) <= parsed <= MAX_DURATION
