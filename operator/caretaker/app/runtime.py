"""Starts the kopf operator with Caretaker's handlers, clients and settings."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import threading

import kopf
from kubernetes.client import ApiClient

from caretaker.app.leader_election import Election, LeaderElector, leader_identity, standby_probe
from caretaker.clients.ceph.base import CephClient
from caretaker.clients.kube.api import load_api_client
from caretaker.handlers.services import Services
from caretaker.metrics import LEADER
from caretaker.metrics import serve as serve_metrics
from caretaker.settings.flags import Settings

logger = logging.getLogger("caretaker")


def build_services(settings: Settings, kube: ApiClient | None = None) -> Services:
    """Creates the clients once (``kube``: one made already, e.g. for a kubeconfig context);
    a Ceph connection that fails is reported, not fatal."""
    kube = kube if kube is not None else load_api_client(settings.kubeconfig)
    ceph, ceph_error = _build_ceph(settings, kube)
    return Services(
        settings=settings,
        kube=kube,
        ceph=ceph,
        prometheus=_build_prometheus(settings),
        ceph_error=ceph_error,
    )


def _build_ceph(settings: Settings, kube: ApiClient) -> tuple[CephClient | None, str]:
    if not settings.ceph_conf and not settings.rook_namespace:
        return None, "no Ceph connection configured (--ceph-conf or --rook-namespace)"
    try:
        from caretaker.clients.ceph.factory import connect_ceph  # noqa: PLC0415

        return connect_ceph(settings, kube), ""
    except Exception as error:  # noqa: BLE001 - reported in every status until it works
        logger.warning("Ceph connection not available: %s", error)
        return None, str(error)


def _build_prometheus(settings: Settings) -> object | None:
    if not settings.prometheus_url:
        return None
    from caretaker.clients.prometheus.factory import prometheus_from_settings  # noqa: PLC0415

    return prometheus_from_settings(settings)


def run_operator(settings: Settings) -> int:
    """Runs until SIGTERM/SIGINT. Acts at once by default; with --leader-elect only while it
    holds the leader election Lease (see caretaker.app.leader_election). kopf runs standalone
    unless --peering is given."""
    if settings.kubeconfig:
        os.environ["KUBECONFIG"] = str(settings.kubeconfig)
    kopf.configure(
        verbose=settings.verbose,
        log_format=kopf.LogFormat.JSON if settings.log_format == "json" else kopf.LogFormat.FULL,
    )
    import caretaker.handlers.wiring  # noqa: F401, PLC0415 - registers the kopf handlers

    services = build_services(settings)
    serve_metrics(settings.metrics_port)
    liveness = None if settings.liveness == "off" else settings.liveness
    elector = None
    if settings.leader_elect:
        elector = LeaderElector(services.kube, Election.from_settings(settings), leader_identity())
        if not _wait_as_standby(elector, liveness):
            return 0  # stopped before it ever led
        elector.start_renewing()
    else:
        LEADER.set(1)
    services.watch()
    kopf_settings = kopf.OperatorSettings()
    asyncio.run(
        kopf.operator(
            settings=kopf_settings,
            standalone=settings.peering is None,
            peering_name=settings.peering,
            clusterwide=settings.all_namespaces,
            namespaces=list(settings.namespaces),
            liveness_endpoint=liveness,
            memo=kopf.Memo(services=services),
        )
    )
    services.stop_watching()
    if elector is not None:
        # kopf leaves a daemon that is still in its round running: the Lease is kept (and
        # renewed) until every round has ended, and only then freed for a standby.
        kopf_settings.execution.executor.shutdown(wait=True)
        elector.step_down()
    return 0


def _wait_as_standby(elector: LeaderElector, liveness: str | None) -> bool:
    """Blocks until this process leads (True) or is told to stop (False), answering the
    liveness probe meanwhile."""
    stop = threading.Event()
    signals = (signal.SIGTERM, signal.SIGINT)
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in signals}
    try:
        with standby_probe(liveness):
            return elector.wait_for_leadership(stop)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
