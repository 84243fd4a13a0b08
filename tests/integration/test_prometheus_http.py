"""The Prometheus client against real local HTTP servers (http.server in a thread) that record
what reaches them: bearer / basic / token-file auth and tenant headers, secrets kept out of errors
and logs, TLS with a CA bundle or without verification, per-call timeouts against a slow server."""

from __future__ import annotations

import json
import logging
import os
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from caretaker.clients.prometheus import (
    NO_RETRIES,
    BasicAuth,
    PrometheusAuthRejected,
    PrometheusClient,
    PrometheusSettings,
    PrometheusUnreachable,
    RetryPolicy,
)

VECTOR_ANSWER = {
    "status": "success",
    "data": {"resultType": "vector", "result": [{"metric": {"job": "x"}, "value": [1, "7"]}]},
}
QUICK_RETRIES = RetryPolicy(max_attempts=3, max_total_seconds=2.0, initial_backoff=0.1)


@dataclass
class RecordingServer:
    """A real HTTP server on 127.0.0.1 that records requests and sends a configurable answer."""

    url: str = ""
    status: int = 200
    body: bytes = json.dumps(VECTOR_ANSWER).encode()
    delay: float = 0.0
    requests: list[dict[str, str]] = field(default_factory=list)


@pytest.fixture
def recorder() -> Iterator[RecordingServer]:
    yield from serve(RecordingServer())


def serve(
    server_state: RecordingServer, tls: ssl.SSLContext | None = None
) -> Iterator[RecordingServer]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            server_state.requests.append({k.lower(): v for k, v in self.headers.items()})
            time.sleep(server_state.delay)
            self.send_response(server_state.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(server_state.body)))
            self.end_headers()
            self.wfile.write(server_state.body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    scheme = "http"
    if tls is not None:
        httpd.socket = tls.wrap_socket(httpd.socket, server_side=True)
        scheme = "https"
    server_state.url = f"{scheme}://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield server_state
    httpd.shutdown()
    httpd.server_close()


def test_bearer_token_and_tenant_header_reach_the_server(recorder: RecordingServer) -> None:
    settings = PrometheusSettings(
        url=recorder.url, bearer_token="tok-abc-123", headers={"X-Scope-OrgID": "tenant-a"}
    )
    result = PrometheusClient(settings).query("up")
    assert [s.value for s in result] == [7.0]
    (seen,) = recorder.requests
    assert seen["authorization"] == "Bearer tok-abc-123"
    assert seen["x-scope-orgid"] == "tenant-a"


def test_basic_auth_reaches_the_server(recorder: RecordingServer) -> None:
    settings = PrometheusSettings(url=recorder.url, basic_auth=BasicAuth("alice", "pw-xyz-789"))
    PrometheusClient(settings).query("up")
    (seen,) = recorder.requests
    assert seen["authorization"] == "Basic YWxpY2U6cHcteHl6LTc4OQ=="  # alice:pw-xyz-789


def test_bearer_token_file_is_read_again_when_it_changes(
    recorder: RecordingServer, tmp_path: Path
) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("first-token\n")
    client = PrometheusClient(
        PrometheusSettings(url=recorder.url, bearer_token_file=str(token_file))
    )
    client.query("up")
    token_file.write_text("second-token\n")
    os.utime(token_file, ns=(time.time_ns(), time.time_ns() + 1_000_000))
    client.query("up")
    assert [seen["authorization"] for seen in recorder.requests] == [
        "Bearer first-token",
        "Bearer second-token",
    ]
    assert "second-token" not in repr(client.settings)
    token_file.unlink()
    with pytest.raises(PrometheusAuthRejected, match="cannot read bearer token file"):
        client.query("up")
    assert len(recorder.requests) == 2


def test_secrets_never_show_in_errors_or_logs(
    recorder: RecordingServer, caplog: pytest.LogCaptureFixture
) -> None:
    recorder.status = 500
    recorder.body = b"upstream rejected Authorization: Bearer tok-abc-123 for tenant-a"
    settings = PrometheusSettings(url=recorder.url, bearer_token="tok-abc-123", retry=QUICK_RETRIES)
    client = PrometheusClient(settings)
    with caplog.at_level(logging.DEBUG), pytest.raises(PrometheusUnreachable) as caught:
        client.query("up")
    assert len(recorder.requests) == 3  # 5xx is retried
    assert "tok-abc-123" not in str(caught.value)
    assert "tok-abc-123" not in repr(caught.value)
    assert "tok-abc-123" not in repr(client)
    assert caught.value.__context__ is None
    assert caught.value.__cause__ is None
    assert "tok-abc-123" not in caplog.text
    assert "HTTP 500" in caplog.text


def test_refused_credentials_are_not_retried(recorder: RecordingServer) -> None:
    recorder.status = 401
    recorder.body = b"Unauthorized"
    settings = PrometheusSettings(url=recorder.url, bearer_token="wrong-token", retry=QUICK_RETRIES)
    with pytest.raises(PrometheusAuthRejected, match="HTTP 401"):
        PrometheusClient(settings).query("up")
    assert len(recorder.requests) == 1


def test_per_call_timeout_bounds_a_slow_server(recorder: RecordingServer) -> None:
    recorder.delay = 3.0
    client = PrometheusClient(PrometheusSettings(url=recorder.url, retry=NO_RETRIES))
    started = time.monotonic()
    with pytest.raises(PrometheusUnreachable, match="timeout"):
        client.query("up", timeout=0.5)
    assert time.monotonic() - started < 2.5
    assert recorder.requests  # the request did reach the server


@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
def test_tls_with_ca_bundle_or_insecure(tmp_path: Path) -> None:
    cert, key = self_signed_certificate(tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    for server in serve(RecordingServer(), tls=context):
        with pytest.raises(PrometheusUnreachable, match="TLS") as caught:
            PrometheusClient(PrometheusSettings(url=server.url, retry=QUICK_RETRIES)).query("up")
        assert "attempts" not in str(caught.value)  # a certificate problem is not retried
        trusted = PrometheusSettings(url=server.url, ca_bundle=str(cert))
        assert [s.value for s in PrometheusClient(trusted).query("up")] == [7.0]
        insecure = PrometheusSettings(url=server.url, insecure_skip_verify=True)
        assert [s.value for s in PrometheusClient(insecure).query("up")] == [7.0]


# --- helpers -----------------------------------------------------------------------------------


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key
