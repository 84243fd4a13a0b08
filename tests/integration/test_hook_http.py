"""The HTTP hook client (spec.hooks[].http) against real HTTP receivers on 127.0.0.1
(tests/fixtures/receivers.py): the JSON body and headers on the wire, 2xx with the answer kept,
retries with the same idempotency key, failures that say why, timeouts, the URL kept secret."""

from __future__ import annotations

import pytest

from caretaker.clients.hooks.http import HookAnswer, call_hook
from caretaker.clients.notify import DeliveryFailed
from fixtures.receivers import MakeReceiver, Reply

BODY = {"maintenance": {"namespace": "ops", "name": "fans"}, "stage": "preNode", "node": "a"}
KEY = "uid-1-preNode-a-ticket"


def call(url: str, **overrides: object) -> HookAnswer:
    arguments: dict[str, object] = {
        "name": "ticket",
        "method": "POST",
        "headers": {"X-Team": "storage", "Authorization": "Bearer s3cr3t-token"},
        "body": BODY,
        "idempotency_key": KEY,
        "timeout": 5.0,
        "retries": 0,
    }
    arguments.update(overrides)
    return call_hook(url, **arguments)  # type: ignore[arg-type]


def test_the_body_and_headers_arrive_and_the_answer_is_kept(make_receiver: MakeReceiver) -> None:
    receiver = make_receiver(Reply(201, {"result": {"number": "CHG0042"}}))
    answer = call(f"{receiver.url}/api/change", method="PUT")
    assert (answer.status, answer.document, answer.attempts) == (
        201,
        {"result": {"number": "CHG0042"}},
        1,
    )
    (request,) = receiver.requests
    assert (request.method, request.path) == ("PUT", "/api/change")
    assert request.json == BODY
    assert request.header("Content-Type") == "application/json"
    assert request.header("Idempotency-Key") == KEY
    assert request.header("X-Team") == "storage"
    assert request.header("Authorization") == "Bearer s3cr3t-token"


def test_transient_failures_are_retried_with_the_same_key(make_receiver: MakeReceiver) -> None:
    receiver = make_receiver(503, Reply(200, {"ok": True}))
    answer = call(receiver.url, retries=2)
    assert (answer.status, answer.attempts) == (200, 2)
    assert [r.header("Idempotency-Key") for r in receiver.requests] == [KEY, KEY]
    assert receiver.requests[0].body == receiver.requests[1].body


def test_a_refusal_fails_at_once_and_says_why(make_receiver: MakeReceiver) -> None:
    receiver = make_receiver(Reply.text(400, "change window closed"))
    with pytest.raises(DeliveryFailed) as failed:
        call(receiver.url, retries=3)
    assert len(receiver.requests) == 1  # a 4xx is not retried
    assert "answered HTTP 400: change window closed" in str(failed.value)
    assert "hook ticket (127.0.0.1)" in str(failed.value)


def test_a_server_error_after_every_retry_fails(make_receiver: MakeReceiver) -> None:
    receiver = make_receiver(Reply.text(500, "boom"))
    with pytest.raises(DeliveryFailed) as failed:
        call(receiver.url, retries=1)
    assert len(receiver.requests) == 2
    assert "HTTP 500: boom" in str(failed.value)
    assert failed.value.attempts == 2


def test_no_answer_within_the_timeout_fails(make_receiver: MakeReceiver) -> None:
    receiver = make_receiver(Reply(200, {}, delay=3.0))
    with pytest.raises(DeliveryFailed) as failed:
        call(receiver.url, timeout=0.5)
    assert "no answer within 0.5s" in str(failed.value)


def test_the_url_and_credentials_stay_out_of_failures(make_receiver: MakeReceiver) -> None:
    receiver = make_receiver(
        Reply.text(403, "token s3cr3t-token refused at /hooks/Xy9-secret-path")
    )
    with pytest.raises(DeliveryFailed) as failed:
        call(f"{receiver.url}/hooks/Xy9-secret-path")
    text = str(failed.value)
    assert "s3cr3t-token" not in text
    assert "Xy9-secret-path" not in text
    assert "HTTP 403" in text
