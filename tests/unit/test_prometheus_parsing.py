"""Parsing of Prometheus API answers and classification of failures (no server needed)."""

from __future__ import annotations

import contextlib
import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from caretaker.clients.prometheus import (
    BasicAuth,
    PrometheusAuthRejected,
    PrometheusBadQuery,
    PrometheusBadResponse,
    PrometheusError,
    PrometheusSettings,
    PrometheusUnreachable,
    Sample,
)
from caretaker.clients.prometheus.parsing import (
    error_for_http_failure,
    http_failure_from,
    parse_instant_result,
    parse_value,
)

URL = "http://prometheus.example:9090"
EVAL_TIME = 1_700_000_000.0

label_names = st.from_regex(r"[a-zA-Z_][a-zA-Z0-9_]{0,20}", fullmatch=True)
label_sets = st.dictionaries(label_names, st.text(max_size=30), max_size=6)
json_values = st.recursive(
    st.none() | st.booleans() | st.floats(allow_nan=False) | st.integers() | st.text(max_size=10),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


def prometheus_number(value: float) -> str:
    """How Prometheus writes a float in JSON (Go's strconv.FormatFloat 'f', -1 plus specials)."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(value)


def library_message(status: int, body: bytes) -> str:
    """The message prometheus-api-client 0.7.2 puts in PrometheusApiClientException."""
    return f"HTTP Status Code {status} ({body!r})"


# --- values and labels -----------------------------------------------------------------------


@given(st.floats())
def test_values_round_trip_including_nan_and_infinities(value: float) -> None:
    parsed = parse_value(prometheus_number(value))
    assert (math.isnan(parsed) and math.isnan(value)) or parsed == value


@given(st.text().filter(lambda s: not _is_float(s)))
def test_a_value_that_is_no_number_is_a_bad_response(text: str) -> None:
    with pytest.raises(PrometheusBadResponse):
        parse_value(text)


def _is_float(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


@given(st.lists(st.tuples(label_sets, st.floats(allow_nan=False)), max_size=5))
def test_vector_samples_keep_labels_values_and_order(
    entries: list[tuple[dict[str, str], float]],
) -> None:
    raw = [{"metric": labels, "value": [EVAL_TIME, prometheus_number(v)]} for labels, v in entries]
    result = parse_instant_result(json.loads(json.dumps(raw)), "q", EVAL_TIME)
    assert [dict(s.labels) for s in result.samples] == [labels for labels, _ in entries]
    assert [s.value for s in result.samples] == [v for _, v in entries]
    assert bool(result) == bool(entries)
    assert not result.is_scalar


def test_an_empty_vector_is_no_data_not_an_error() -> None:
    result = parse_instant_result([], "absent_metric", EVAL_TIME)
    assert result.samples == ()
    assert not result


def test_results_are_sequences_so_no_data_is_falsy() -> None:
    raw = [{"metric": {"osd": str(i)}, "value": [EVAL_TIME, "0"]} for i in range(5)]
    result = parse_instant_result(raw, "ceph_osd_up == 0", EVAL_TIME)
    assert result
    assert len(result) == 5
    assert result[0].labels == {"osd": "0"}
    assert [s.labels["osd"] for s in result[:2]] == ["0", "1"]
    assert not parse_instant_result([], "q", EVAL_TIME)


def test_a_scalar_is_one_sample_without_labels() -> None:
    result = parse_instant_result([EVAL_TIME, "+Inf"], "1/0", EVAL_TIME)
    assert result.is_scalar
    assert result.samples == (Sample(labels={}, value=math.inf, timestamp=EVAL_TIME),)


def test_a_string_result_is_a_bad_query() -> None:
    with pytest.raises(PrometheusBadQuery, match="string"):
        parse_instant_result([EVAL_TIME, "abc"], '"abc"', EVAL_TIME)


def test_a_range_vector_from_an_instant_query_is_a_bad_query() -> None:
    raw = [{"metric": {"job": "x"}, "values": [[EVAL_TIME, "1"]]}]
    with pytest.raises(PrometheusBadQuery, match="range vector"):
        parse_instant_result(raw, "up[1m]", EVAL_TIME)


@given(json_values)
def test_any_malformed_answer_raises_a_typed_error(raw: object) -> None:
    with contextlib.suppress(PrometheusError):
        parse_instant_result(raw, "q", EVAL_TIME)


@pytest.mark.parametrize(
    "raw",
    [
        {"resultType": "vector"},
        [{"metric": {"a": 1}, "value": [1, "1"]}],
        [{"metric": {}, "value": [1]}],
        [{"metric": {}, "value": ["now", "1"]}],
        [{"metric": {}}],
        "<html>login</html>",
    ],
)
def test_wrong_shapes_are_bad_responses(raw: object) -> None:
    with pytest.raises(PrometheusBadResponse):
        parse_instant_result(raw, "q", EVAL_TIME)


# --- HTTP failures -----------------------------------------------------------------------------


@given(st.sampled_from([400, 401, 403, 404, 422, 500, 502, 503]), st.binary(max_size=200))
def test_status_and_body_are_recovered_exactly(status: int, body: bytes) -> None:
    failure = http_failure_from(library_message(status, body))
    assert failure is not None
    assert (failure.status, failure.body) == (status, body)


@given(st.text(min_size=1, max_size=200))
def test_bad_data_carries_the_server_text_verbatim(server_text: str) -> None:
    body = json.dumps({"status": "error", "errorType": "bad_data", "error": server_text})
    failure = http_failure_from(library_message(400, body.encode()))
    assert failure is not None
    error = error_for_http_failure(failure, "up{", URL)
    assert isinstance(error, PrometheusBadQuery)
    assert error.server_message == server_text
    assert str(error) == server_text
    assert error.error_type == "bad_data"


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (
            422,
            b'{"status":"error","errorType":"execution","error":"many-to-many"}',
            PrometheusBadQuery,
        ),
        (
            503,
            b'{"status":"error","errorType":"timeout","error":"query timed out"}',
            PrometheusUnreachable,
        ),
        (502, b"<html>Bad Gateway</html>", PrometheusUnreachable),
        (429, b"slow down", PrometheusUnreachable),
        (401, b"Unauthorized", PrometheusAuthRejected),
        (403, b"no such tenant", PrometheusAuthRejected),
        (404, b"404 page not found", PrometheusBadResponse),
        (400, b"<html>proxy says no</html>", PrometheusBadResponse),
    ],
)
def test_http_failures_are_classified(status: int, body: bytes, expected: type) -> None:
    failure = http_failure_from(library_message(status, body))
    assert failure is not None
    error = error_for_http_failure(failure, "up", URL)
    assert type(error) is expected
    assert URL in str(error) or expected is PrometheusBadQuery


def test_a_message_without_status_is_not_an_http_failure() -> None:
    assert http_failure_from("something else entirely") is None


# --- settings and secrets ----------------------------------------------------------------------


def test_secrets_stay_out_of_repr_and_are_redacted() -> None:
    settings = PrometheusSettings(
        url=URL,
        basic_auth=BasicAuth("alice", "s3cret-pass"),
        headers={"X-Scope-OrgID": "tenant-a", "X-Api-Key": "k3y-value"},
    )
    text = repr(settings)
    assert "s3cret-pass" not in text
    assert "k3y-value" not in text
    assert "X-Scope-OrgID" in text
    assert "s3cret-pass" not in repr(settings.basic_auth)
    redacted = settings.redact("echo: s3cret-pass and k3y-value, tenant-a")
    assert redacted == "echo: <redacted> and <redacted>, tenant-a"


def test_credentials_in_the_url_are_refused_without_echoing_them() -> None:
    with pytest.raises(ValueError, match="credentials") as caught:
        PrometheusSettings(url="http://bob:hunter22@prometheus:9090")
    assert "hunter22" not in str(caught.value)


def test_bearer_token_reaches_the_session_header_but_not_repr() -> None:
    settings = PrometheusSettings(url=URL, bearer_token="tok-123456")
    assert "tok-123456" not in repr(settings)
    session = settings.new_session()
    assert session.headers["Authorization"] == "Bearer tok-123456"


@pytest.mark.parametrize(
    ("kwargs", "problem"),
    [
        ({"url": "prometheus:9090"}, "must be http"),
        ({"url": "http://prometheus:99999"}, "invalid port"),
        ({"url": "http://prometheus:web"}, "invalid port"),
        ({"url": URL, "bearer_token": "t", "basic_auth": BasicAuth("a", "b")}, "give one of"),
        ({"url": URL, "bearer_token": "t", "headers": {"authorization": "x"}}, "conflict"),
        ({"url": URL, "timeout": 0}, "positive"),
    ],
)
def test_inconsistent_settings_are_refused(kwargs: dict[str, object], problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        PrometheusSettings(**kwargs)  # type: ignore[arg-type]
