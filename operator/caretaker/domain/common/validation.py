"""Field-level validation helpers shared by the spec readers of every resource."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from caretaker.domain.common.durations import DurationError, parse_duration
from caretaker.domain.common.labels import label_key_problem, label_value_problem

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def join_key(path: str, key: str) -> str:
    """``path`` extended by one key: ``spec.nodeSelector.rack``, or quoted when the key is no
    identifier: ``spec.nodeSelector["kubernetes.io/hostname"]``."""
    if _IDENTIFIER.match(key):
        return f"{path}.{key}" if path else key
    return f'{path}["{key}"]'


@dataclass(frozen=True)
class FieldError:
    """One problem in a spec, with the path of the field (``spec.window.timeZone``)."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


@dataclass
class SpecReader:
    """Reads typed values out of a raw spec, collecting every error instead of stopping at one."""

    errors: list[FieldError] = field(default_factory=list)

    def fail(self, path: str, message: str) -> None:
        self.errors.append(FieldError(path, message))

    def section(self, raw: Mapping[str, Any], key: str, path: str) -> Mapping[str, Any]:
        value = raw.get(key)
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            self.fail(f"{path}.{key}", "must be an object")
            return {}
        return value

    def unknown_keys(self, raw: Mapping[str, Any], known: set[str], path: str) -> None:
        for key in sorted(set(raw) - known, key=str):
            self.fail(join_key(path, str(key)), "unknown field")

    def boolean(self, raw: Mapping[str, Any], key: str, path: str, default: bool) -> bool:
        value = raw.get(key, default)
        if not isinstance(value, bool):
            self.fail(f"{path}.{key}", f"must be true or false, not {value!r}")
            return default
        return value

    def integer(
        self, raw: Mapping[str, Any], key: str, path: str, default: int | None, minimum: int
    ) -> int | None:
        value = raw.get(key, default)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(f"{path}.{key}", f"must be an integer, not {value!r}")
            return default
        if value < minimum:
            self.fail(f"{path}.{key}", f"must be at least {minimum}, not {value}")
            return default
        return value

    def string(self, raw: Mapping[str, Any], key: str, path: str) -> str | None:
        value = raw.get(key)
        if value is None:
            return None
        if not isinstance(value, str) or not value.strip():
            self.fail(f"{path}.{key}", f"must be a non-empty string, not {value!r}")
            return None
        return value

    def duration(
        self,
        raw: Mapping[str, Any],
        key: str,
        path: str,
        default: timedelta | None,
        *,
        positive: bool = True,
    ) -> timedelta | None:
        value = raw.get(key)
        if value is None:
            return default
        try:
            parsed = parse_duration(value)
        except DurationError as exc:
            self.fail(f"{path}.{key}", str(exc))
            return default
        if positive and parsed <= timedelta(0):
            self.fail(f"{path}.{key}", f"must be longer than zero, not {value!r}")
            return default
        return parsed

    def string_list(self, raw: Mapping[str, Any], key: str, path: str) -> tuple[str, ...]:
        value = raw.get(key)
        if value is None:
            return ()
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            self.fail(f"{path}.{key}", "must be a list of non-empty strings")
            return ()
        return tuple(value)

    def string_map(self, raw: Mapping[str, Any], key: str, path: str) -> dict[str, str]:
        value = raw.get(key)
        if value is None:
            return {}
        if not isinstance(value, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in value.items()
        ):
            self.fail(f"{path}.{key}", "must be a map of strings to strings")
            return {}
        return dict(value)

    def labels(self, raw: Mapping[str, Any], key: str, path: str) -> dict[str, str] | None:
        """A label selector (matchLabels): a map whose keys and values follow the rules of
        Kubernetes labels, since a selector that breaks them can match nothing. None: absent."""
        if key not in raw:
            return None
        value = raw[key]
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            self.fail(f"{path}.{key}", "must be a map of label names to values")
            return {}
        selector: dict[str, str] = {}
        for label, wanted in value.items():
            where = join_key(f"{path}.{key}", str(label))
            if not isinstance(label, str) or not isinstance(wanted, str):
                self.fail(where, f"must be a string, not {wanted!r}")
            elif problem := label_key_problem(label) or label_value_problem(wanted):
                self.fail(where, problem)
            selector[str(label)] = str(wanted)  # kept even if wrong: the spec is refused anyway
        return selector
