"""The disruption ledger as the executors see it: enter one claim (compare-and-swap), remove
claims. ``KubeClaimLedger`` is the real one (the Lease of ``handlers.disruption.ledger``)."""

from __future__ import annotations

from collections.abc import Set
from dataclasses import dataclass
from typing import Protocol

from caretaker.domain.disruption.ledger import Admission, Claim
from caretaker.handlers.disruption.ledger import enter_claim, remove_claims
from caretaker.handlers.services import Services


class ClaimLedger(Protocol):
    def enter_claim(self, claim: Claim) -> Admission:
        """Writes the claim if the ledger admits it now; raises ``LedgerUnavailable``."""
        ...

    def remove_claims(self, claimants: Set[str]) -> None:
        """Raises ``LedgerUnavailable`` when the ledger cannot be written."""
        ...


@dataclass(frozen=True)
class KubeClaimLedger:
    services: Services

    def enter_claim(self, claim: Claim) -> Admission:
        return enter_claim(self.services, claim)

    def remove_claims(self, claimants: Set[str]) -> None:
        remove_claims(self.services, set(claimants))
