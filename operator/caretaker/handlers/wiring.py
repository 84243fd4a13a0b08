"""kopf registrations. Thin: each handler hands over to an executor and returns."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import kopf

from caretaker.clients.kube.custom import CustomRef, get_custom
from caretaker.constants import (
    FINALIZER,
    GROUP,
    HEALTH_POLICIES,
    KOPF_PREFIX,
    LAST_HANDLED_KEY,
    MAINTENANCES,
    VERSION,
)
from caretaker.handlers.freeze.status import keep_freeze_statuses
from caretaker.handlers.health.bookkeeping import forget_policy
from caretaker.handlers.health.claims import sweep_claims
from caretaker.handlers.health.executor import health_round, open_loop
from caretaker.handlers.health.finalizer import resolve_on_delete
from caretaker.handlers.maintenance.executor import FAST_REQUEUE_SECONDS, reconcile_once
from caretaker.handlers.maintenance.ports import KubeMaintenancePorts
from caretaker.handlers.services import Services
from caretaker.metrics import forget_maintenance, reconcile_timer

MAINTENANCE_RESOURCE = (GROUP, VERSION, MAINTENANCES)
CLEANUP_ROUNDS = 100
STOP_CHECK_SECONDS = 1.0  # a sleeping loop notices the operator stopping within this
MAX_LOOPS = 2048  # kopf's thread pool: one thread per object's loop, plus handlers


# The operator's background keepers: each runs every reconcile interval on a thread of its own
# until the operator stops (only the leader runs kopf, so only the leader runs them).
KEEPERS: tuple[tuple[str, Callable[[Services, threading.Event, float], object]], ...] = (
    ("claim-sweeper", sweep_claims),  # ends HealthPolicy claims once observed over
    ("freeze-status", keep_freeze_statuses),  # each MaintenanceFreeze's active/until/next
)


@kopf.on.startup()
def start_keepers(memo: Any, **_: Any) -> None:
    services: Services = memo.services
    memo.keepers_stopped = threading.Event()
    for name, keeper in KEEPERS:
        threading.Thread(
            target=keeper,
            args=(services, memo.keepers_stopped, services.settings.reconcile_interval),
            name=name,
            daemon=True,
        ).start()


@kopf.on.cleanup()
def stop_keepers(memo: Any, **_: Any) -> None:
    stopped = memo.get("keepers_stopped")
    if stopped is not None:
        stopped.set()


@kopf.on.startup()
def configure(settings: kopf.OperatorSettings, **_: Any) -> None:
    settings.persistence.finalizer = FINALIZER
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=KOPF_PREFIX)
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix=KOPF_PREFIX, key=LAST_HANDLED_KEY
    )
    settings.posting.level = logging.WARNING
    # every Maintenance and HealthPolicy loop holds a thread for its life: never let the
    # next object wait for a free one (threads start only when needed)
    settings.execution.max_workers = MAX_LOOPS


def _fresh(
    services: Services, plural: str, name: str, namespace: str, memo: Any = None
) -> dict[str, Any] | None:
    """The object from the read cache, but never older than the version kopf's watch has
    delivered (the event that woke the loop may have come before the cache's)."""
    seen = str(memo.get("seen_version") or "") if memo is not None else ""
    return get_custom(services.kube, CustomRef(plural, namespace, name), seen_version=seen)


def _wake(memo: Any) -> threading.Event:
    """The object's wake-up call: set by every watch event of it (a spec edit, an annotation,
    a status write), so its loop may sleep long while it waits on people or on a window."""
    if memo.get("wake") is None:
        memo.wake = threading.Event()
    wake: threading.Event = memo.wake
    return wake


def _woken(memo: Any, body: kopf.Body) -> None:
    memo.seen_version = str(body.get("metadata", {}).get("resourceVersion") or "")
    _wake(memo).set()


def _sleep(stopped: kopf.DaemonStopped, wake: threading.Event, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not stopped and not wake.is_set():
        left = deadline - time.monotonic()
        if left <= 0:
            return
        wake.wait(min(left, STOP_CHECK_SECONDS))


def _rounds(
    stopped: kopf.DaemonStopped,
    wake: threading.Event,
    fetch: Callable[[], dict[str, Any] | None],
    one_round: Callable[[dict[str, Any]], float],
    *,
    error_wait: float,
    logger: kopf.Logger,
) -> None:
    """Runs rounds on the freshest object (one GET each) until it is gone or being deleted, or
    the operator stops; each round says how long to wait before the next, and a change to the
    object ends the wait at once."""
    while not stopped:
        wake.clear()
        body = fetch()
        if body is None or body["metadata"].get("deletionTimestamp"):
            return
        try:
            wait = one_round(body)
        except Exception:
            logger.exception("round failed; retrying")
            wait = error_wait
        _sleep(stopped, wake, wait)


@kopf.on.event(*MAINTENANCE_RESOURCE)
def maintenance_changed(memo: Any, body: kopf.Body, **_: Any) -> None:
    _woken(memo, body)


@kopf.daemon(*MAINTENANCE_RESOURCE, cancellation_backoff=1.0)
def maintenance_loop(
    stopped: kopf.DaemonStopped,
    name: str,
    namespace: str | None,
    memo: Any,
    logger: kopf.Logger,
    **_: Any,
) -> None:
    """Reconciles one Maintenance until it is deleted or the operator stops."""
    assert namespace is not None  # Maintenance is namespaced
    services: Services = memo.services
    interval = services.settings.reconcile_interval
    ports = KubeMaintenancePorts(services)

    def one_round(body: dict[str, Any]) -> float:
        with reconcile_timer("maintenance"):
            now = datetime.now(UTC)
            return reconcile_once(ports, body, now).next_delay(interval, now)

    done = threading.Event()
    memo.loop_done = done
    try:
        _rounds(
            stopped,
            _wake(memo),
            lambda: _fresh(services, MAINTENANCES, name, namespace, memo),
            one_round,
            error_wait=interval,
            logger=logger,
        )
    finally:
        done.set()


@kopf.on.delete(*MAINTENANCE_RESOURCE)
def maintenance_cleanup(name: str, namespace: str | None, memo: Any, **_: Any) -> None:
    """Undoes what the Maintenance changed (cordon, noout, Lease) before the object goes."""
    assert namespace is not None
    services: Services = memo.services
    loop_done = memo.get("loop_done")
    if loop_done is not None:
        loop_done.wait(60)  # never race the reconcile loop's last action
    ports = KubeMaintenancePorts(services)
    for _round in range(CLEANUP_ROUNDS):
        body = _fresh(services, MAINTENANCES, name, namespace, memo)
        if body is None:
            return
        with reconcile_timer("maintenance"):
            result = reconcile_once(ports, body, datetime.now(UTC))
        if result.step.cleaned_up:
            forget_maintenance(namespace, name)
            return
        threading.Event().wait(FAST_REQUEUE_SECONDS if result.progressed else 2.0)
    raise kopf.TemporaryError("still undoing Caretaker's changes", delay=10)


HEALTH_POLICY_RESOURCE = (GROUP, VERSION, HEALTH_POLICIES)


@kopf.on.event(*HEALTH_POLICY_RESOURCE)
def healthpolicy_changed(memo: Any, body: kopf.Body, **_: Any) -> None:
    _woken(memo, body)


@kopf.daemon(*HEALTH_POLICY_RESOURCE, cancellation_backoff=1.0)
def healthpolicy_loop(
    stopped: kopf.DaemonStopped,
    name: str,
    namespace: str | None,
    memo: Any,
    logger: kopf.Logger,
    **_: Any,
) -> None:
    """Evaluates one HealthPolicy every interval until it is deleted or the operator stops."""
    assert namespace is not None  # HealthPolicy is namespaced
    services: Services = memo.services
    loop = open_loop(services)
    done = threading.Event()
    memo.loop_done = done
    try:
        _rounds(
            stopped,
            _wake(memo),
            lambda: _fresh(services, HEALTH_POLICIES, name, namespace, memo),
            lambda body: health_round(loop, body),
            error_wait=services.settings.reconcile_interval,
            logger=logger,
        )
    finally:
        loop.close()
        forget_policy(namespace, name)
        done.set()


@kopf.on.delete(*HEALTH_POLICY_RESOURCE)
def healthpolicy_cleanup(name: str, namespace: str | None, memo: Any, retry: int, **_: Any) -> None:
    """Resolves the policy's open incidents before the object goes (see health_finalizer)."""
    assert namespace is not None
    services: Services = memo.services
    loop_done = memo.get("loop_done")
    if loop_done is not None:
        loop_done.wait(60)  # its last round may be sending a trigger
    body = _fresh(services, HEALTH_POLICIES, name, namespace, memo)
    if body is None:
        return
    wait = resolve_on_delete(services, body, retry)
    if wait is not None:
        raise kopf.TemporaryError("resolves of open incidents not delivered yet", delay=wait)
