"""Leader election: of several Caretaker processes, exactly one acts; the others wait as standbys.

The leader holds a coordination.k8s.io Lease (``--leader-election-lease`` in
``--lease-namespace``), taken and renewed through ``clients.kube_lease``: every write carries the
resourceVersion it was decided on, so two contenders cannot both win. As client-go does it:

- a standby tries to take the Lease every retry period, and can only when it is free or has not
  been renewed for its duration (by this machine's clock: the machines' clocks must agree to
  well under the duration minus the renew deadline, 5 s by default);
- the leader renews it every retry period;
- a leader that sees another holder, or has not renewed for the renew deadline (shorter than
  the duration), exits at once with status 1: it has stopped acting before any standby may take
  the Lease. Kubernetes restarts the container, which comes back as a standby;
- a leader stopped cleanly (SIGTERM) frees the Lease once its last round has finished, so a
  standby takes over without waiting for the duration.

While a standby waits, kopf does not run: nothing is watched, no finalizer is added, no handler
runs. ``standby_probe`` answers the liveness URL meanwhile (kopf serves it once leading), so the
probes of a standby pass: it is alive, and Ready so that a rolling update can go on.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from kubernetes.client import ApiClient

from caretaker.clients.kube.events import instance_name
from caretaker.clients.kube.lease import acquire_lease, read_lease, release_lease, renew_lease
from caretaker.metrics import LEADER
from caretaker.settings.flags import Settings

logger = logging.getLogger("caretaker.leader")
LostLeadership = Callable[[str], None]


@dataclass(frozen=True)
class Election:
    namespace: str
    lease: str
    lease_seconds: int
    renew_deadline: float
    retry_period: float

    @classmethod
    def from_settings(cls, settings: Settings) -> Election:
        return cls(
            namespace=settings.lease_namespace,
            lease=settings.leader_election_lease,
            lease_seconds=settings.leader_election_lease_duration,
            renew_deadline=settings.leader_election_renew_deadline,
            retry_period=settings.leader_election_retry_period,
        )


def leader_identity() -> str:
    """This process: its pod and a random part (a restarted container is a new contender)."""
    return f"{instance_name()}_{uuid.uuid4().hex[:12]}"


def exit_at_once(reason: str) -> None:
    """Stops every action of this process now: no handler, no cleanup, status 1."""
    logger.critical("no longer the leader (%s): exiting so that a standby takes over", reason)
    for handler in logging.getLogger().handlers + logger.handlers:
        handler.flush()
    os._exit(1)


class LeaderElector:
    """Takes the Lease (``wait_for_leadership``), keeps it (``start_renewing``) and frees it
    (``step_down``); calls ``on_lost`` once if it is lost."""

    def __init__(
        self,
        api: ApiClient,
        election: Election,
        identity: str,
        on_lost: LostLeadership = exit_at_once,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.api, self.election, self.identity = api, election, identity
        self._on_lost, self._clock = on_lost, clock
        self._renewed_at = 0.0  # monotonic time at which the last successful write was started
        self._stopping = threading.Event()
        self._lost = threading.Event()
        self._threads: list[threading.Thread] = []

    def wait_for_leadership(self, stop: threading.Event) -> bool:
        """Blocks until this process holds the Lease (True) or ``stop`` is set (False)."""
        LEADER.set(0)
        election, last_problem = self.election, ""
        while not stop.is_set():
            started = self._clock()
            try:
                if acquire_lease(
                    self.api,
                    election.namespace,
                    election.lease,
                    self.identity,
                    duration_seconds=election.lease_seconds,
                ):
                    self._renewed_at = started
                    LEADER.set(1)
                    logger.info("leading as %s (Lease %s)", self.identity, self._lease_ref())
                    return True
                problem = f"standby: the Lease {self._lease_ref()} is held by {self._holder()}"
            except Exception as error:  # noqa: BLE001 - RBAC, API down: retried, shown once
                problem = f"cannot take the Lease {self._lease_ref()}: {error}"
            if problem != last_problem:
                logger.info("%s", problem)
                last_problem = problem
            stop.wait(election.retry_period)
        return False

    def start_renewing(self) -> None:
        for target, name in ((self._renew, "lease-renewal"), (self._watch, "lease-deadline")):
            thread = threading.Thread(target=target, name=f"caretaker-{name}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def step_down(self) -> None:
        """Stops renewing and frees the Lease. Only once nothing of this process acts any more."""
        self._stopping.set()
        for thread in self._threads:
            thread.join()
        if not self._lost.is_set():
            try:
                release_lease(self.api, self.election.namespace, self.election.lease, self.identity)
                logger.info("stepped down: the Lease %s is free", self._lease_ref())
            except Exception as error:  # noqa: BLE001 - it then expires after its duration
                logger.warning("freeing the Lease %s failed: %s", self._lease_ref(), error)
        LEADER.set(0)

    def _renew(self) -> None:
        election = self.election
        while not self._stopping.wait(election.retry_period):
            started = self._clock()
            try:
                held = renew_lease(
                    self.api,
                    election.namespace,
                    election.lease,
                    self.identity,
                    duration_seconds=election.lease_seconds,
                )
            except Exception as error:  # noqa: BLE001 - retried until the renew deadline
                logger.warning("renewing the Lease %s failed: %s", self._lease_ref(), error)
                continue
            if not held:
                self._give_up(f"the Lease {self._lease_ref()} is held by {self._holder()}")
                return
            self._renewed_at = max(self._renewed_at, started)

    def _watch(self) -> None:
        """Gives up when no renewal has succeeded for the renew deadline, however long a
        renewal request takes to fail."""
        deadline = self.election.renew_deadline
        while not self._stopping.is_set():
            left = self._renewed_at + deadline - self._clock()
            if left <= 0:
                self._give_up(f"the Lease {self._lease_ref()} was not renewed for {deadline:g} s")
                return
            self._stopping.wait(left)

    def _give_up(self, reason: str) -> None:
        if self._lost.is_set():
            return
        self._lost.set()
        self._stopping.set()
        LEADER.set(0)
        self._on_lost(reason)

    def _lease_ref(self) -> str:
        return f"{self.election.namespace}/{self.election.lease}"

    def _holder(self) -> str:
        try:
            lease = read_lease(self.api, self.election.namespace, self.election.lease)
        except Exception:  # noqa: BLE001 - only for the message
            return "another process"
        return (lease.holder if lease else None) or "nobody"


@contextmanager
def standby_probe(liveness: str | None) -> Iterator[None]:
    """Answers GET on the liveness URL with 200 while the block runs (a standby is alive)."""
    if liveness is None:
        yield
        return
    parts = urlsplit(liveness)
    path = parts.path or "/"

    class Probe(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            found = self.path.split("?", 1)[0] == path
            body = b'{"leader": false}' if found else b"{}"
            self.send_response(200 if found else 404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            """Probes are not logged."""

    server = ThreadingHTTPServer((parts.hostname or "127.0.0.1", parts.port or 80), Probe)
    thread = threading.Thread(target=server.serve_forever, name="caretaker-standby-probe")
    thread.daemon = True
    thread.start()
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
