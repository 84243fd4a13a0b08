"""How to reach a Prometheus-compatible API: URL, credentials, TLS, headers, timeouts, retries.

Credentials never appear in ``repr()``; ``redact`` scrubs them from any text (error messages, log
lines) as a second line of defence. Put credentials in ``bearer_token`` / ``bearer_token_file`` /
``basic_auth`` / ``headers``, never in the URL (a URL with ``user:password@`` is rejected without
echoing it). ``bearer_token_file`` is re-read whenever it changes (Kubernetes rotates projected
service-account tokens).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from urllib.parse import urlsplit

import requests
from requests.auth import AuthBase

from caretaker.clients.prometheus.errors import PrometheusAuthRejected

_SENSITIVE_HEADER_WORDS = ("authorization", "cookie", "token", "key", "secret", "password")
_MIN_REDACTED_LENGTH = 4
REDACTED = "<redacted>"


@dataclass(frozen=True)
class BasicAuth:
    """HTTP basic authentication; the password is left out of ``repr()``."""

    username: str
    password: str = field(repr=False)


@dataclass(frozen=True)
class RetryPolicy:
    """Retries of transient failures (connection errors, timeouts, 5xx, 429).

    A call gives up after ``max_attempts`` or when the next wait would pass ``max_total_seconds``
    since the first attempt began; so a call lasts at most ``max_total_seconds`` plus one
    attempt's timeout. Waits grow exponentially from ``initial_backoff`` up to ``max_backoff``.
    """

    max_attempts: int = 4
    max_total_seconds: float = 10.0
    initial_backoff: float = 0.2
    max_backoff: float = 2.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.max_total_seconds < 0 or self.initial_backoff < 0 or self.max_backoff < 0:
            raise ValueError("retry durations must not be negative")


NO_RETRIES = RetryPolicy(max_attempts=1, max_total_seconds=0.0)


@dataclass(frozen=True, repr=False)
class PrometheusSettings:
    """Connection settings.

    ``timeout`` (seconds) applies to each attempt unless a call overrides it; it is also sent to
    Prometheus as the query's evaluation timeout.
    """

    url: str
    bearer_token: str | None = None
    bearer_token_file: str | None = None
    basic_auth: BasicAuth | None = None
    headers: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    ca_bundle: str | None = None
    insecure_skip_verify: bool = False
    timeout: float = 10.0
    retry: RetryPolicy = RetryPolicy()

    def __post_init__(self) -> None:
        parts = urlsplit(self.url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("Prometheus URL must be http(s)://host[:port][/prefix]")
        try:
            _ = parts.port  # raises for a port that is no number or out of range
        except ValueError:
            raise ValueError("Prometheus URL has an invalid port (at most 65535)") from None
        if parts.username is not None or parts.password is not None:
            raise ValueError("Prometheus URL must not contain credentials; use basic_auth")
        given = [self.bearer_token, self.bearer_token_file, self.basic_auth]
        if sum(item is not None for item in given) > 1:
            raise ValueError("give one of bearer_token, bearer_token_file, basic_auth")
        if any(item is not None for item in given) and _has_header(self.headers, "authorization"):
            raise ValueError("credentials conflict with an Authorization header")
        if self.timeout <= 0:
            raise ValueError("timeout must be positive")
        object.__setattr__(self, "url", self.url.rstrip("/"))
        object.__setattr__(self, "headers", MappingProxyType(dict(self.headers)))

    def __repr__(self) -> str:
        return (
            f"PrometheusSettings(url={self.url!r}, auth={self._auth_kind()}, "
            f"headers={sorted(self.headers)!r}, "
            f"ca_bundle={self.ca_bundle!r}, insecure_skip_verify={self.insecure_skip_verify}, "
            f"timeout={self.timeout}, retry={self.retry!r})"
        )

    def _auth_kind(self) -> str:
        if self.bearer_token is not None:
            return "bearer"
        if self.bearer_token_file is not None:
            return f"bearer-file:{self.bearer_token_file}"
        return "basic" if self.basic_auth is not None else "none"

    def secrets(self) -> tuple[str, ...]:
        """Every credential value these settings hold."""
        found = [self.bearer_token or ""]
        if self.bearer_token_file is not None:
            found.append(_read_token(Path(self.bearer_token_file)))
        if self.basic_auth is not None:
            found.append(self.basic_auth.password)
        found += [v for k, v in self.headers.items() if _is_sensitive_header(k)]
        return tuple(s for s in found if s)

    def redact(self, text: str) -> str:
        """``text`` with every credential value replaced by a marker."""
        for secret in self.secrets():
            if len(secret) >= _MIN_REDACTED_LENGTH:
                text = text.replace(secret, REDACTED)
        return text

    def new_session(self) -> requests.Session:
        """A requests session carrying the headers, credentials and TLS settings."""
        session = requests.Session()
        session.headers.update(self.headers)
        if self.bearer_token is not None:
            session.headers["Authorization"] = f"Bearer {self.bearer_token}"
        if self.bearer_token_file is not None:
            session.auth = BearerTokenFileAuth(Path(self.bearer_token_file))
        if self.basic_auth is not None:
            session.auth = (self.basic_auth.username, self.basic_auth.password)
        session.verify = self.ca_bundle or not self.insecure_skip_verify
        return session


def _has_header(headers: Mapping[str, str], name: str) -> bool:
    return any(key.lower() == name for key in headers)


def _is_sensitive_header(name: str) -> bool:
    lowered = name.lower()
    return any(word in lowered for word in _SENSITIVE_HEADER_WORDS)


class BearerTokenFileAuth(AuthBase):
    """Sends ``Authorization: Bearer <file content>``; reads the file again when it changes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._cached: tuple[int, str] | None = None  # (mtime_ns, token)

    def __repr__(self) -> str:
        return f"BearerTokenFileAuth(path={str(self.path)!r})"

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self.token()}"
        return request

    def token(self) -> str:
        """The current token; ``PrometheusAuthRejected`` if the file is unreadable or empty."""
        with self._lock:
            try:
                mtime = self.path.stat().st_mtime_ns
                if self._cached is None or self._cached[0] != mtime:
                    self._cached = (mtime, self.path.read_text().strip())
            except OSError as error:
                raise PrometheusAuthRejected(
                    f"cannot read bearer token file {self.path}: {error.strerror}"
                ) from None
            if not self._cached[1]:
                raise PrometheusAuthRejected(f"bearer token file {self.path} is empty")
            return self._cached[1]


def _read_token(path: Path) -> str:
    try:
        return path.read_text().strip()
    except OSError:
        return ""
