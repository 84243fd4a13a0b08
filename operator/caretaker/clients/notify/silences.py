"""Alertmanager silences as typed values, and the pure translation to and from API v2 JSON."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from caretaker.clients.notify.notification import JsonValue, iso_utc

SilenceState = Literal["active", "pending", "expired"]
_STATES: tuple[SilenceState, ...] = ("active", "pending", "expired")
_OPERATORS = {(True, False): "=", (True, True): "=~", (False, False): "!=", (False, True): "!~"}
_LONG_FRACTION = re.compile(r"(\.\d{6})\d+")


class BadSilenceAnswer(ValueError):
    """Alertmanager's answer does not have the shape of API v2 silences."""


@dataclass(frozen=True)
class Matcher:
    """A label matcher: ``name="value"`` (or ``!=``, ``=~``, ``!~`` with the flags)."""

    name: str
    value: str
    is_regex: bool = False
    is_equal: bool = True

    def __post_init__(self) -> None:
        if not self.name:
            raise ValueError("matcher name must not be empty")

    def __str__(self) -> str:
        operator = _OPERATORS[(self.is_equal, self.is_regex)]
        return f"{self.name}{operator}{self.value!r}"

    def to_json(self) -> dict[str, JsonValue]:
        return {
            "name": self.name,
            "value": self.value,
            "isRegex": self.is_regex,
            "isEqual": self.is_equal,
        }


@dataclass(frozen=True)
class Silence:
    """A silence as Alertmanager reports it."""

    id: str
    matchers: tuple[Matcher, ...]
    starts_at: datetime
    ends_at: datetime
    created_by: str
    comment: str
    state: SilenceState

    @property
    def is_active(self) -> bool:
        return self.state == "active"


def silence_body(
    matchers: Sequence[Matcher],
    starts_at: datetime,
    ends_at: datetime,
    created_by: str,
    comment: str,
    *,
    silence_id: str | None = None,
) -> dict[str, JsonValue]:
    """The ``POST /api/v2/silences`` body; ``ValueError`` for what Alertmanager would refuse.
    With ``silence_id`` the body updates that silence (Alertmanager keeps the ID when only the end
    moves and ``startsAt`` is the one it holds, otherwise it expires it and answers a new ID)."""
    if not matchers:
        raise ValueError("a silence needs at least one matcher")
    if starts_at.tzinfo is None or ends_at.tzinfo is None:
        raise ValueError("silence times must carry a time zone")
    if ends_at <= starts_at:
        raise ValueError("a silence must end after it starts")
    if not created_by.strip() or not comment.strip():
        raise ValueError("created_by and comment must not be empty")
    body: dict[str, JsonValue] = {
        "matchers": [matcher.to_json() for matcher in matchers],
        "startsAt": iso_utc(starts_at),
        "endsAt": iso_utc(ends_at),
        "createdBy": created_by,
        "comment": comment,
    }
    if silence_id:
        body["id"] = silence_id
    return body


def parse_silence_id(document: object) -> str:
    """The ``silenceID`` of a create answer."""
    if isinstance(document, dict):
        found = document.get("silenceID")
        if isinstance(found, str) and found:
            return found
    raise BadSilenceAnswer(f"no silenceID in answer: {str(document)[:200]}")


def parse_silences(document: object) -> tuple[Silence, ...]:
    """The silences of a ``GET /api/v2/silences`` answer."""
    if not isinstance(document, list):
        raise BadSilenceAnswer("silences answer is not a list")
    return tuple(parse_silence(item) for item in document)


def parse_silence(item: object) -> Silence:
    """One gettable silence."""
    if not isinstance(item, dict):
        raise BadSilenceAnswer("silence is not an object")
    try:
        return _silence_from(item)
    except BadSilenceAnswer:
        raise
    except (KeyError, TypeError, ValueError) as error:
        raise BadSilenceAnswer(f"malformed silence: {type(error).__name__}: {error}") from None


def _silence_from(item: dict[str, object]) -> Silence:
    status = item["status"]
    state = status.get("state") if isinstance(status, dict) else None
    for known in _STATES:
        if state == known:
            break
    else:
        raise BadSilenceAnswer(f"unknown silence state {state!r}")
    matchers = item["matchers"]
    if not isinstance(matchers, list):
        raise BadSilenceAnswer("silence matchers are not a list")
    return Silence(
        id=str(item["id"]),
        matchers=tuple(_parse_matcher(m) for m in matchers),
        starts_at=parse_time(item["startsAt"]),
        ends_at=parse_time(item["endsAt"]),
        created_by=str(item["createdBy"]),
        comment=str(item["comment"]),
        state=known,
    )


def _parse_matcher(item: object) -> Matcher:
    if not isinstance(item, dict):
        raise BadSilenceAnswer("matcher is not an object")
    return Matcher(
        name=str(item["name"]),
        value=str(item["value"]),
        is_regex=bool(item.get("isRegex", False)),
        is_equal=bool(item.get("isEqual", True)),
    )


def parse_time(text: object) -> datetime:
    """An RFC 3339 time from Alertmanager (``Z``, up to nanoseconds) as an aware datetime."""
    if not isinstance(text, str):
        raise ValueError(f"time is not a string: {text!r}")
    moment = datetime.fromisoformat(_LONG_FRACTION.sub(r"\1", text))
    if moment.tzinfo is None:
        raise ValueError(f"time without a time zone: {text!r}")
    return moment
