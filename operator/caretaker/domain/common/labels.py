"""Kubernetes labels: selection (matchLabels) as a pure function, and the rules for label keys
and values that the API server applies to labels (and so a selector must follow to match any)."""

from __future__ import annotations

import re
from collections.abc import Mapping

_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_PREFIX = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
MAX_NAME = 63
MAX_PREFIX = 253
_CHARACTERS = (
    f"at most {MAX_NAME} letters, digits, '-', '_' or '.', beginning and ending with a letter "
    "or digit"
)


def matches_labels(labels: Mapping[str, str], selector: Mapping[str, str] | None) -> bool:
    """True when every selector label is present with the same value (no selector: all match)."""
    return selector is None or all(labels.get(key) == value for key, value in selector.items())


def label_key_problem(key: str) -> str | None:
    """Why ``key`` cannot be a label key (``[prefix/]name``), or None."""
    prefix, slash, name = key.rpartition("/")
    if slash and not prefix:
        return f"{key!r} is not a valid label key: the prefix before '/' is empty"
    if prefix and (len(prefix) > MAX_PREFIX or not _PREFIX.fullmatch(prefix)):
        return (
            f"{key!r} is not a valid label key: the prefix {prefix!r} must be a DNS name "
            f"(lower-case letters, digits, '-' and '.', at most {MAX_PREFIX} characters)"
        )
    if not name:
        return f"{key!r} is not a valid label key: the name is empty"
    if len(name) > MAX_NAME or not _NAME.fullmatch(name):
        return f"{key!r} is not a valid label key: the name (after any prefix/) takes {_CHARACTERS}"
    return None


def label_value_problem(value: str) -> str | None:
    """Why ``value`` cannot be a label value (empty is allowed), or None."""
    if value and (len(value) > MAX_NAME or not _NAME.fullmatch(value)):
        return f"{value!r} is not a valid label value: it is empty or takes {_CHARACTERS}"
    return None
