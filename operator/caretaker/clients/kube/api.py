"""Kubernetes API access: client construction, JSON requests with retries, typed errors.

All Kubernetes client modules go through :func:`request_json`, so the untyped ``kubernetes``
package stays behind this module. Transient failures (5xx, 429, connection errors) are retried
with tenacity; other 4xx answers are raised at once as :class:`KubeApiError`.
"""

from __future__ import annotations

import json
import os
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote

import tenacity
import urllib3
from kubernetes import config as kube_config
from kubernetes.client import ApiClient, Configuration
from kubernetes.client.exceptions import ApiException

from caretaker.metrics import KUBE_REQUESTS

JsonObject = dict[str, Any]

REQUEST_TIMEOUT = (5.0, 30.0)  # connect, read (seconds)
RETRY_ATTEMPTS = 5
RETRY_WAIT_MAX_SECONDS = 4.0
LIST_PAGE_SIZE = 500
CONNECTION_POOL_SIZE = 64

MERGE_PATCH = "application/merge-patch+json"


@dataclass(frozen=True)
class StatusCause:
    """One entry of a Status object's details.causes (e.g. type "DisruptionBudget")."""

    type: str
    message: str


class KubeApiError(Exception):
    """A non-2xx answer of the API server (``status`` 0: no answer at all)."""

    def __init__(
        self, status: int, reason: str, message: str, causes: tuple[StatusCause, ...] = ()
    ) -> None:
        super().__init__(status, reason, message)
        self.status = status
        self.reason = reason
        self.message = message
        self.causes = causes

    def __str__(self) -> str:
        return f"HTTP {self.status} {self.reason}: {self.message}"

    @property
    def not_found(self) -> bool:
        return self.status == 404

    @property
    def conflict(self) -> bool:
        return self.status == 409


def load_api_client(kubeconfig: Path | None = None, context: str | None = None) -> ApiClient:
    """An ApiClient from a kubeconfig file, else in-cluster config, else $KUBECONFIG/~/.kube.

    The global default configuration of the kubernetes package is left untouched.
    """
    configuration = Configuration()
    if kubeconfig is None and os.environ.get("KUBERNETES_SERVICE_HOST"):
        load_incluster: Any = kube_config.load_incluster_config
        load_incluster(client_configuration=configuration)
    else:
        load_file: Any = kube_config.load_kube_config
        config_file = str(kubeconfig) if kubeconfig is not None else None
        load_file(
            config_file=config_file,
            context=context,
            client_configuration=configuration,
            persist_config=False,
        )
    # every loop of the operator shares this client, and each watch holds a connection:
    # urllib3's default of 10 would open (and TLS-handshake) a new connection for most requests
    configuration.connection_pool_maxsize = CONNECTION_POOL_SIZE
    return ApiClient(configuration)


def close_api_client(api: ApiClient) -> None:
    """Closes the client's connection pool (and its thread pool, if one was started)."""
    close: Any = api.close
    close()


def is_transient(error: BaseException) -> bool:
    """Worth retrying: server errors, throttling, lost connections."""
    if isinstance(error, KubeApiError):
        return error.status in {0, 429} or error.status >= 500
    return False


def api_path(template: str, *segments: str) -> str:
    """Fills each ``{}`` of template with a URL-quoted segment."""
    return template.format(*(quote(segment, safe="") for segment in segments))


def request_json(
    api: ApiClient,
    method: str,
    path: str,
    *,
    query: dict[str, str] | None = None,
    body: JsonObject | None = None,
    content_type: str = "application/json",
    retry_if: Callable[[BaseException], bool] = is_transient,
    cached: bool = True,
) -> JsonObject:
    """Sends one request (retrying transient failures) and returns the decoded JSON answer.

    With a read cache attached to ``api`` a read may be answered from it, unless ``cached`` is
    False (the caller needs the server's version, e.g. a newer one than the cache has seen)."""
    retrying = tenacity.Retrying(
        retry=tenacity.retry_if_exception(retry_if),
        stop=tenacity.stop_after_attempt(RETRY_ATTEMPTS),
        wait=tenacity.wait_exponential(multiplier=0.2, max=RETRY_WAIT_MAX_SECONDS),
        reraise=True,
    )
    request = _Request(method, path, query or {}, body, content_type)
    reads = _read_caches.get(api)
    if reads is None:
        answer: JsonObject = retrying(_send, api, request)
        return answer
    from_cache = reads.answer(method, path, request.query) if cached else None
    if from_cache is not None:
        return from_cache
    try:
        result: JsonObject = retrying(_send, api, request)
    except KubeApiError as error:
        reads.failed(method, path, error.status)
        raise
    reads.answered(method, path, result)
    return result


class ReadCache(Protocol):
    """Answers some reads from memory and learns from the answers of the rest (see
    ``caretaker.clients.kube.read_cache``)."""

    def answer(self, method: str, path: str, query: dict[str, str]) -> JsonObject | None: ...

    def answered(self, method: str, path: str, result: JsonObject) -> None: ...

    def failed(self, method: str, path: str, status: int) -> None: ...


_read_caches: weakref.WeakKeyDictionary[ApiClient, ReadCache] = weakref.WeakKeyDictionary()


def attach_read_cache(api: ApiClient, cache: ReadCache | None) -> None:
    """Every request through ``api`` consults ``cache`` from now on (None: none again)."""
    if cache is None:
        _read_caches.pop(api, None)
    else:
        _read_caches[api] = cache


def watch_events(
    api: ApiClient, path: str, query: dict[str, str], *, read_timeout: float
) -> Iterator[JsonObject]:
    """Opens one watch request (``watch=1`` is added; raises ``KubeApiError`` when it cannot
    be opened) and returns its events, decoded, until the server ends it."""
    request = _Request("GET", path, dict(query, watch="1"), None, "application/json")
    response = _open(api, request, (REQUEST_TIMEOUT[0], read_timeout))
    return _events(response.response)


def _events(stream: Any) -> Iterator[JsonObject]:
    try:
        buffer = b""
        for chunk in stream.stream(65536, decode_content=True):
            buffer += chunk
            *lines, buffer = buffer.split(b"\n")
            for line in lines:
                if line.strip():
                    event: JsonObject = json.loads(line)
                    yield event
    except (urllib3.exceptions.HTTPError, OSError) as error:
        raise KubeApiError(0, type(error).__name__, str(error)) from error
    finally:
        stream.release_conn()


def list_items(
    api: ApiClient, path: str, query: dict[str, str] | None = None
) -> Iterator[JsonObject]:
    """Every item of a list endpoint, following ``continue`` tokens page by page."""
    params = dict(query or {}, limit=str(LIST_PAGE_SIZE))
    while True:
        page = request_json(api, "GET", path, query=params)
        yield from page.get("items") or []
        token = (page.get("metadata") or {}).get("continue")
        if not token:
            return
        params["continue"] = token


@dataclass(frozen=True)
class _Request:
    method: str
    path: str
    query: dict[str, str]
    body: JsonObject | None
    content_type: str


def _send(api: ApiClient, request: _Request) -> JsonObject:
    """One HTTP exchange through the ApiClient (its TLS settings, auth and connection pool)."""
    response = _open(api, request, REQUEST_TIMEOUT)
    try:
        data: bytes = response.read()
    except (urllib3.exceptions.HTTPError, OSError) as error:
        raise KubeApiError(0, type(error).__name__, str(error)) from error
    decoded: JsonObject = json.loads(data) if data else {}
    return decoded


def _open(api: ApiClient, request: _Request, timeout: tuple[float, float]) -> Any:
    """Sends the request; the response (its body not read yet) when the status is 2xx."""
    serialized: Any = api.param_serialize(
        method=request.method,
        resource_path=request.path,
        query_params=list(request.query.items()),
        header_params={"Accept": "application/json", "Content-Type": request.content_type},
        body=request.body,
        auth_settings=["BearerToken"],
    )
    _, url, headers, payload, _ = serialized
    KUBE_REQUESTS.labels(request.method).inc()
    try:
        response: Any = api.call_api(
            request.method,
            url,
            header_params=headers,
            body=payload,
            _request_timeout=timeout,
        )
    except ApiException as error:
        raise _api_error(error.status or 0, str(error.reason), error.body) from error
    except (urllib3.exceptions.HTTPError, OSError) as error:
        raise KubeApiError(0, type(error).__name__, str(error)) from error
    if not 200 <= response.status <= 299:
        try:
            data = response.read()
        except (urllib3.exceptions.HTTPError, OSError):
            data = b""
        raise _api_error(response.status, str(response.reason), data)
    return response


def _api_error(status: int, reason: str, body: bytes | str | None) -> KubeApiError:
    """Builds the error from the server's Status object when there is one."""
    text = body.decode(errors="replace") if isinstance(body, bytes) else (body or "")
    try:
        status_object = json.loads(text)
    except ValueError:
        return KubeApiError(status, reason, text[:500])
    if not isinstance(status_object, dict):
        return KubeApiError(status, reason, text[:500])
    causes = tuple(
        StatusCause(str(cause.get("reason") or ""), str(cause.get("message") or ""))
        for cause in (status_object.get("details") or {}).get("causes") or []
    )
    return KubeApiError(
        status,
        str(status_object.get("reason") or reason),
        str(status_object.get("message") or text[:500]),
        causes,
    )
