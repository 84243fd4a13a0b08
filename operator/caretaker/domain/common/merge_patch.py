"""JSON merge patch (RFC 7386) as the API server applies it to a status subresource, so a
reconcile can tell that its status write would change nothing and leave it out."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def apply_merge_patch(target: Any, patch: Any) -> Any:
    """The document the API server would store after merge-patching ``target`` with ``patch``:
    a null removes a key, an object merges key by key, anything else replaces."""
    if not isinstance(patch, Mapping):
        return patch
    merged = dict(target) if isinstance(target, Mapping) else {}
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = apply_merge_patch(merged.get(key), value)
    return merged


def changes_nothing(current: Mapping[str, Any] | None, patch: Mapping[str, Any]) -> bool:
    """True when merge-patching ``current`` with ``patch`` leaves it as it is."""
    before = dict(current or {})
    return bool(apply_merge_patch(before, patch) == before)
