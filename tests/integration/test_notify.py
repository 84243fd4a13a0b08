"""Notification clients against real HTTP receivers on 127.0.0.1 (tests/fixtures/receivers.py) and
the silences helper against the testbed's real Alertmanager: exact PagerDuty bodies, retries and
their limits, Slack blocks, webhook idempotency and signatures, secrets kept out of everything."""

from __future__ import annotations

import hashlib
import hmac
import logging
import socket
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from caretaker.clients.notify import (
    AlertmanagerClient,
    Delivered,
    DeliveryFailed,
    Link,
    Matcher,
    Notification,
    PagerDutyChangeClient,
    PagerDutyClient,
    RetryPolicy,
    Secret,
    SlackClient,
    WebhookClient,
)
from fixtures.receivers import (
    MakeAutomationReceiver,
    MakeReceiver,
    Receiver,
    RecordedRequest,
    Reply,
    pagerduty_invalid,
)

ROUTING_KEY = "R0UTINGKEY0123456789abcdef012345"
QUICK = RetryPolicy(max_attempts=4, max_total_seconds=5.0, initial_backoff=0.05, max_backoff=0.2)
NOTE = Notification(
    key="caretaker/osd-down/osd.3",
    title="OSD down",
    summary="osd.3 on node-7 is down",
    severity="critical",
    rule="osd-down",
    target="osd.3",
    value="1 of 12 OSDs down",
    links=(Link("https://runbooks.example/osd-down", "runbook"),),
)


def pagerduty(receiver: Receiver, **kwargs: Any) -> PagerDutyClient:
    options: dict[str, Any] = {"retry": QUICK, "timeout": 2.0, **kwargs}
    return PagerDutyClient(Secret(ROUTING_KEY), url=f"{receiver.url}/v2/enqueue", **options)


def webhook(receiver: Receiver, **kwargs: Any) -> WebhookClient:
    return WebhookClient(f"{receiver.url}/hooks/caretaker", retry=QUICK, **kwargs)


# --- PagerDuty -------------------------------------------------------------------------------


def test_pagerduty_trigger_sends_the_exact_body(http_receiver: Receiver) -> None:
    delivered = pagerduty(http_receiver).trigger(
        "osd.3 down",
        "osd.3",
        "critical",
        "caretaker/osd-down/osd.3",
        component="ceph-osd",
        group="node-7",
        class_="osd-down",
        custom_details={"down": 1, "note": "ünïcode"},
        links=[Link("https://runbooks.example/osd", "runbook")],
    )
    assert delivered == Delivered(202, "caretaker/osd-down/osd.3", 1)
    (request,) = http_receiver.wait_for_requests(1)
    assert (request.method, request.path) == ("POST", "/v2/enqueue")
    assert request.header("Content-Type") == "application/json"
    assert request.json == {
        "routing_key": ROUTING_KEY,
        "event_action": "trigger",
        "dedup_key": "caretaker/osd-down/osd.3",
        "payload": {
            "summary": "osd.3 down",
            "source": "osd.3",
            "severity": "critical",
            "component": "ceph-osd",
            "group": "node-7",
            "class": "osd-down",
            "custom_details": {"down": 1, "note": "ünïcode"},
        },
        "links": [{"href": "https://runbooks.example/osd", "text": "runbook"}],
        "client": "Caretaker",
    }


def test_pagerduty_resolve_keeps_the_dedup_key(http_receiver: Receiver) -> None:
    client = pagerduty(http_receiver)
    assert client.notify(NOTE).dedup_key == NOTE.key
    assert client.resolve(NOTE.key) == Delivered(202, NOTE.key, 1)
    trigger, resolve = (r.json for r in http_receiver.wait_for_requests(2))
    assert trigger["payload"]["severity"] == "critical"
    assert resolve == {"routing_key": ROUTING_KEY, "event_action": "resolve", "dedup_key": NOTE.key}


def test_pagerduty_dedup_key_comes_from_the_answer(make_receiver: MakeReceiver) -> None:
    receiver = make_receiver(Reply(202, {"status": "success", "dedup_key": "pd-chosen"}))
    assert pagerduty(receiver).resolve("mine").dedup_key == "pd-chosen"


def test_pagerduty_retries_500_and_429_then_succeeds(make_receiver: MakeReceiver) -> None:
    receiver = make_receiver(500, Reply(429, headers={"Retry-After": "0"}), 202)
    delivered = pagerduty(receiver).trigger("s", "src", "error", "k-1")
    assert delivered == Delivered(202, "k-1", 3)
    requests = receiver.wait_for_requests(3)
    assert len({r.body for r in requests}) == 1  # the same event each time
    assert len(receiver.requests) == 3


def test_pagerduty_honours_retry_after(make_receiver: MakeReceiver) -> None:
    receiver = make_receiver(Reply(429, headers={"Retry-After": "1"}), 202)
    retry = RetryPolicy(max_attempts=3, max_total_seconds=5, initial_backoff=0.05, max_backoff=2)
    pagerduty(receiver, retry=retry).resolve("k")
    first, second = receiver.wait_for_requests(2)
    assert 0.9 <= second.received_at - first.received_at < 2.0


def test_pagerduty_400_is_not_retried_and_carries_pagerdutys_message(
    make_receiver: MakeReceiver,
) -> None:
    receiver = make_receiver(
        pagerduty_invalid("Event object is invalid", "'payload.summary' is missing")
    )
    with pytest.raises(DeliveryFailed) as caught:
        pagerduty(receiver).trigger("s", "src", "info", "k")
    failure = caught.value
    assert (failure.retryable, failure.status, failure.attempts) == (False, 400, 1)
    assert "Event object is invalid: 'payload.summary' is missing" in str(failure)
    time.sleep(0.2)
    assert len(receiver.requests) == 1


def test_persistent_5xx_gives_up_after_max_attempts(make_receiver: MakeReceiver) -> None:
    receiver = make_receiver(Reply(503, "overloaded"))
    with pytest.raises(DeliveryFailed) as caught:
        pagerduty(receiver).resolve("k")
    failure = caught.value
    assert (failure.retryable, failure.status, failure.attempts) == (True, 503, 4)
    assert "overloaded" in failure.message
    assert "gave up after 4 attempts" in failure.message
    assert len(receiver.requests) == 4


def test_a_receiver_slower_than_the_timeout_costs_a_bounded_time(
    make_receiver: MakeReceiver,
) -> None:
    receiver = make_receiver(Reply(202, delay=10))
    retry = RetryPolicy(max_attempts=10, max_total_seconds=1.5, initial_backoff=0.1)
    started = time.monotonic()
    with pytest.raises(DeliveryFailed) as caught:
        pagerduty(receiver, timeout=0.5, retry=retry).resolve("k")
    elapsed = time.monotonic() - started
    assert elapsed < 2.5
    assert caught.value.retryable
    assert caught.value.status is None
    assert "no answer within" in str(caught.value)
    assert 2 <= len(receiver.requests) <= 4


def test_nobody_listening_is_retryable_and_bounded() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = PagerDutyClient(ROUTING_KEY, url=f"http://127.0.0.1:{port}/v2/enqueue", retry=QUICK)
    started = time.monotonic()
    with pytest.raises(DeliveryFailed, match="Connection refused") as caught:
        client.resolve("k")
    assert caught.value.retryable
    assert caught.value.attempts == 4
    assert time.monotonic() - started < 3


# --- Slack -----------------------------------------------------------------------------------


def test_slack_posts_text_and_blocks(make_receiver: MakeReceiver) -> None:
    receiver = make_receiver(Reply.text(200, "ok"))
    client = SlackClient(f"{receiver.url}/services/T000/B000/XXXXXXXX", retry=QUICK)
    assert client.notify(NOTE) == Delivered(200, None, 1)
    (request,) = receiver.wait_for_requests(1)
    assert request.path == "/services/T000/B000/XXXXXXXX"
    message = request.json
    assert message["text"] == "[CRITICAL] OSD down: osd.3 on node-7 is down"
    assert [block["type"] for block in message["blocks"]] == [
        "header",
        "section",
        "section",
        "context",
    ]
    fields = [field["text"] for field in message["blocks"][2]["fields"]]
    assert fields == [
        "*Rule*\nosd-down",
        "*Target*\nosd.3",
        "*Severity*\ncritical",
        "*Value*\n1 of 12 OSDs down",
    ]


def test_slack_errors_come_back_as_text(make_receiver: MakeReceiver) -> None:
    receiver = make_receiver(Reply.text(500, "rollup_error"), Reply.text(400, "invalid_blocks"))
    client = SlackClient(f"{receiver.url}/services/T/B/X", retry=QUICK)
    with pytest.raises(DeliveryFailed, match="HTTP 400: invalid_blocks") as caught:
        client.notify(NOTE)
    assert not caught.value.retryable
    assert len(receiver.requests) == 2  # the 500 was retried, the 400 was not


# --- generic webhook -------------------------------------------------------------------------


def test_webhook_keeps_its_idempotency_key_and_signature_across_retries(
    make_receiver: MakeReceiver,
) -> None:
    receiver = make_receiver(500, 503, Reply(204, b""))
    client = webhook(
        receiver, headers={"Authorization": Secret("Bearer tok-1234")}, signing_secret="s3cr3t!"
    )
    delivered = client.notify(NOTE)
    requests = receiver.wait_for_requests(3)
    keys = {r.header("Idempotency-Key") for r in requests}
    assert keys == {delivered.dedup_key}
    assert delivered.status == 204
    assert delivered.attempts == 3
    assert len({r.body for r in requests}) == 1
    for request in requests:
        assert request.header("Content-Type") == "application/json"
        assert request.header("Authorization") == "Bearer tok-1234"
        expected = hmac.new(b"s3cr3t!", request.body, hashlib.sha256).hexdigest()
        assert request.header("X-Caretaker-Signature") == f"sha256={expected}"
    assert requests[0].json["key"] == NOTE.key


def test_webhook_explicit_key_and_refused_reserved_headers(http_receiver: Receiver) -> None:
    delivered = webhook(http_receiver).send({"event": "drain-started"}, idempotency_key="mw-12/1")
    assert delivered.dedup_key == "mw-12/1"
    (request,) = http_receiver.wait_for_requests(1)
    assert request.header("Idempotency-Key") == "mw-12/1"
    assert request.header("X-Caretaker-Signature") is None
    with pytest.raises(ValueError, match="set by the webhook client"):
        webhook(http_receiver, headers={"Idempotency-Key": "x"})


def test_automation_receiver_runs_an_action_per_webhook(
    make_automation_receiver: MakeAutomationReceiver,
) -> None:
    def action(request: RecordedRequest) -> str:
        return f"restarted {request.json['target']}"

    receiver = make_automation_receiver(action)
    assert webhook(receiver).notify(NOTE).status == 200
    assert receiver.wait_for_actions(1) == ["restarted osd.3"]


# --- secrets ---------------------------------------------------------------------------------


def test_secrets_stay_out_of_reprs_errors_and_logs(
    make_receiver: MakeReceiver, caplog: pytest.LogCaptureFixture
) -> None:
    receiver = make_receiver()
    slack_path = "/services/T0/B0/SLACKSECRET"
    cases: list[tuple[Any, str]] = [  # (client, the secret it must keep)
        (pagerduty(receiver), ROUTING_KEY),
        (SlackClient(receiver.url + slack_path, retry=QUICK), receiver.url + slack_path),
        (webhook(receiver, headers={"Authorization": "Bearer tok-5678"}), "tok-5678"),
        (webhook(receiver, signing_secret="hmac-key-42"), "hmac-key-42"),
    ]
    shown: list[str] = []
    with caplog.at_level(logging.DEBUG):
        for client, secret in cases:
            echo = f"refused {secret} (token={secret})"
            receiver.answer_with(Reply(500, echo), Reply(401, echo))  # servers echo requests
            with pytest.raises(DeliveryFailed) as caught:
                client.notify(NOTE)
            assert "<redacted>" in str(caught.value)
            shown += [repr(client), str(caught.value), repr(caught.value)]
    assert caplog.text.count("retrying") == len(cases)  # the retries were logged ...
    secrets = [ROUTING_KEY, "SLACKSECRET", "tok-5678", "hmac-key-42"]
    for text in [*shown, caplog.text]:  # ... and nothing shows a secret
        assert not [secret for secret in secrets if secret in text], text


# --- Alertmanager silences (the testbed's real Alertmanager) ---------------------------------


@pytest.fixture
def silences(alertmanager_testbed: str) -> AlertmanagerClient:
    return AlertmanagerClient(alertmanager_testbed, retry=QUICK)


@pytest.mark.prometheus
def test_silence_created_listed_and_expired(silences: AlertmanagerClient) -> None:
    now = datetime.now(UTC)
    matchers = [Matcher("instance", "node-7"), Matcher("alertname", "Ceph.*", is_regex=True)]
    silence_id = silences.create_silence(
        matchers, now, now + timedelta(hours=1), "caretaker-tests", "maintenance MW-12"
    )
    try:
        active = {s.id: s for s in silences.list_active_silences()}
        silence = active[silence_id]
        assert silence.matchers == tuple(matchers)
        assert (silence.created_by, silence.comment) == ("caretaker-tests", "maintenance MW-12")
        assert abs(silence.ends_at - (now + timedelta(hours=1))) < timedelta(seconds=1)
    finally:
        assert silences.expire_silence(silence_id)
    assert silence_id not in {s.id for s in silences.list_active_silences()}
    expired = silences.get_silence(silence_id)
    assert expired is not None
    assert expired.state == "expired"


@pytest.mark.prometheus
def test_future_silence_is_pending_not_active(silences: AlertmanagerClient) -> None:
    start = datetime.now(UTC) + timedelta(days=1)
    silence_id = silences.create_silence(
        [Matcher("instance", "node-8")], start, start + timedelta(hours=2), "tests", "later"
    )
    assert silence_id not in {s.id for s in silences.list_active_silences()}
    pending = silences.get_silence(silence_id)
    assert pending is not None
    assert pending.state == "pending"
    silences.expire_silence(silence_id)


@pytest.mark.prometheus
def test_silence_errors(silences: AlertmanagerClient) -> None:
    assert silences.expire_silence("00000000-0000-0000-0000-000000000000") is False
    now = datetime.now(UTC)
    with pytest.raises(DeliveryFailed, match="Alertmanager answered HTTP 4") as caught:
        silences.create_silence(
            [Matcher("a", "(", is_regex=True)], now, now + timedelta(1), "t", "c"
        )
    assert not caught.value.retryable
    bearer = AlertmanagerClient(silences.url, bearer_token="am-token-9876")
    assert "am-token-9876" not in repr(bearer)


def test_pagerduty_change_event_goes_to_the_change_endpoint(http_receiver: Receiver) -> None:
    client = PagerDutyChangeClient(
        Secret(ROUTING_KEY), events_url=f"{http_receiver.url}/v2/enqueue", retry=QUICK
    )
    assert ROUTING_KEY not in repr(client)
    delivered = client.change(
        "Maintenance ops/nightly: NodeReady: Node a is drained",
        "a",
        custom_details={"dedup_key": "caretaker/maintenance/u/NodeReady/a"},
    )
    assert delivered.status == 202
    (request,) = http_receiver.wait_for_requests(1)
    assert (request.method, request.path) == ("POST", "/v2/change/enqueue")
    assert request.json == {
        "routing_key": ROUTING_KEY,
        "payload": {
            "summary": "Maintenance ops/nightly: NodeReady: Node a is drained",
            "source": "a",
            "custom_details": {"dedup_key": "caretaker/maintenance/u/NodeReady/a"},
        },
    }


def test_pagerduty_change_event_refused_is_reported_without_the_key(
    make_receiver: MakeReceiver,
) -> None:
    receiver = make_receiver(pagerduty_invalid("Event object is invalid", "'source' missing"))
    client = PagerDutyChangeClient(
        Secret(ROUTING_KEY), events_url=f"{receiver.url}/v2/enqueue", retry=QUICK
    )
    with pytest.raises(DeliveryFailed) as failed:
        client.change("summary", "a")
    assert "Event object is invalid" in str(failed.value)
    assert ROUTING_KEY not in str(failed.value)
    assert len(receiver.requests) == 1  # 400 is not retried
