"""``spec.silence``: the Alertmanager silences a Maintenance holds while a node is away.

Each item of ``matchers`` is one silence (Alertmanager ANDs the matchers of a silence, so "the
node's alerts or its OSDs' alerts" takes two). A matcher is written as in Alertmanager and
amtool, ``name="value"`` with ``=``, ``!=``, ``=~`` or ``!~``; in the value ``{node}`` stands
for the node's name and ``{osds}`` (regex matchers only) for its OSDs as ``osd\\.(1|2)``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from caretaker.domain.common.durations import format_duration
from caretaker.domain.common.secret_refs import read_secret_key_ref
from caretaker.domain.common.validation import SpecReader

DEFAULT_TAIL = timedelta(minutes=10)
DEFAULT_MAX_DURATION = timedelta(hours=24)
# after a node is restored its silences stay this long, so that the alerts the maintenance
# raised (an OSD down, seen late through the exporter and Prometheus) resolve while still
# silenced instead of paging for a node that is already back
DEFAULT_AFTER_RESTORE = timedelta(minutes=2)
MAX_SILENCES = 10
_MATCHER = re.compile(r'^\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"\s*$')
_PLACEHOLDER = re.compile(r"\{([a-zA-Z]*)\}")
_PLACEHOLDERS = {"node", "osds"}


@dataclass(frozen=True)
class AlertmanagerRef:
    """Where the silences are kept: the URL, and the key of a Secret in the Maintenance's
    namespace that holds a bearer token ("" when none)."""

    url: str
    namespace: str = ""
    token_secret: str = ""
    token_key: str = ""


@dataclass(frozen=True)
class LabelMatch:
    """One matcher of a silence, its value either a template or already filled in."""

    name: str
    value: str
    is_regex: bool = False
    is_equal: bool = True

    def __str__(self) -> str:
        operator = {
            (True, False): "=",
            (True, True): "=~",
            (False, False): "!=",
            (False, True): "!~",
        }
        escaped = self.value.replace("\\", "\\\\").replace('"', '\\"')
        return f'{self.name}{operator[(self.is_equal, self.is_regex)]}"{escaped}"'

    @property
    def needs_osds(self) -> bool:
        return "{osds}" in self.value


DEFAULT_MATCHERS: tuple[tuple[LabelMatch, ...], ...] = (
    (LabelMatch("node", "{node}"),),
    (LabelMatch("ceph_daemon", "{osds}", is_regex=True),),
)


@dataclass(frozen=True)
class SilenceSpec:
    url: str
    token_secret: str = ""  # spec.silence.alertmanager.bearerTokenSecretRef
    token_key: str = ""
    matchers: tuple[tuple[LabelMatch, ...], ...] = DEFAULT_MATCHERS
    tail: timedelta = DEFAULT_TAIL
    max_duration: timedelta = DEFAULT_MAX_DURATION
    after_restore: timedelta = DEFAULT_AFTER_RESTORE


def render(template: LabelMatch, node: str, osds: tuple[int, ...]) -> LabelMatch:
    """The matcher for one node: ``{node}`` and ``{osds}`` filled in (escaped in regexes)."""
    name = node.replace(".", "\\.") if template.is_regex else node
    ids = "|".join(str(i) for i in sorted(osds))
    value = template.value.replace("{node}", name).replace("{osds}", f"osd\\.({ids})")
    return LabelMatch(template.name, value, template.is_regex, template.is_equal)


def read_silence(r: SpecReader, raw: Mapping[str, Any]) -> SilenceSpec | None:
    path = "spec.silence"
    r.unknown_keys(raw, {"alertmanager", "matchers", "tail", "maxDuration", "afterRestore"}, path)
    am = r.section(raw, "alertmanager", path)
    r.unknown_keys(am, {"url", "bearerTokenSecretRef"}, f"{path}.alertmanager")
    secret, key = _read_token_ref(r, am, f"{path}.alertmanager")
    url = r.string(am, "url", f"{path}.alertmanager")
    if url is None:
        r.fail(f"{path}.alertmanager.url", "required: the Alertmanager base URL")
    elif problem := url_problem(url):
        r.fail(f"{path}.alertmanager.url", problem)
    tail = r.duration(raw, "tail", path, DEFAULT_TAIL) or DEFAULT_TAIL
    longest = r.duration(raw, "maxDuration", path, DEFAULT_MAX_DURATION) or DEFAULT_MAX_DURATION
    if tail > longest:
        r.fail(f"{path}.tail", f"longer than spec.silence.maxDuration ({longest})")
    after = r.duration(raw, "afterRestore", path, DEFAULT_AFTER_RESTORE, positive=False)
    if after is not None and after > tail:
        r.fail(f"{path}.afterRestore", f"longer than spec.silence.tail ({format_duration(tail)})")
    matchers = _read_matchers(r, raw, f"{path}.matchers")
    if not url:
        return None
    return SilenceSpec(url, secret, key, matchers, tail, longest, after or timedelta(0))


def _read_token_ref(r: SpecReader, am: Mapping[str, Any], path: str) -> tuple[str, str]:
    if "bearerTokenSecretRef" not in am:
        return "", ""
    path = f"{path}.bearerTokenSecretRef"
    ref = am["bearerTokenSecretRef"]
    if not isinstance(ref, Mapping):
        r.fail(path, "must be an object with name and key")
        return "", ""
    found = read_secret_key_ref(r, ref, path, owner="Maintenance")
    return (found.name, found.key) if found else ("", "")


def _read_matchers(
    r: SpecReader, raw: Mapping[str, Any], path: str
) -> tuple[tuple[LabelMatch, ...], ...]:
    if "matchers" not in raw:
        return DEFAULT_MATCHERS
    items = raw["matchers"]
    if not isinstance(items, list) or not items or len(items) > MAX_SILENCES:
        r.fail(path, f"must be a list of 1 to {MAX_SILENCES} silences, each a list of matchers")
        return DEFAULT_MATCHERS
    groups: list[tuple[LabelMatch, ...]] = []
    for index, group in enumerate(items):
        if not isinstance(group, list) or not group:
            r.fail(f"{path}[{index}]", 'must be a non-empty list of matchers such as node="{node}"')
            continue
        read = [_read_matcher(r, text, f"{path}[{index}][{j}]") for j, text in enumerate(group)]
        found = tuple(m for m in read if m is not None)
        if len(found) == len(group) and all(not m.is_equal for m in found):
            r.fail(f"{path}[{index}]", "needs at least one = or =~ matcher (Alertmanager's rule)")
        groups.append(found)
    return tuple(groups)


def _read_matcher(r: SpecReader, text: object, path: str) -> LabelMatch | None:
    match = _MATCHER.match(text) if isinstance(text, str) else None
    if match is None:
        r.fail(
            path, f'{text!r} is not a matcher such as node="{{node}}" or ceph_daemon=~"{{osds}}"'
        )
        return None
    name, operator, quoted = match.groups()
    value = re.sub(r"\\(.)", r"\1", quoted)
    matcher = LabelMatch(name, value, is_regex="~" in operator, is_equal="!" not in operator)
    unknown = set(_PLACEHOLDER.findall(value)) - _PLACEHOLDERS
    if unknown:
        r.fail(path, f"unknown placeholder {{{sorted(unknown)[0]}}}: use {{node}} or {{osds}}")
        return None
    if matcher.needs_osds and not matcher.is_regex:
        r.fail(path, "{osds} is a regular expression: use it with =~ or !~")
        return None
    if matcher.is_regex:
        try:
            re.compile(render(matcher, "node-a", (1, 2)).value)
        except re.error as error:
            r.fail(path, f"not a valid regular expression: {error}")
            return None
    return matcher


def url_problem(url: str) -> str | None:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return f"{url!r} is not a valid URL (check the port)"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"{url!r} is not an http:// or https:// URL with a host"
    if parts.username is not None or parts.password is not None:
        return f"{url!r} must not contain credentials"
    if port == 0:
        return f"{url!r} has no valid port"
    return None
