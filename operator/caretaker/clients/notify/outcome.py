"""What a delivery attempt ends with: ``Delivered`` or the ``DeliveryFailed`` exception.

``DeliveryFailed.retryable`` tells a caller whether sending the same event later could succeed
(the receiver was down, overloaded or rate limiting) or not (the event or the credentials were
refused: fix the configuration). ``status`` is the last HTTP status, or None when no answer came.
Messages carry the receiver's own explanation, with secrets removed.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Delivered:
    """The receiver accepted the event.

    ``dedup_key`` is the key the receiver filed it under (PagerDuty's answer, the webhook's
    idempotency key), or None for receivers that have none (Slack).
    """

    status: int
    dedup_key: str | None = None
    attempts: int = 1


class DeliveryFailed(Exception):
    """The event was not delivered; ``str()`` is a human-readable reason free of secrets."""

    def __init__(
        self,
        message: str,
        *,
        retryable: bool,
        status: int | None = None,
        attempts: int = 1,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.retryable = retryable
        self.status = status
        self.attempts = attempts
        self.retry_after = retry_after

    def __repr__(self) -> str:
        return (
            f"DeliveryFailed({self.message!r}, retryable={self.retryable}, "
            f"status={self.status}, attempts={self.attempts})"
        )

    def after_attempts(self, attempts: int, elapsed: float) -> DeliveryFailed:
        """The same failure, noting how many attempts were made (when more than one)."""
        message = self.message
        if attempts > 1:
            message = f"{message} (gave up after {attempts} attempts in {elapsed:.1f}s)"
        return DeliveryFailed(
            message,
            retryable=self.retryable,
            status=self.status,
            attempts=attempts,
            retry_after=self.retry_after,
        )
