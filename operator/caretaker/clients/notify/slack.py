"""Slack incoming webhooks: one message per notification, ``text`` plus Block Kit ``blocks``.

The webhook URL is the credential (anyone holding it can post), so it is a ``Secret``. Slack
answers 200 with the body ``ok``; errors come back as short text (``invalid_blocks``,
``no_service``, ...) and end up in ``DeliveryFailed``; 429 and 5xx are retried.

Message layout: a header (title, with the severity), a section with the summary, a section of
fields (rule, target, severity, value) and a context line (source, key, time, links). Text in
``mrkdwn`` is escaped (``&``, ``<``, ``>``) so a summary cannot forge links or mentions, and every
text is cut to Slack's limits without breaking an escape.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit

from caretaker.clients.notify.notification import JsonValue, Notification, iso_utc
from caretaker.clients.notify.outcome import Delivered
from caretaker.clients.notify.secret import Secret, as_secret
from caretaker.clients.notify.transport import Transport
from caretaker.clients.notify.wire import (
    DEFAULT_RETRY,
    Request,
    RetryPolicy,
    encode_json,
    judge_2xx,
)
from caretaker.constants import Severity

RECEIVER = "Slack"
HEADER_CHARS = 150
SECTION_CHARS = 3000
FIELD_CHARS = 2000
TEXT_CHARS = 3000
CONTEXT_ELEMENTS = 10
_ENTITY_CHARS = 5  # the longest escape, "&amp;"
_EMOJI: Mapping[Severity, str] = {
    Severity.ROUTINE: ":large_blue_circle:",
    Severity.URGENT: ":large_orange_circle:",
    Severity.CRITICAL: ":red_circle:",
}


def slack_escape(text: str) -> str:
    """``text`` safe for Slack ``mrkdwn``: ``&``, ``<`` and ``>`` as entities."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def mrkdwn(text: str, limit: int) -> str:
    """``text`` escaped and cut to ``limit`` characters (ending in "…" when cut)."""
    escaped = slack_escape(text)
    if len(escaped) <= limit:
        return escaped
    cut = escaped[: limit - 1]
    ampersand = cut.rfind("&", max(0, len(cut) - _ENTITY_CHARS + 1))
    if ampersand != -1 and ";" not in cut[ampersand:]:
        cut = cut[:ampersand]  # do not leave half an entity
    return cut + "…"


def plain(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters for ``plain_text`` (Slack shows it verbatim)."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def slack_message(notification: Notification) -> dict[str, JsonValue]:
    """The webhook body for ``notification``: fallback ``text`` and ``blocks``."""
    n = notification
    state = "RESOLVED" if n.resolved else n.severity.upper()
    emoji = ":large_green_circle:" if n.resolved else _EMOJI[n.severity]
    blocks: list[JsonValue] = [
        {
            "type": "header",
            "text": {"type": "plain_text", "text": plain(f"[{state}] {n.title}", HEADER_CHARS)},
        },
        {"type": "section", "text": _mrkdwn_object(f"{emoji} ", n.summary, SECTION_CHARS)},
        {"type": "section", "fields": _fields(n)},
        {"type": "context", "elements": _context(n)},
    ]
    return {"text": mrkdwn(f"[{state}] {n.title}: {n.summary}", TEXT_CHARS), "blocks": blocks}


def _mrkdwn_object(prefix: str, text: str, limit: int) -> dict[str, JsonValue]:
    return {"type": "mrkdwn", "text": prefix + mrkdwn(text, limit - len(prefix))}


def _fields(n: Notification) -> list[JsonValue]:
    pairs = [("Rule", n.rule), ("Target", n.target), ("Severity", n.severity)]
    if n.value is not None:
        pairs.append(("Value", n.value))
    return [_mrkdwn_object(f"*{name}*\n", value, FIELD_CHARS) for name, value in pairs]


def _context(n: Notification) -> list[JsonValue]:
    parts = [n.source, f"key {n.key}"]
    if n.occurred_at is not None:
        parts.append(iso_utc(n.occurred_at))
    elements: list[JsonValue] = [_mrkdwn_object("", " · ".join(parts), SECTION_CHARS)]
    for link in n.links[: CONTEXT_ELEMENTS - 1]:
        label = mrkdwn(link.text or link.href, 200).replace("|", "¦")
        elements.append({"type": "mrkdwn", "text": f"<{_link_target(link.href)}|{label}>"})
    return elements


def _link_target(href: str) -> str:
    """``href`` for ``<href|label>``: characters that would end the link are percent-encoded."""
    return href.replace("|", "%7C").replace(">", "%3E").replace("<", "%3C")


class SlackClient:
    """Posts to one Slack incoming webhook; thread-safe."""

    def __init__(
        self,
        webhook_url: str | Secret,
        *,
        timeout: float = 10.0,
        retry: RetryPolicy = DEFAULT_RETRY,
    ) -> None:
        self._url = as_secret(webhook_url)
        parts = urlsplit(self._url.reveal())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("Slack webhook URL must be an http(s) URL")
        self.host = parts.hostname
        secrets = [self._url, Secret(parts.path), Secret(parts.query)]
        self._transport = Transport(RECEIVER, timeout=timeout, retry=retry, secrets=secrets)

    def __repr__(self) -> str:
        return f"SlackClient(host={self.host!r}, webhook_url={self._url!r})"

    def notify(self, notification: Notification) -> Delivered:
        """Posts ``slack_message(notification)``."""
        return self.post(slack_message(notification))

    def post(self, message: Mapping[str, JsonValue]) -> Delivered:
        """Posts any webhook message (``text``, ``blocks``, ...); 200 ``ok`` is delivered."""
        request = Request(
            "POST",
            self._url,
            encode_json(dict(message)),
            {"Content-Type": "application/json; charset=utf-8"},
        )
        answer, attempts = self._transport.send(request, judge_2xx(RECEIVER))
        return Delivered(answer.status, None, attempts)
