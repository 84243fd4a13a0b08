"""Duration strings as users write them in specs: ``90s``, ``10m``, ``1h30m``, ``1.5h``, ``2d``."""

from __future__ import annotations

import math
import re
from datetime import timedelta

_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")
_WHOLE = re.compile(r"^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d))+$")
# Longer than any window, hold or timeout means anything, and short enough that adding it to
# any time a spec can name stays a time (Python's datetime ends with the year 9999).
MAX_DURATION = timedelta(days=36500)
_MAX_TEXT = "36500d (100 years)"
_SHOWN_CHARACTERS = 40


class DurationError(ValueError):
    """A duration string that cannot be read."""


def parse_duration(text: str) -> timedelta:
    """Parses a duration such as ``1h30m``; raises DurationError with a readable message, and
    nothing else whatever the input (a huge value is too long, not an overflow)."""
    if not isinstance(text, str) or not _WHOLE.fullmatch(text):
        raise DurationError(
            f"{_shown(text)} is not a duration: use a number and a unit (ms, s, m, h, d), "
            "e.g. 90s, 1h30m"
        )
    seconds = sum(float(value) * _UNIT_SECONDS[unit] for value, unit in _PART.findall(text))
    if not math.isfinite(seconds) or seconds > MAX_DURATION.total_seconds():
        raise DurationError(f"{_shown(text)} is too long: at most {_MAX_TEXT}")
    return timedelta(seconds=seconds)


def _shown(value: object) -> str:
    text = repr(value)
    if len(text) <= _SHOWN_CHARACTERS:
        return text
    return f"{text[:_SHOWN_CHARACTERS]}... ({len(str(value))} characters)"


def format_duration(delta: timedelta) -> str:
    """Formats a duration compactly (``1h30m5s``) for status messages."""
    total = int(delta.total_seconds())
    if total <= 0:
        return "0s"
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    parts = [(days, "d"), (hours, "h"), (minutes, "m"), (seconds, "s")]
    return "".join(f"{value}{unit}" for value, unit in parts if value)
