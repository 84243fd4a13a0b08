"""An Alertmanager's silences in memory, with the rules of Alertmanager 0.25 that Caretaker's
silence lease depends on: a start in the past is moved to "now"; an update keeps its ID only when
the matchers and the start are unchanged and the silence has not ended, otherwise the old one is
expired and a new ID answered; an unknown ID is refused."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from caretaker.clients.kube.secrets import SecretUnavailable
from caretaker.clients.notify.outcome import DeliveryFailed
from caretaker.clients.notify.silences import Silence, SilenceState
from caretaker.domain.maintenance.silence_spec import AlertmanagerRef
from caretaker.handlers.maintenance.ports import SilenceDraft

UNREACHABLE = "Alertmanager unreachable: [Errno 111] Connection refused"


class FakeAlertmanager:
    def __init__(self, clock: Callable[[], datetime]) -> None:
        self.clock = clock
        self.silences: dict[str, Silence] = {}
        self.down = False
        self.asked: set[AlertmanagerRef] = set()  # every address (and token Secret) it was asked at
        self.secrets: set[tuple[str, str, str]] = set()  # (namespace, name, key) that exist
        self.creates = 0
        self._next = 0

    def state(self, silence: Silence) -> SilenceState:
        now = self.clock()
        if silence.ends_at <= now:
            return "expired"
        return "pending" if now < silence.starts_at else "active"

    def live(self, url: AlertmanagerRef) -> tuple[Silence, ...]:
        self._reach(url)
        found = (replace(s, state=self.state(s)) for s in self.silences.values())
        return tuple(s for s in found if s.state != "expired")

    def active(self) -> list[Silence]:
        return [s for s in self.silences.values() if self.state(s) == "active"]

    def put(self, url: AlertmanagerRef, silence_id: str | None, draft: SilenceDraft) -> str:
        self._reach(url)
        now = self.clock()
        if draft.ends_at <= draft.starts_at:
            raise DeliveryFailed(
                "Alertmanager answered HTTP 400: end before start", retryable=False
            )
        if silence_id:
            old = self.silences.get(silence_id)
            if old is None:
                raise DeliveryFailed("Alertmanager answered HTTP 404: not found", retryable=False)
            same = old.matchers == draft.matchers and old.starts_at == draft.starts_at
            if same and self.state(old) != "expired" and draft.ends_at > now:
                self.silences[silence_id] = replace(old, ends_at=draft.ends_at)
                return silence_id
            if self.state(old) != "expired":
                self.silences[silence_id] = replace(old, ends_at=now)
        self._next += 1
        self.creates += 1
        new_id = f"silence-{self._next}"
        self.silences[new_id] = Silence(
            id=new_id,
            matchers=draft.matchers,
            starts_at=max(draft.starts_at, now),
            ends_at=draft.ends_at,
            created_by=draft.created_by,
            comment=draft.comment,
            state="active",
        )
        return new_id

    def expire(self, url: AlertmanagerRef, silence_id: str) -> None:
        self._reach(url)
        old = self.silences.get(silence_id)
        if old is not None and self.state(old) != "expired":
            self.silences[silence_id] = replace(old, ends_at=self.clock())

    def _reach(self, url: AlertmanagerRef) -> None:
        self.asked.add(url)
        secret = (url.namespace, url.token_secret, url.token_key)
        if url.token_secret and secret not in self.secrets:
            raise SecretUnavailable(f"Secret {url.namespace}/{url.token_secret} not found")
        if self.down:
            raise DeliveryFailed(UNREACHABLE, retryable=True)
