"""The rules of ``spec.hooks``: which hook of a stage runs next, what its status entry says, and
when a stage is done or blocked. Pure; ``handlers.maintenance.hooks`` sends the requests and
creates the Jobs, and ``settle_http`` / ``settle_job_created`` fold their outcome back in.

Hooks of a stage run in list order, one at a time, one per reconcile. An entry that Succeeded
is never run again. A failed pre-hook (``preMaintenance``, ``preNode``) blocks until the
Maintenance's spec is edited (its generation changes): then it runs again. A failed post-hook
is reported and the stage goes on.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from caretaker.domain.common.conditions import FALSE, TRUE, Condition
from caretaker.domain.common.durations import format_duration
from caretaker.domain.common.reasons import NORMAL, WARNING, Note, Reason
from caretaker.domain.maintenance.actions import Action, CreateHookJob, RunHttpHook
from caretaker.domain.maintenance.hook_job import hook_job_name, job_manifest
from caretaker.domain.maintenance.hook_record import (
    HookRecord,
    HookState,
    find_hook,
    put_hook,
)
from caretaker.domain.maintenance.hook_spec import Hook, HooksSpec, HookStage
from caretaker.domain.maintenance.world import World

CONDITION = "HooksSucceeded"
IDEMPOTENCY_HEADER = "Idempotency-Key"
MESSAGE_CHARS = 300


@dataclass(frozen=True)
class StageCall:
    """What the hooks of one stage are run for."""

    stage: HookStage
    node: str = ""  # "" for the Maintenance stages
    nodes: tuple[str, ...] = ()  # every node of the Maintenance
    osds: tuple[int, ...] = ()  # the node's OSDs
    outcome: str = ""  # for post-hooks: Completed, Failed or Aborted


@dataclass(frozen=True)
class StageProgress:
    changed: tuple[HookRecord, ...] = ()  # status entries to put
    action: Action | None = None
    notes: tuple[Note, ...] = ()
    done: bool = True  # every hook of the stage has finished
    failure: HookRecord | None = None  # a failed pre-hook: the stage is blocked
    message: str = ""  # what the stage waits for


def run_stage(world: World, hooks: HooksSpec, call: StageCall) -> StageProgress:
    """The next step of ``call.stage``'s hooks, from the status entries and the Jobs read."""
    changed: list[HookRecord] = []
    notes: list[Note] = []

    def progress(**fields: Any) -> StageProgress:
        return StageProgress(tuple(changed), notes=tuple(notes), **fields)

    for hook in hooks.of(call.stage):
        record = find_hook(world.status.hooks, call.stage, call.node, hook.name)
        if record is not None and stale_failure(record, world.generation):
            record = None if record.kind != hook.kind else record.with_(state=HookState.RUNNING)
            record = _start(world, hook, call, record, retry=True)
            changed.append(record)
            return progress(
                action=_action(world, hook, call, record), done=False, message=_running(record)
            )
        if record is None or (record.state == HookState.RUNNING and record.kind == "http"):
            record = _start(world, hook, call, record)
            changed.append(record)
            return progress(
                action=_action(world, hook, call, record), done=False, message=_running(record)
            )
        if record.state == HookState.RUNNING:  # a Job
            record, note = _observe_job(world, hook, record)
            if note is None:
                if record.job not in world.hook_jobs and not world.hook_jobs_error:
                    action = _action(world, hook, call, record)  # gone or never made: again
                    return progress(action=action, done=False, message=_running(record))
                return progress(done=False, message=_running(record))
            changed.append(record)
            notes.append(note)
        if record.state == HookState.FAILED and call.stage.is_pre:
            return progress(done=False, failure=record, message=failure_text(record))
    return progress()


def stale_failure(record: HookRecord, generation: int) -> bool:
    """A failed pre-hook whose spec was edited since: it runs again."""
    pre = record.stage in (HookStage.PRE_MAINTENANCE, HookStage.PRE_NODE)
    return pre and record.state == HookState.FAILED and record.generation < generation


def blocking_failure(world: World, records: tuple[HookRecord, ...]) -> HookRecord | None:
    """A failed pre-hook that still blocks (the spec was not edited since)."""
    return next(
        (
            h
            for h in records
            if h.state == HookState.FAILED
            and h.stage in (HookStage.PRE_MAINTENANCE, HookStage.PRE_NODE)
            and not stale_failure(h, world.generation)
        ),
        None,
    )


def failure_text(record: HookRecord) -> str:
    where = f" of node {record.node}" if record.node else ""
    return (
        f"{record.stage} hook {record.name}{where} failed: {record.message}; no further node "
        "starts until the spec is edited (any change of spec runs the failed hook again)"
    )


def _running(record: HookRecord) -> str:
    where = f" for node {record.node}" if record.node else ""
    what = f"waiting for Job {record.job}" if record.kind == "job" else "calling"
    return f"{record.stage} hook {record.name}{where}: {what}"


def _start(
    world: World, hook: Hook, call: StageCall, record: HookRecord | None, retry: bool = False
) -> HookRecord:
    attempts = (record.attempts if record is not None else 0) + 1
    started = record.started_at if record is not None and not retry else None
    fresh = HookRecord(
        stage=str(call.stage),
        node=call.node,
        name=hook.name,
        kind=hook.kind,
        state=HookState.RUNNING,
        attempts=attempts,
        generation=world.generation,
        started_at=started or world.now,
    )
    if hook.job is not None:
        fresh = fresh.with_(job=hook_job_name(world, call.stage, call.node, hook.name, attempts))
    return fresh


def _action(world: World, hook: Hook, call: StageCall, record: HookRecord) -> Action:
    if hook.http is not None:
        http = hook.http
        secret = (http.url_secret.name, http.url_secret.key) if http.url_secret else None
        return RunHttpHook(
            node=call.node,
            record=record,
            url=http.url,
            url_secret=secret,
            method=http.method,
            headers=tuple(sorted(http.headers.items())),
            body=hook_body(world, call, hook.name, record.attempts),
            idempotency_key=idempotency_key(world, call, hook.name),
            timeout_seconds=http.timeout.total_seconds(),
            retries=http.retries,
            ticket_field=http.ticket_field,
        )
    return CreateHookJob(
        call.node, record, job_manifest(world, hook, call.stage, call.node, record.job)
    )


def hook_body(world: World, call: StageCall, hook: str, attempt: int) -> dict[str, Any]:
    """The JSON document an HTTP hook receives."""
    namespace, name = world.identity.split("/", 1)
    body: dict[str, Any] = {
        "maintenance": {"namespace": namespace, "name": name, "uid": world.uid},
        "stage": str(call.stage),
        "hook": hook,
        "attempt": attempt,
        "node": call.node or None,
        "nodes": list(call.nodes),
        "osds": list(call.osds),
    }
    if not call.stage.is_pre:
        body["outcome"] = call.outcome
    return body


def idempotency_key(world: World, call: StageCall, hook: str) -> str:
    return f"{world.uid}-{call.stage}-{call.node or '-'}-{hook}"


def _observe_job(world: World, hook: Hook, record: HookRecord) -> tuple[HookRecord, Note | None]:
    job = world.hook_jobs.get(record.job)
    if job is not None and job.complete:
        return _finish(record, world.now, HookState.SUCCEEDED, f"Job {record.job} completed")
    if job is not None and job.failed:
        why = f"Job {record.job} failed: {job.message}"
        return _finish(record, world.now, HookState.FAILED, why)
    timeout = hook.job.timeout if hook.job is not None else None
    started = record.started_at or world.now
    if timeout is not None and world.now - started > timeout:
        why = f"Job {record.job} did not complete within {format_duration(timeout)}"
        return _finish(record, world.now, HookState.FAILED, why)
    return record, None


def _finish(
    record: HookRecord, now: datetime, state: HookState, message: str, ticket: str = ""
) -> tuple[HookRecord, Note]:
    message = message if len(message) <= MESSAGE_CHARS else message[:MESSAGE_CHARS] + "..."
    done = record.with_(state=state, message=message, finished_at=now, ticket=ticket)
    where = f" of node {record.node}" if record.node else ""
    ok = state == HookState.SUCCEEDED
    text = f"{record.stage} hook {record.name}{where} {'succeeded' if ok else 'failed'}: {message}"
    reason = Reason.HOOK_SUCCEEDED if ok else Reason.HOOK_FAILED
    return done, Note(NORMAL if ok else WARNING, reason, text)


def settle_http(
    record: HookRecord,
    now: datetime,
    *,
    status: int | None,
    document: object,
    ticket_field: str,
    error: str,
    attempts: int,
) -> tuple[HookRecord, Note]:
    """The entry after the request: Succeeded (with the ticket) on a 2xx, else Failed."""
    record = record.with_(attempts=record.attempts + max(attempts, 1) - 1)
    if error:
        return _finish(record, now, HookState.FAILED, error)
    ticket = ticket_of(document, ticket_field) if ticket_field else ""
    message = f"HTTP {status}"
    if ticket_field:
        message += f", ticket {ticket}" if ticket else f", no {ticket_field} in the answer"
    return _finish(record, now, HookState.SUCCEEDED, message, ticket)


def settle_job_created(
    record: HookRecord, now: datetime, error: str, final: bool
) -> tuple[HookRecord, Note | None]:
    """The entry after creating the Job: Running; Failed when Kubernetes refused it for good
    (an invalid template, no permission), else the error is shown and the next round retries."""
    if error and final:
        return _finish(record, now, HookState.FAILED, f"creating Job {record.job}: {error}")
    return record.with_(message=f"creating Job {record.job} failed: {error}" if error else ""), None


def ticket_of(document: object, path: str) -> str:
    """The value at a dotted path of a JSON document ("" when it is not there or not a scalar)."""
    value: object = document
    for part in path.split("."):
        if isinstance(value, Mapping) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return ""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return ""
    return str(value)[:MESSAGE_CHARS]


def hooks_condition(records: tuple[HookRecord, ...], hooks: HooksSpec | None) -> Condition | None:
    """``HooksSucceeded``: False naming the failed hooks, True once every hook run succeeded."""
    if not records and (hooks is None or hooks.empty):
        return None
    failed = [h for h in records if h.state == HookState.FAILED]
    if failed:
        text = "; ".join(
            f"{h.stage} hook {h.name}{f' of node {h.node}' if h.node else ''}: {h.message}"
            for h in failed
        )
        return Condition(CONDITION, FALSE, Reason.HOOK_FAILED, text[: MESSAGE_CHARS * 2])
    running = [h for h in records if h.state == HookState.RUNNING]
    if running or not records:
        text = "; ".join(_running(h) for h in running) or "no hook has run yet"
        return Condition(CONDITION, FALSE, Reason.HOOKS_PENDING, text)
    return Condition(
        CONDITION, TRUE, Reason.HOOKS_SUCCEEDED, f"{len(records)} hook run(s) succeeded"
    )


def put_all(
    records: tuple[HookRecord, ...], changed: tuple[HookRecord, ...]
) -> tuple[HookRecord, ...]:
    for record in changed:
        records = put_hook(records, record)
    return records
