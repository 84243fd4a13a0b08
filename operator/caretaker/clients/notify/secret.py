"""``Secret``: a string that never shows itself in ``repr()``, ``str()``, f-strings or logs.

Routing keys, webhook URLs (a Slack incoming-webhook URL *is* the credential), HMAC keys and
Authorization header values travel as ``Secret``; only the code that puts them on the wire calls
``reveal()``. ``redact`` scrubs known secrets from text that came from elsewhere (a server's error
message that echoes the request, an OS error that names the URL) as a second line of defence.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

MASK = "<secret>"
REDACTED = "<redacted>"
_MIN_REDACTED_LENGTH = 4


@dataclass(frozen=True, eq=True)
class Secret:
    """A secret string; compare with ``==``, read with ``reveal()``, print safely."""

    _value: str = field(repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self._value, str):
            raise TypeError("Secret holds a str")

    def reveal(self) -> str:
        """The secret itself: only for the code that sends it."""
        return self._value

    def __repr__(self) -> str:
        return f"Secret({MASK!r})"

    def __str__(self) -> str:
        return MASK

    def __format__(self, spec: str) -> str:
        return MASK

    def __bool__(self) -> bool:
        return bool(self._value)


def as_secret(value: str | Secret) -> Secret:
    """``value`` wrapped (unchanged if it already is a ``Secret``)."""
    return value if isinstance(value, Secret) else Secret(value)


def redact(text: str, secrets: Iterable[Secret]) -> str:
    """``text`` with every secret's value (4 characters or longer) replaced by a marker.

    Longer secrets are replaced first, so a secret that contains another is removed whole.
    """
    values = sorted({s.reveal() for s in secrets}, key=len, reverse=True)
    for value in values:
        if len(value) >= _MIN_REDACTED_LENGTH:
            text = text.replace(value, REDACTED)
    return text
