"""Validates an object against a CRD's schema with ``jsonschema`` and words each error for a
person: the field's path (``spec.window.duration``) and what is wrong with it."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from jsonschema import Draft4Validator, FormatChecker
from jsonschema.exceptions import ValidationError

from caretaker.cli.validate.crds import DNS_LABEL, DNS_SUBDOMAIN
from caretaker.domain.common.validation import FieldError, join_key

DURATION_PATTERN = r"^([0-9]+(\.[0-9]+)?(ms|s|m|h|d))+$"
URL_PATTERN = r"^https?://[^\s/]+"
# As lenient as the API server (go-openapi strfmt also takes a time without offset); the
# operator's reader then says what is missing, in its own words.
_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})?$")
_TYPE_WORDS = {
    "object": "an object",
    "array": "a list",
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "null": "null",
}

_formats = FormatChecker(formats=())


@_formats.checks("date-time")
def _is_date_time(value: object) -> bool:
    if not isinstance(value, str):
        return True
    if not _RFC3339.match(value):
        return False
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class SchemaError:
    path: str
    message: str
    keyword: str  # the JSON Schema keyword that failed: type, enum, pattern, required...


def schema_errors(obj: Any, schema: Mapping[str, Any]) -> list[SchemaError]:
    """Every way ``obj`` breaks ``schema``, in field order, one message per field."""
    validator = Draft4Validator(schema, format_checker=_formats)
    errors = sorted(validator.iter_errors(obj), key=lambda e: _sort_key(e.absolute_path))
    found: list[SchemaError] = []
    for error in errors:
        for item in explain(error):
            problem = SchemaError(item.path, item.message, str(error.validator))
            if problem not in found:
                found.append(problem)
    return found


def field_path(parts: Iterable[str | int]) -> str:
    """``("spec", "rules", 0, "name")`` -> ``spec.rules[0].name``; odd keys are quoted, as the
    operator's spec readers quote them (so both name a field alike)."""
    text = ""
    for part in parts:
        text = f"{text}[{part}]" if isinstance(part, int) else join_key(text, str(part))
    return text


def _sort_key(parts: Iterable[str | int]) -> tuple[tuple[int, str], ...]:
    return tuple((p, "") if isinstance(p, int) else (-1, p) for p in parts)


def explain(error: ValidationError) -> Iterator[FieldError]:
    """One jsonschema error as field errors with plain messages."""
    path = field_path(error.absolute_path)
    keyword, expected, value = error.validator, error.validator_value, error.instance
    if keyword == "required" and isinstance(expected, list):
        for name in expected:
            if isinstance(value, Mapping) and name not in value:
                yield FieldError(join_key(path, name), "required")
        return
    if keyword == "additionalProperties" and isinstance(value, Mapping):
        schema = error.schema if isinstance(error.schema, Mapping) else {}
        known = list(schema.get("properties", {}))
        for name in sorted(set(value) - set(known), key=str):
            yield FieldError(join_key(path, str(name)), _unknown(str(name), known))
        return
    yield FieldError(path or "(document)", _message(error, str(keyword), expected, value))


def _unknown(name: str, known: Sequence[str]) -> str:
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    if close:
        return f"unknown field (did you mean {close[0]}?)"
    if known:
        return f"unknown field; known fields: {', '.join(known)}"
    return "unknown field (this object takes no fields)"


def _show(value: Any) -> str:
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "null"
    return repr(value)


def _message(error: ValidationError, keyword: str, expected: Any, value: Any) -> str:
    simple = {
        "minimum": f"must be at least {expected}, not {value!r}",
        "maximum": f"must be at most {expected}, not {value!r}",
        "minItems": f"needs at least {expected} item(s)",
        "maxItems": f"allows at most {expected} items, not {_length(value)}",
        "maxLength": f"must be at most {expected} characters long, not {_length(value)}",
    }
    if keyword in simple:
        return simple[keyword]
    if keyword == "type":
        kinds = [expected] if isinstance(expected, str) else list(expected)
        words = " or ".join(_TYPE_WORDS.get(k, k) for k in kinds)
        return f"must be {words}, not {_show(value)}"
    if keyword == "enum":
        return f"must be one of {', '.join(map(str, expected))}; not {value!r}"
    if keyword == "minLength":
        return "must not be empty" if expected == 1 else f"needs at least {expected} characters"
    if keyword == "pattern":
        return _pattern_message(str(expected), value)
    if keyword == "format":
        return f"{value!r} is not an RFC 3339 time such as 2026-12-05T22:00:00Z"
    if keyword in ("oneOf", "anyOf"):
        return _alternatives(error, keyword, expected, value)
    return error.message


def _length(value: Any) -> int:
    return len(value) if isinstance(value, str | list | Mapping) else 0


def _pattern_message(pattern: str, value: Any) -> str:
    if pattern == DURATION_PATTERN:
        return (
            f"{value!r} is not a duration: a number and a unit (ms, s, m, h, d), "
            "e.g. 30s, 5m, 1h30m"
        )
    if pattern == URL_PATTERN:
        return f"{value!r} is not an http:// or https:// URL"
    if pattern in (DNS_SUBDOMAIN, DNS_LABEL):
        return f"{value!r} is not a valid name: lower-case letters, digits and '-'" + (
            " ('.' between parts)" if pattern == DNS_SUBDOMAIN else ""
        )
    return f"{value!r} does not match the pattern {pattern}"


def _alternatives(error: ValidationError, keyword: str, expected: Any, value: Any) -> str:
    """Messages for ``oneOf``/``anyOf`` of required fields (exactly one of / at least one of)."""
    names = [
        branch["required"][0]
        for branch in expected
        if isinstance(branch, Mapping) and list(branch) == ["required"] and branch["required"]
    ]
    if len(names) == len(expected) and isinstance(value, Mapping):
        present = [n for n in names if n in value]
        choices = ", ".join(names[:-1]) + f" or {names[-1]}" if len(names) > 1 else names[0]
        if keyword == "anyOf" or not present:
            return f"give {choices}"
        return f"give only one of {choices}, not {' and '.join(present)}"
    causes = [explain(sub) for sub in error.context or ()]
    details = sorted({f"{e.path}: {e.message}" for group in causes for e in group})
    return "matches none of the allowed forms" + (f" ({'; '.join(details[:3])})" if details else "")
