"""One HTTP request with retries, shared by every notifier and the Alertmanager helper.

Plain ``urllib`` (no logging of URLs by any library underneath): a Slack webhook URL is a secret,
and urllib3's debug log would print its path. Redirects are not followed (a redirected POST would
lose its body); a 3xx answer is a failure like any other non-2xx.

A ``Judge`` (a pure function of the ``Answer``) decides per receiver whether an answer means
delivered, "try again" or "give up". Retries (tenacity) wait exponentially with jitter, honour
``Retry-After`` up to ``max_backoff``, and stop after ``max_attempts`` or when the next wait would
pass ``max_total_seconds``; later attempts only get the time that is left. So a call lasts at most
about ``max(timeout, max_total_seconds)`` plus connection setup.
"""

from __future__ import annotations

import itertools
import logging
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from http.client import HTTPException
from types import MappingProxyType

from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    stop_before_delay,
    wait_exponential_jitter,
)

from caretaker.clients.notify.outcome import DeliveryFailed
from caretaker.clients.notify.secret import Secret, redact
from caretaker.clients.notify.wire import (
    DEFAULT_RETRY,
    MAX_ANSWER_BYTES,
    MESSAGE_CHARS,
    Answer,
    Judge,
    Request,
    RetryPolicy,
)

log = logging.getLogger(__name__)

_MIN_ATTEMPT_SECONDS = 0.2


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


class Transport:
    """Sends requests to one receiver, retrying transient failures; thread-safe."""

    def __init__(
        self,
        receiver: str,
        *,
        timeout: float = 10.0,
        retry: RetryPolicy = DEFAULT_RETRY,
        secrets: Iterable[Secret] = (),
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        if timeout <= 0:
            raise ValueError("timeout must be positive")
        self.receiver = receiver
        self.timeout = timeout
        self.retry = retry
        self._secrets = tuple(secrets)
        handlers: list[urllib.request.BaseHandler] = [_NoRedirects()]
        if ssl_context is not None:
            handlers.append(urllib.request.HTTPSHandler(context=ssl_context))
        self._opener = urllib.request.build_opener(*handlers)

    def __repr__(self) -> str:
        return f"Transport(receiver={self.receiver!r}, timeout={self.timeout})"

    def redact(self, text: str) -> str:
        """``text`` without this receiver's secrets, cut to a readable length."""
        text = redact(text, self._secrets)
        return text if len(text) <= MESSAGE_CHARS else text[:MESSAGE_CHARS] + "..."

    def send(self, request: Request, judge: Judge) -> tuple[Answer, int]:
        """The accepted answer and the number of attempts; ``DeliveryFailed`` otherwise."""
        policy = self.retry
        started = time.monotonic()
        retrying = Retrying(
            retry=retry_if_exception(_is_retryable),
            stop=stop_after_attempt(policy.max_attempts)
            | stop_before_delay(policy.max_total_seconds),
            wait=_wait(policy),
            before_sleep=self._log_retry,
            reraise=True,
        )
        attempt_numbers = itertools.count()

        def attempt() -> Answer:
            first = next(attempt_numbers) == 0
            return self._attempt(request, judge, self._attempt_timeout(started, first))

        try:
            answer = retrying(attempt)
        except DeliveryFailed as failure:
            attempts = int(retrying.statistics.get("attempt_number", 1))
            raise failure.after_attempts(attempts, time.monotonic() - started) from None
        return answer, int(retrying.statistics.get("attempt_number", 1))

    def _attempt(self, request: Request, judge: Judge, timeout: float) -> Answer:
        answer = self._exchange(request, timeout)
        verdict = judge(answer)
        if verdict is None:
            return answer
        raise DeliveryFailed(
            self.redact(verdict.message),
            retryable=verdict.retryable,
            status=verdict.status,
            retry_after=verdict.retry_after,
        )

    def _attempt_timeout(self, started: float, first: bool) -> float:
        """The full timeout for the first attempt; later ones get what is left of the budget."""
        if first:
            return self.timeout
        left = self.retry.max_total_seconds - (time.monotonic() - started)
        return max(_MIN_ATTEMPT_SECONDS, min(self.timeout, left))

    def _exchange(self, request: Request, timeout: float) -> Answer:
        """One HTTP exchange; an answer of any status, or ``DeliveryFailed`` if none came."""
        wire = urllib.request.Request(
            request.url.reveal(),
            data=request.body,
            method=request.method,
            headers={k: _reveal(v) for k, v in request.headers.items()},
        )
        try:
            with self._opener.open(wire, timeout=timeout) as response:
                return Answer(response.status, response.read(MAX_ANSWER_BYTES), _headers(response))
        except urllib.error.HTTPError as error:
            with error:
                return Answer(error.code, error.read(MAX_ANSWER_BYTES), _headers(error))
        except (TimeoutError, urllib.error.URLError, HTTPException, OSError, ValueError) as error:
            failure = self._no_answer(error, timeout)
        raise failure  # outside the except block: the library's exception names the URL

    def _no_answer(self, error: Exception, timeout: float) -> DeliveryFailed:
        reason: object = error.reason if isinstance(error, urllib.error.URLError) else error
        if isinstance(reason, TimeoutError):
            text = f"no answer within {timeout:.1f}s"
        elif isinstance(reason, ssl.SSLCertVerificationError):
            return DeliveryFailed(
                self.redact(f"{self.receiver}: TLS verification failed: {reason.verify_message}"),
                retryable=False,
            )
        elif isinstance(reason, ValueError | str):  # the text may hold the URL or a header
            return DeliveryFailed(f"{self.receiver}: invalid URL or header", retryable=False)
        elif isinstance(reason, OSError) and reason.strerror:
            text = f"[Errno {reason.errno}] {reason.strerror}"
        else:
            text = type(reason).__name__
        return DeliveryFailed(self.redact(f"{self.receiver} unreachable: {text}"), retryable=True)

    def _log_retry(self, state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome is not None else None
        wait = state.next_action.sleep if state.next_action is not None else 0.0
        log.warning(
            "%s: attempt %d failed, retrying in %.1fs: %s",
            self.receiver,
            state.attempt_number,
            wait,
            error,
        )


def _is_retryable(error: BaseException) -> bool:
    return isinstance(error, DeliveryFailed) and error.retryable


def _wait(policy: RetryPolicy) -> Callable[[RetryCallState], float]:
    backoff = wait_exponential_jitter(
        multiplier=policy.initial_backoff, max=policy.max_backoff, jitter=policy.initial_backoff / 2
    )

    def wait(state: RetryCallState) -> float:
        base = min(backoff(state), policy.max_backoff)
        error = state.outcome.exception() if state.outcome is not None else None
        hint = error.retry_after if isinstance(error, DeliveryFailed) else None
        return base if hint is None else max(base, min(hint, policy.max_backoff))

    return wait


def _reveal(value: str | Secret) -> str:
    return value.reveal() if isinstance(value, Secret) else value


def _headers(response: object) -> Mapping[str, str]:
    items = getattr(response, "headers", None)
    return MappingProxyType(dict(items.items()) if items is not None else {})
