"""Type functions of the operator's settings, shared by the flags and their environment variables.

Each takes the raw string and returns the value, or raises ``argparse.ArgumentTypeError`` with a
message for people ("expected a port number (0-65535), got 'tcp://10.96.0.93:9095'"): argparse
prints it for a flag, ``caretaker.settings.flags`` for an environment variable. None of them raises
anything else, whatever the string.
"""

from __future__ import annotations

import argparse
import math
import re
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_NAME = r"[a-z0-9](?:[-a-z0-9]*[a-z0-9])?"
_NAMESPACE = re.compile(_NAME)  # DNS-1123 label, at most 63 characters
_OBJECT_NAME = re.compile(rf"{_NAME}(?:\.{_NAME})*")  # DNS-1123 subdomain, at most 253
_DECIMAL = re.compile(r"[0-9]+(?:\.[0-9]*)?|\.[0-9]+")
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # RFC 9110 token
_CEPH_ENTITY = re.compile(r"(?:client|mon|osd|mds|mgr)\.\S+")
_BUCKET_TYPE = re.compile(r"[A-Za-z0-9_.-]+")
_TRUE = frozenset({"true", "yes", "on", "1"})
_FALSE = frozenset({"false", "no", "off", "0"})
MAX_INTERVAL_SECONDS = 86400.0


def _shown(value: str) -> str:
    return repr(value) if len(value) <= 100 else repr(value[:100]) + "..."


def _invalid(expected: str, value: str) -> argparse.ArgumentTypeError:
    return argparse.ArgumentTypeError(f"expected {expected}, got {_shown(value)}")


def port(value: str) -> int:
    """A TCP port, 0 included (0: the endpoint is off)."""
    text = value.strip()
    if text.isascii() and text.isdigit() and len(text) <= 5 and int(text) <= 65535:
        return int(text)
    raise _invalid("a port number (0-65535)", value)


def interval_seconds(value: str) -> float:
    """A positive number of seconds, at most a day (``10``, ``2.5``)."""
    text = value.strip()
    if _DECIMAL.fullmatch(text):
        seconds = float(text)
        if math.isfinite(seconds) and 0 < seconds <= MAX_INTERVAL_SECONDS:
            return seconds
    raise _invalid(f"a number of seconds (more than 0, at most {MAX_INTERVAL_SECONDS:.0f})", value)


def whole_seconds(value: str) -> int:
    """A whole number of seconds, at least 1 and at most a day (a Lease's duration)."""
    text = value.strip()
    if (
        text.isascii()
        and text.isdigit()
        and len(text) <= 6
        and 1 <= int(text) <= MAX_INTERVAL_SECONDS
    ):
        return int(text)
    raise _invalid(f"a whole number of seconds (1 to {MAX_INTERVAL_SECONDS:.0f})", value)


def boolean(value: str) -> bool:
    text = value.strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise _invalid("true or false", value)


def choice(*options: str) -> Callable[[str], str]:
    def one_of(value: str) -> str:
        if value in options:
            return value
        raise _invalid("one of " + ", ".join(options), value)

    return one_of


def path(value: str) -> Path:
    if value and "\0" not in value:
        return Path(value)
    raise _invalid("a file path", value)


def namespace(value: str) -> str:
    if len(value) <= 63 and _NAMESPACE.fullmatch(value):
        return value
    raise _invalid("a namespace name (lower-case letters, digits, '-')", value)


def object_name(value: str) -> str:
    if len(value) <= 253 and _OBJECT_NAME.fullmatch(value):
        return value
    raise _invalid("a Kubernetes object name (lower-case letters, digits, '-', '.')", value)


def _url(value: str, schemes: tuple[str, ...]) -> urllib.parse.SplitResult | None:
    """The URL's parts when it is an absolute URL of one of these schemes with a valid host and
    port; None otherwise."""
    if any(c.isspace() or not c.isprintable() for c in value):
        return None
    try:
        parts = urllib.parse.urlsplit(value)
        _ = parts.port  # raises ValueError for a port that is no number or out of range
    except ValueError:
        return None
    if parts.scheme not in schemes or not parts.hostname:
        return None
    return parts


def http_url(value: str) -> str:
    """An http:// or https:// URL (Prometheus, PagerDuty)."""
    if _url(value, ("http", "https")) is None:
        raise _invalid("an http:// or https:// URL", value)
    return value


def liveness(value: str) -> str:
    """kopf's liveness endpoint, served over plain HTTP; or ``off``."""
    if value == "off" or _url(value, ("http",)) is not None:
        return value
    raise _invalid("'off' or an http:// URL such as http://0.0.0.0:8080/healthz", value)


def header(value: str) -> str:
    """An extra request header ``NAME=VALUE``; returned as ``NAME=VALUE`` without the spaces
    around the name and the value."""
    name, _, content = value.partition("=")
    name, content = name.strip(), content.strip()
    if _HEADER_NAME.fullmatch(name) and content and content.isprintable():
        return f"{name}={content}"
    raise _invalid("a header NAME=VALUE, e.g. X-Scope-OrgID=team-a", value)


def ceph_entity(value: str) -> str:
    """A Ceph user such as ``client.admin``."""
    if _CEPH_ENTITY.fullmatch(value):
        return value
    raise _invalid("a Ceph user TYPE.ID such as client.admin", value)


def bucket_type(value: str) -> str:
    """A CRUSH bucket type (host, rack, ...)."""
    if _BUCKET_TYPE.fullmatch(value):
        return value
    raise _invalid("a CRUSH bucket type such as host or rack", value)


@dataclass(frozen=True)
class EnvSetting:
    """An environment variable that supplies a flag's value when the flag is not given."""

    dest: str  # the flag's argparse destination
    variable: str
    parse: Callable[[str], Any]  # the flag's type function
    many: bool = False  # a comma-separated list, for a repeatable flag

    def read(self, raw: str) -> Any:
        if not self.many:
            return self.parse(raw)
        return [self.parse(item.strip()) for item in raw.split(",") if item.strip()] or None
