"""Notification payloads built by pure functions: PagerDuty Events API v2 bodies, Slack blocks and
escaping, webhook events and signatures, Alertmanager silence JSON, ``Secret`` masking."""

from __future__ import annotations

import hashlib
import hmac
import html
import json
import math
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from caretaker.clients.notify import (
    Link,
    Matcher,
    Notification,
    Secret,
    action_body,
    change_body,
    change_events_url,
    check_severity,
    pagerduty_severity,
    redact,
    sign,
    slack_escape,
    slack_message,
    trigger_body,
    webhook_event,
)
from caretaker.clients.notify.pagerduty import pagerduty_explanation, trigger_fields
from caretaker.clients.notify.silences import (
    BadSilenceAnswer,
    parse_silence_id,
    parse_silences,
    parse_time,
    silence_body,
)
from caretaker.clients.notify.slack import mrkdwn, plain
from caretaker.clients.notify.webhook import content_key
from caretaker.clients.notify.wire import (
    Answer,
    encode_json,
    is_transient_status,
    retry_after_seconds,
)

KEY = Secret("R0UTINGKEY0123456789abcdef012345")
AT = datetime(2024, 5, 1, 10, 0, 0, 123456, tzinfo=UTC)

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(), children),
    max_leaves=20,
)
json_objects = st.dictionaries(st.text(), json_values, max_size=6)


def notification(**changes: Any) -> Notification:
    fields: dict[str, Any] = {
        "key": "caretaker/osd-down/osd.3",
        "title": "OSD down",
        "summary": "osd.3 on node-7 has been down for 10m",
        "severity": "critical",
        "rule": "osd-down",
        "target": "osd.3",
        "value": "1 of 12 OSDs down",
        "details": {"host": "node-7"},
        "links": (Link("https://runbooks.example/osd-down", "runbook"),),
        "occurred_at": AT,
    }
    fields.update(changes)
    return Notification(**fields)


# --- PagerDuty -------------------------------------------------------------------------------


def test_caretaker_severities_map_to_pagerduty_severities() -> None:
    assert [pagerduty_severity(s) for s in ("routine", "urgent", "critical")] == [
        "warning",
        "error",
        "critical",
    ]
    with pytest.raises(ValueError, match="unknown severity"):
        pagerduty_severity("page-everyone")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown severity"):
        check_severity("info")


def test_trigger_body_is_the_events_api_v2_shape() -> None:
    body = trigger_body(
        KEY,
        summary="OSD down: osd.3",
        source="osd.3",
        severity="critical",
        dedup_key="caretaker/osd-down/osd.3",
        component="ceph-osd",
        group="node-7",
        class_="osd-down",
        custom_details={"down": 1, "hosts": ["node-7"]},
        links=[Link("https://runbooks.example/osd", "runbook")],
        timestamp=AT,
        client_url="https://caretaker.example",
    )
    assert body == {
        "routing_key": KEY.reveal(),
        "event_action": "trigger",
        "dedup_key": "caretaker/osd-down/osd.3",
        "payload": {
            "summary": "OSD down: osd.3",
            "source": "osd.3",
            "severity": "critical",
            "timestamp": "2024-05-01T10:00:00.123Z",
            "component": "ceph-osd",
            "group": "node-7",
            "class": "osd-down",
            "custom_details": {"down": 1, "hosts": ["node-7"]},
        },
        "links": [{"href": "https://runbooks.example/osd", "text": "runbook"}],
        "client": "Caretaker",
        "client_url": "https://caretaker.example",
    }


def test_minimal_trigger_leaves_optional_fields_out() -> None:
    body = trigger_body(KEY, summary="s", source="src", severity="info", dedup_key="k", client=None)
    assert body == {
        "routing_key": KEY.reveal(),
        "event_action": "trigger",
        "dedup_key": "k",
        "payload": {"summary": "s", "source": "src", "severity": "info"},
    }


def test_resolve_carries_no_payload() -> None:
    assert action_body(KEY, "resolve", "k-1") == {
        "routing_key": KEY.reveal(),
        "event_action": "resolve",
        "dedup_key": "k-1",
    }


def test_trigger_limits() -> None:
    long: Any = trigger_body(KEY, summary="x" * 5000, source="s", severity="error", dedup_key="k")
    assert len(long["payload"]["summary"]) == 1024
    with pytest.raises(ValueError, match="dedup_key"):
        action_body(KEY, "resolve", "k" * 256)
    with pytest.raises(ValueError, match="dedup_key"):
        action_body(KEY, "resolve", "")
    with pytest.raises(ValueError, match="summary and source"):
        trigger_body(KEY, summary=" ", source="s", severity="error", dedup_key="k")
    with pytest.raises(ValueError, match="PagerDuty severity"):
        trigger_body(KEY, summary="s", source="s", severity="fatal", dedup_key="k")  # type: ignore[arg-type]


@given(json_objects)
def test_custom_details_survive_the_wire_unchanged(details: dict[str, Any]) -> None:
    body = trigger_body(
        KEY, summary="s", source="s", severity="info", dedup_key="k", custom_details=details
    )
    assert json.loads(encode_json(body))["payload"]["custom_details"] == details


def test_nan_is_refused_rather_than_sent_as_invalid_json() -> None:
    with pytest.raises(ValueError, match="JSON"):
        encode_json({"value": math.nan})


def test_notification_as_pagerduty_trigger() -> None:
    fields = trigger_fields(notification(severity="urgent"))
    assert fields["severity"] == "error"
    assert fields["source"] == "osd.3"
    assert fields["dedup_key"] == "caretaker/osd-down/osd.3"
    assert fields["class_"] == "osd-down"
    assert fields["custom_details"] == {
        "rule": "osd-down",
        "target": "osd.3",
        "value": "1 of 12 OSDs down",
        "host": "node-7",
    }


def test_pagerduty_explanation_joins_message_and_errors() -> None:
    body = b'{"status":"invalid event","message":"Event object is invalid","errors":["a","b"]}'
    assert pagerduty_explanation(Answer(400, body)) == "Event object is invalid: a; b"
    assert pagerduty_explanation(Answer(400, b'{"errors":["only"]}')) == "only"
    assert pagerduty_explanation(Answer(502, b"Bad Gateway")) == "Bad Gateway"


# --- Slack -----------------------------------------------------------------------------------


def test_slack_message_has_header_summary_fields_and_context() -> None:
    message: Any = slack_message(notification(summary="a < b & c > d"))
    header, summary, fields, context = message["blocks"]
    assert header == {
        "type": "header",
        "text": {"type": "plain_text", "text": "[CRITICAL] OSD down"},
    }
    assert summary == {
        "type": "section",
        "text": {"type": "mrkdwn", "text": ":red_circle: a &lt; b &amp; c &gt; d"},
    }
    assert [f["text"] for f in fields["fields"]] == [
        "*Rule*\nosd-down",
        "*Target*\nosd.3",
        "*Severity*\ncritical",
        "*Value*\n1 of 12 OSDs down",
    ]
    assert context["type"] == "context"
    assert context["elements"][0]["text"] == (
        "caretaker · key caretaker/osd-down/osd.3 · 2024-05-01T10:00:00.123Z"
    )
    assert context["elements"][1]["text"] == "<https://runbooks.example/osd-down|runbook>"
    assert message["text"] == "[CRITICAL] OSD down: a &lt; b &amp; c &gt; d"


def test_resolved_slack_message() -> None:
    message: Any = slack_message(notification(resolved=True, value=None))
    header, summary, fields, _ = message["blocks"]
    assert header["text"]["text"] == "[RESOLVED] OSD down"
    assert summary["text"]["text"].startswith(":large_green_circle: ")
    assert len(fields["fields"]) == 3


def test_mentions_and_links_cannot_be_forged() -> None:
    text = slack_escape("<!channel> <@U123> <https://evil|click>")
    assert "<" not in text
    assert ">" not in text


@given(st.text(), st.integers(min_value=2, max_value=300))
def test_mrkdwn_is_escaped_and_cut_without_breaking_entities(text: str, limit: int) -> None:
    result = mrkdwn(text, limit)
    assert len(result) <= limit
    assert "<" not in result
    assert ">" not in result
    if result.endswith("…") and len(slack_escape(text)) > limit:
        assert text.startswith(html.unescape(result[:-1]))
    else:
        assert html.unescape(result) == text


@given(st.text(), st.integers(min_value=1, max_value=200))
def test_plain_text_is_cut_to_the_limit(text: str, limit: int) -> None:
    assert len(plain(text, limit)) <= limit


# --- webhook ---------------------------------------------------------------------------------


def test_webhook_event_shape() -> None:
    assert webhook_event(notification()) == {
        "version": "caretaker.event/v1",
        "key": "caretaker/osd-down/osd.3",
        "state": "firing",
        "title": "OSD down",
        "summary": "osd.3 on node-7 has been down for 10m",
        "severity": "critical",
        "rule": "osd-down",
        "target": "osd.3",
        "value": "1 of 12 OSDs down",
        "source": "caretaker",
        "occurred_at": "2024-05-01T10:00:00.123Z",
        "details": {"host": "node-7"},
        "links": [{"href": "https://runbooks.example/osd-down", "text": "runbook"}],
    }


@given(st.binary(), st.text(min_size=1))
def test_signatures_verify_and_detect_tampering(body: bytes, key: str) -> None:
    secret = Secret(key)
    signature = sign(body, secret)
    assert signature == "sha256=" + hmac.new(key.encode(), body, hashlib.sha256).hexdigest()
    assert sign(body + b" ", secret) != signature
    assert sign(body, Secret(key + "x")) != signature


def test_content_key_is_stable() -> None:
    assert content_key(b"{}") == content_key(b"{}")
    assert content_key(b"{}") != content_key(b"[]")


def test_notification_validation() -> None:
    with pytest.raises(ValueError, match="time zone"):
        notification(occurred_at=datetime(2024, 1, 1))
    with pytest.raises(ValueError, match="severity"):
        notification(severity="sev1")
    with pytest.raises(ValueError, match="key"):
        notification(key="")
    with pytest.raises(ValueError, match="http"):
        Link("javascript:alert(1)")


# --- transport -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "transient"),
    [
        *[(200, False), (400, False), (401, False), (404, False)],
        *[(408, True), (429, True), (500, True), (502, True), (503, True), (599, True)],
    ],
)
def test_transient_statuses(status: int, transient: bool) -> None:
    assert is_transient_status(status) is transient


def test_retry_after_in_seconds_or_as_a_date() -> None:
    now = datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
    assert retry_after_seconds("7") == 7.0
    assert retry_after_seconds("Wed, 01 May 2024 10:00:30 GMT", now) == 30.0
    assert retry_after_seconds("Wed, 01 May 2024 09:00:00 GMT", now) == 0.0
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds(None) is None


# --- Secret ----------------------------------------------------------------------------------


def test_secret_never_shows_itself() -> None:
    secret = Secret("hunter2-very-secret")
    shown = [repr(secret), str(secret), f"{secret}", f"{secret!r}", "%s" % (secret,)]  # noqa: UP031
    assert all("hunter2" not in text for text in shown)
    assert secret.reveal() == "hunter2-very-secret"
    assert secret == Secret("hunter2-very-secret")
    assert "hunter2" not in repr({"key": secret})


def test_redact_removes_longer_secrets_first_and_ignores_tiny_ones() -> None:
    secrets = [Secret("abcd"), Secret("abcdefgh"), Secret("xy")]
    assert redact("key=abcdefgh other=abcd xy", secrets) == "key=<redacted> other=<redacted> xy"


# --- Alertmanager silences -------------------------------------------------------------------


def test_silence_body() -> None:
    start = datetime(2024, 5, 1, 12, 0, tzinfo=timezone(timedelta(hours=2)))
    body = silence_body(
        [Matcher("instance", "node-7"), Matcher("alertname", "Ceph.*", is_regex=True)],
        start,
        start + timedelta(hours=1),
        "caretaker",
        "maintenance MW-12",
    )
    assert body == {
        "matchers": [
            {"name": "instance", "value": "node-7", "isRegex": False, "isEqual": True},
            {"name": "alertname", "value": "Ceph.*", "isRegex": True, "isEqual": True},
        ],
        "startsAt": "2024-05-01T10:00:00.000Z",
        "endsAt": "2024-05-01T11:00:00.000Z",
        "createdBy": "caretaker",
        "comment": "maintenance MW-12",
    }


def test_silence_body_refuses_what_alertmanager_would_refuse() -> None:
    later = AT + timedelta(hours=1)
    with pytest.raises(ValueError, match="at least one matcher"):
        silence_body([], AT, later, "me", "c")
    with pytest.raises(ValueError, match="end after"):
        silence_body([Matcher("a", "b")], later, AT, "me", "c")
    with pytest.raises(ValueError, match="time zone"):
        silence_body([Matcher("a", "b")], datetime(2024, 1, 1), datetime(2024, 1, 2), "me", "c")
    with pytest.raises(ValueError, match="matcher name"):
        Matcher("", "b")


def test_matcher_text() -> None:
    assert [
        str(Matcher("a", "b")),
        str(Matcher("a", "b.*", is_regex=True)),
        str(Matcher("a", "b", is_equal=False)),
        str(Matcher("a", "b.*", is_regex=True, is_equal=False)),
    ] == ["a='b'", "a=~'b.*'", "a!='b'", "a!~'b.*'"]


def test_parse_alertmanager_silences() -> None:
    answer = [
        {
            "id": "a2eb9d4a-8eb3-4773-bbfb-5ecfde5b6418",
            "status": {"state": "active"},
            "updatedAt": "2024-05-01T10:21:09.023Z",
            "comment": "c",
            "createdBy": "me",
            "endsAt": "2030-01-01T00:00:00.123456789Z",
            "matchers": [{"isEqual": True, "isRegex": False, "name": "alertname", "value": "X"}],
            "startsAt": "2024-05-01T10:21:09.023Z",
        }
    ]
    (silence,) = parse_silences(answer)
    assert silence.id == "a2eb9d4a-8eb3-4773-bbfb-5ecfde5b6418"
    assert silence.is_active
    assert silence.matchers == (Matcher("alertname", "X"),)
    assert silence.ends_at == datetime(2030, 1, 1, 0, 0, 0, 123456, tzinfo=UTC)
    assert parse_silence_id({"silenceID": "abc"}) == "abc"
    with pytest.raises(BadSilenceAnswer):
        parse_silences([{**answer[0], "status": {"state": "dormant"}}])
    with pytest.raises(BadSilenceAnswer):
        parse_silences([{"id": "x"}])
    with pytest.raises(BadSilenceAnswer):
        parse_silence_id({"status": "ok"})
    with pytest.raises(ValueError, match="time zone"):
        parse_time("2024-05-01T10:00:00")


# --- PagerDuty change events (Maintenance notifications) ------------------------------------


def test_change_body_is_the_change_events_api_shape() -> None:
    body = change_body(
        Secret("rk"),
        summary="Maintenance ops/nightly: NodeReady: Node a is drained",
        source="a",
        timestamp=datetime(2026, 5, 4, 10, 0, tzinfo=UTC),
        custom_details={"dedup_key": "caretaker/maintenance/u/NodeReady/a", "osds": [3, 4]},
    )
    assert body == {
        "routing_key": "rk",
        "payload": {
            "summary": "Maintenance ops/nightly: NodeReady: Node a is drained",
            "source": "a",
            "timestamp": "2026-05-04T10:00:00.000Z",
            "custom_details": {"dedup_key": "caretaker/maintenance/u/NodeReady/a", "osds": [3, 4]},
        },
    }
    assert "event_action" not in body  # a change event is not an incident
    assert (
        len(change_body(Secret("rk"), summary="x" * 2000, source="a")["payload"]["summary"]) == 1024
    )  # type: ignore[index,arg-type]
    with pytest.raises(ValueError, match="must not be empty"):
        change_body(Secret("rk"), summary=" ", source="a")
    assert change_events_url() == "https://events.pagerduty.com/v2/change/enqueue"
    assert change_events_url("http://pd.local:8080/v2/enqueue") == (
        "http://pd.local:8080/v2/change/enqueue"
    )
    assert change_events_url("http://pd.local/v2/change/enqueue/") == (
        "http://pd.local/v2/change/enqueue"
    )
