"""Notification receivers for the fake cluster (``maintenance_worlds.Cluster``): what each
receiver got, receivers that refuse, and the HealthPolicies whose receivers a Maintenance may use
(``spec.notifications.receiversFrom``)."""

from __future__ import annotations

from dataclasses import dataclass, field

from caretaker.clients.notify.outcome import DeliveryFailed
from caretaker.domain.common.receivers import Receiver
from caretaker.domain.maintenance.notify_record import Dispatch
from caretaker.handlers.maintenance.notify_send import SentHere


@dataclass
class FakeReceivers:
    inbox: list[tuple[str, Dispatch]] = field(default_factory=list)  # (receiver, what it got)
    refusing: dict[str, str] = field(default_factory=dict)  # receiver -> its answer
    policies: dict[str, tuple[Receiver, ...]] = field(default_factory=dict)  # HealthPolicies
    attempts: int = 0
    sent_here: SentHere = field(default_factory=SentHere)  # the operator process's memory

    def send(self, receiver: Receiver, dispatch: Dispatch) -> None:
        self.attempts += 1
        answer = self.refusing.get(receiver.name)
        if answer is not None:
            raise DeliveryFailed(f"webhook {receiver.name}: {answer}", retryable=True, status=503)
        self.inbox.append((receiver.name, dispatch))

    def of_policy(self, namespace: str, name: str) -> tuple[Receiver, ...]:
        found = self.policies.get(name)
        if found is None:
            raise LookupError(f"HealthPolicy {namespace}/{name} does not exist")
        return found

    def keys(self, receiver: str) -> list[str]:
        """The keys ``receiver`` got, in order (with repeats)."""
        return [d.record.key for name, d in self.inbox if name == receiver]

    def texts(self, receiver: str) -> dict[str, str]:
        return {d.record.key: d.record.text for name, d in self.inbox if name == receiver}
