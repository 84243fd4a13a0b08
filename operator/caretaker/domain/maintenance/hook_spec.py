"""``spec.hooks``: blocking calls Caretaker makes before and after a Maintenance and each node.

Four lists, each run in order, one hook at a time: ``preMaintenance`` (before the first node
starts), ``preNode`` (a node's gates hold and its Lease and claim are taken, before noout and the
cordon), ``postNode`` (the node is restored, before it is Completed) and ``postMaintenance``
(after the last node). A hook is an HTTP call (``http``) or a Kubernetes Job (``job``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from typing import Any

from caretaker.domain.common.secret_refs import SecretKeyRef, read_secret_key_ref
from caretaker.domain.common.validation import SpecReader
from caretaker.domain.maintenance.silence_spec import url_problem

DEFAULT_HTTP_TIMEOUT = timedelta(seconds=10)
MAX_HTTP_TIMEOUT = timedelta(seconds=60)
DEFAULT_RETRIES = 3
MAX_RETRIES = 5
DEFAULT_JOB_TIMEOUT = timedelta(minutes=30)
MAX_JOB_TIMEOUT = timedelta(hours=24)
MAX_BACKOFF_LIMIT = 10
MAX_HOOKS = 10
_HOOK_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]{0,30}[a-z0-9])?$")
_TICKET_FIELD = re.compile(r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$")
_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
_RESERVED_HEADERS = frozenset({"content-type", "idempotency-key", "content-length", "host"})


class HookStage(StrEnum):
    PRE_MAINTENANCE = "preMaintenance"
    PRE_NODE = "preNode"
    POST_NODE = "postNode"
    POST_MAINTENANCE = "postMaintenance"

    @property
    def is_pre(self) -> bool:
        return self in (HookStage.PRE_MAINTENANCE, HookStage.PRE_NODE)

    @property
    def per_node(self) -> bool:
        return self in (HookStage.PRE_NODE, HookStage.POST_NODE)


@dataclass(frozen=True)
class HttpHook:
    url: str = ""  # or url_secret
    url_secret: SecretKeyRef | None = None
    method: str = "POST"
    headers: Mapping[str, str] = field(default_factory=dict)
    timeout: timedelta = DEFAULT_HTTP_TIMEOUT
    retries: int = DEFAULT_RETRIES
    ticket_field: str = ""  # a dotted path into the JSON answer ("" when none is kept)


@dataclass(frozen=True)
class JobHook:
    template: Mapping[str, Any]  # a pod template (a Job's spec.template)
    timeout: timedelta = DEFAULT_JOB_TIMEOUT
    backoff_limit: int = 0


@dataclass(frozen=True)
class Hook:
    name: str
    http: HttpHook | None = None
    job: JobHook | None = None

    @property
    def kind(self) -> str:
        return "http" if self.http is not None else "job"


@dataclass(frozen=True)
class HooksSpec:
    pre_maintenance: tuple[Hook, ...] = ()
    pre_node: tuple[Hook, ...] = ()
    post_node: tuple[Hook, ...] = ()
    post_maintenance: tuple[Hook, ...] = ()

    def of(self, stage: HookStage) -> tuple[Hook, ...]:
        return {
            HookStage.PRE_MAINTENANCE: self.pre_maintenance,
            HookStage.PRE_NODE: self.pre_node,
            HookStage.POST_NODE: self.post_node,
            HookStage.POST_MAINTENANCE: self.post_maintenance,
        }[stage]

    @property
    def empty(self) -> bool:
        return not any(self.of(stage) for stage in HookStage)


def read_hooks(r: SpecReader, raw: Mapping[str, Any]) -> HooksSpec:
    path = "spec.hooks"
    r.unknown_keys(raw, {str(stage) for stage in HookStage}, path)
    lists = {stage: _read_list(r, raw, stage, f"{path}.{stage}") for stage in HookStage}
    return HooksSpec(
        lists[HookStage.PRE_MAINTENANCE],
        lists[HookStage.PRE_NODE],
        lists[HookStage.POST_NODE],
        lists[HookStage.POST_MAINTENANCE],
    )


def _read_list(
    r: SpecReader, raw: Mapping[str, Any], stage: HookStage, path: str
) -> tuple[Hook, ...]:
    items = raw.get(str(stage))
    if items is None:
        return ()
    if not isinstance(items, list) or len(items) > MAX_HOOKS:
        r.fail(path, f"must be a list of at most {MAX_HOOKS} hooks, each {{name, http | job}}")
        return ()
    hooks: list[Hook] = []
    seen: set[str] = set()
    for index, item in enumerate(items):
        hook = _read_hook(r, item, f"{path}[{index}]")
        if hook is None:
            continue
        if hook.name in seen:
            r.fail(f"{path}[{index}].name", f"hook {hook.name!r} is listed twice in {stage}")
        seen.add(hook.name)
        hooks.append(hook)
    return tuple(hooks)


def _read_hook(r: SpecReader, item: object, path: str) -> Hook | None:
    if not isinstance(item, Mapping):
        r.fail(path, "must be an object with name and http or job")
        return None
    r.unknown_keys(item, {"name", "http", "job"}, path)
    name = r.string(item, "name", path)
    if name is None:
        r.fail(f"{path}.name", "required: a name for the hook (lower-case letters, digits, -)")
    elif not _HOOK_NAME.match(name):
        r.fail(f"{path}.name", f"{name!r} must be 1-32 lower-case letters, digits or -")
    if ("http" in item) == ("job" in item):
        r.fail(path, "give exactly one of http or job")
        return None
    if "http" in item:
        http = _read_http(r, r.section(item, "http", path), f"{path}.http")
        return Hook(name, http=http) if name and http else None
    job = _read_job(r, r.section(item, "job", path), f"{path}.job")
    return Hook(name, job=job) if name and job else None


def _read_http(r: SpecReader, raw: Mapping[str, Any], path: str) -> HttpHook | None:
    keys = {"url", "urlSecret", "method", "headers", "timeout", "retries", "ticketField"}
    r.unknown_keys(raw, keys, path)
    url = r.string(raw, "url", path) or ""
    secret = None
    if isinstance(raw.get("urlSecret"), Mapping):
        secret = read_secret_key_ref(r, raw["urlSecret"], f"{path}.urlSecret", owner="Maintenance")
    elif "urlSecret" in raw:
        r.fail(f"{path}.urlSecret", "must be an object with name and key")
    if bool(url) == ("urlSecret" in raw):
        r.fail(path, "give exactly one of url or urlSecret")
    elif url and (problem := url_problem(url)):
        r.fail(f"{path}.url", problem)
    method = raw.get("method", "POST")
    if method not in ("POST", "PUT"):
        r.fail(f"{path}.method", f"must be POST or PUT, not {method!r}")
    headers = r.string_map(raw, "headers", path)
    for header, value in headers.items():
        if not _HEADER_NAME.match(header) or any(c in value for c in "\r\n\0"):
            r.fail(f'{path}.headers["{header}"]', "not a valid HTTP header name or value")
        elif header.lower() in _RESERVED_HEADERS:
            r.fail(f'{path}.headers["{header}"]', "is set by Caretaker")
    timeout = r.duration(raw, "timeout", path, DEFAULT_HTTP_TIMEOUT) or DEFAULT_HTTP_TIMEOUT
    if timeout > MAX_HTTP_TIMEOUT:
        r.fail(f"{path}.timeout", f"must be at most 60s, not {raw.get('timeout')!r}")
    retries = r.integer(raw, "retries", path, DEFAULT_RETRIES, 0)
    if retries is not None and retries > MAX_RETRIES:
        r.fail(f"{path}.retries", f"must be at most {MAX_RETRIES}, not {retries}")
    ticket = raw.get("ticketField", "")
    if not isinstance(ticket, str) or (ticket and not _TICKET_FIELD.match(ticket)):
        r.fail(f"{path}.ticketField", f"{ticket!r} is not a dotted path such as result.number")
        ticket = ""
    return HttpHook(
        url,
        secret,
        str(method),
        headers,
        timeout,
        DEFAULT_RETRIES if retries is None else retries,
        ticket,
    )


def _read_job(r: SpecReader, raw: Mapping[str, Any], path: str) -> JobHook | None:
    r.unknown_keys(raw, {"template", "timeout", "backoffLimit"}, path)
    template = raw.get("template")
    spec = template.get("spec") if isinstance(template, Mapping) else None
    containers = spec.get("containers") if isinstance(spec, Mapping) else None
    if not isinstance(containers, list) or not containers:
        r.fail(f"{path}.template", "must be a pod template with spec.containers (a Job's template)")
        return None
    if not all(isinstance(c, Mapping) and isinstance(c.get("name"), str) for c in containers):
        r.fail(f"{path}.template.spec.containers", "every container needs a name")
        return None
    restart = spec.get("restartPolicy", "Never") if isinstance(spec, Mapping) else "Never"
    if restart not in ("Never", "OnFailure"):
        r.fail(f"{path}.template.spec.restartPolicy", "must be Never or OnFailure (a Job's rule)")
    timeout = r.duration(raw, "timeout", path, DEFAULT_JOB_TIMEOUT) or DEFAULT_JOB_TIMEOUT
    if timeout > MAX_JOB_TIMEOUT:
        r.fail(f"{path}.timeout", f"must be at most 24h, not {raw.get('timeout')!r}")
    limit = r.integer(raw, "backoffLimit", path, 0, 0) or 0
    if limit > MAX_BACKOFF_LIMIT:
        r.fail(f"{path}.backoffLimit", f"must be at most {MAX_BACKOFF_LIMIT}, not {limit}")
    assert isinstance(template, Mapping)
    return JobHook(template, timeout, limit)
