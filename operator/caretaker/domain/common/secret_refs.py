"""A reference to one key of a Secret in the object's own namespace (``{name, key}``), read the
same way wherever a spec takes one (a HealthPolicy's receivers and Prometheus, a Maintenance's
Alertmanager token)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from caretaker.domain.common.validation import SpecReader

SECRET_NAME = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")
SECRET_KEY = re.compile(r"^[-._a-zA-Z0-9]{1,253}$")


@dataclass(frozen=True)
class SecretKeyRef:
    """One key of a Secret in the object's namespace."""

    name: str
    key: str


def read_secret_key_ref(
    r: SpecReader, raw: Mapping[str, Any], path: str, *, owner: str = "policy"
) -> SecretKeyRef | None:
    """Reads ``{name, key}``; both are required. ``owner`` names the object in messages ("a
    Secret in the policy's namespace")."""
    r.unknown_keys(raw, {"name", "key"}, path)
    name, key = r.string(raw, "name", path), r.string(raw, "key", path)
    if name is None:
        r.fail(f"{path}.name", f"required: the name of a Secret in the {owner}'s namespace")
    elif not SECRET_NAME.match(name):
        r.fail(f"{path}.name", f"{name!r} is not a valid Secret name")
    if key is None:
        r.fail(f"{path}.key", "required: the key inside the Secret that holds the value")
    elif not SECRET_KEY.match(key):
        r.fail(f"{path}.key", f"{key!r} is not a valid Secret key")
    return SecretKeyRef(name, key) if name and key else None
