"""Kubernetes-style timestamps (RFC 3339, UTC, second precision) for status fields."""

from __future__ import annotations

from datetime import UTC, datetime


def format_time(moment: datetime) -> str:
    """``2026-11-21T10:00:00Z``; an aware time in any zone is converted to UTC first."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(value: object) -> datetime | None:
    """Reads what format_time wrote (or any ISO 8601 time); None for empty values."""
    if not value:
        return None
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
