"""The cluster-wide disruption ledger (``caretaker.domain.disruption.ledger``) kept in one Lease
per Ceph cluster, ``caretaker-disruptions-<fsid>`` in the Lease namespace, shared by every
Maintenance, every HealthPolicy and every operator copy that works on that cluster."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from caretaker.clients.ceph.errors import CephError
from caretaker.clients.kube.api import KubeApiError
from caretaker.clients.kube.ledger import (
    Change,
    LedgerContended,
    read_ledger_text,
    update_ledger,
)
from caretaker.constants import LEDGER_ANNOTATION, LEDGER_LEASE_PREFIX
from caretaker.domain.disruption.ledger import (
    Admission,
    Claim,
    admit,
    find,
    parse_ledger,
    render_ledger,
    with_claim,
)
from caretaker.handlers.services import Services


class LedgerUnavailable(Exception):
    """The ledger cannot be read or written now; nobody may start a disruption."""


def ledger_name(services: Services) -> str:
    """Named after the Ceph cluster's fsid (read once), so that every operator copy and every
    namespace working on one cluster shares one ledger."""
    if not services.ledger_name:
        if services.ceph is None:
            raise LedgerUnavailable(services.ceph_error or "no Ceph connection configured")
        try:
            fsid = services.ceph.status().fsid
        except CephError as error:
            raise LedgerUnavailable(f"Ceph's fsid cannot be read: {error}") from None
        if not fsid:
            raise LedgerUnavailable("Ceph reports no fsid")
        services.ledger_name = LEDGER_LEASE_PREFIX + fsid
    return services.ledger_name


def read_claims(services: Services) -> tuple[Claim, ...]:
    """Every claim in the ledger; raises ``LedgerUnavailable`` rather than guess."""
    name = ledger_name(services)
    try:
        text = read_ledger_text(
            services.kube, services.settings.lease_namespace, name, LEDGER_ANNOTATION
        )
        return parse_ledger(text.text)
    except (KubeApiError, ValueError) as error:
        raise LedgerUnavailable(str(error)) from None


def try_read_claims(services: Services) -> tuple[tuple[Claim, ...], str]:
    """(claims, "") or ((), why): for snapshots, where an unreadable ledger is a fact to show."""
    try:
        return read_claims(services), ""
    except LedgerUnavailable as error:
        return (), str(error)


def enter_claim(services: Services, claim: Claim) -> Admission:
    """Writes the claim if the ledger, as it is at the moment of writing, admits it."""
    verdicts: list[Admission] = []

    def change(text: str | None) -> str | None:
        claims = parse_ledger(text)
        verdict = admit(claims, claim)
        verdicts.append(verdict)
        if not verdict.admitted:
            return None
        stamped = claim if claim.since else _stamped(claim, find(claims, claim.claimant))
        return render_ledger(with_claim(claims, stamped))

    _update(services, change)
    return verdicts[-1] if verdicts else Admission(False, "the ledger was not read")


def remove_claims(services: Services, claimants: set[str]) -> None:
    def change(text: str | None) -> str | None:
        claims = parse_ledger(text)
        kept = tuple(c for c in claims if c.claimant not in claimants)
        return render_ledger(kept) if len(kept) != len(claims) else text

    _update(services, change)


def _stamped(claim: Claim, previous: Claim | None) -> Claim:
    """The claim with the time it was first made (kept when it is entered again)."""
    since = (previous.since if previous else None) or datetime.now(UTC)
    return replace(claim, since=since)


def _update(services: Services, change: Change) -> None:
    name = ledger_name(services)
    try:
        update_ledger(
            services.kube,
            services.settings.lease_namespace,
            name,
            LEDGER_ANNOTATION,
            change,
        )
    except (KubeApiError, LedgerContended, ValueError) as error:
        raise LedgerUnavailable(str(error)) from None
