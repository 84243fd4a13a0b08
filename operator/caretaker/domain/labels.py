"""Kubernetes label selection (matchLabels) as a pure function."""

from __future__ import annotations

from collections.abc import Mapping


def matches_labels(labels: Mapping[str, str], selector: Mapping[str, str] | None) -> bool:
    """True when every selector label is present with the same value (no selector: all match)."""
    return selector is None or all(labels.get(key) == value for key, value in selector.items())
