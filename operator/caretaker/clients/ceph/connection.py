"""Where and how to reach a Ceph cluster."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

DEFAULT_TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True)
class CephConnection:
    conf_path: Path  # ceph.conf with at least mon_host
    keyring_path: Path | None = None  # None: the keyring named in ceph.conf
    user: str = "client.admin"
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS  # connect, and each command

    @property
    def whole_seconds(self) -> int:
        """The timeout for APIs that take whole seconds (at least 1)."""
        return max(1, math.ceil(self.timeout_seconds))
