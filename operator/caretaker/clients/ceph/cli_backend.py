"""Ceph client backend on the ``ceph`` command line tool (fallback when librados is missing).

Slower than librados (a process per command, 0.2-0.4 s each) but needs only the ceph-common package.
"""

from __future__ import annotations

import re
import subprocess

from caretaker.clients.ceph.base import CephClient
from caretaker.clients.ceph.commands import CephCommand, CommandReply
from caretaker.clients.ceph.connection import CephConnection
from caretaker.clients.ceph.errors import CephUnavailable

# "Error EBUSY: unsafe to stop osd(s) ...": Ceph answered with an error code (the exit status).
_COMMAND_ERROR = re.compile(r"^Error (E[A-Z0-9]+): ?(.*)$", re.MULTILINE)
# The tool could not talk to the cluster at all; these will not get better by retrying.
_PERMANENT_FAILURES = ("permission denied", "Error initializing cluster client")


def reply_from_cli(returncode: int, stdout: str, stderr: str) -> CommandReply:
    """The reply a ``ceph`` run stands for; raises CephUnavailable when it never reached Ceph."""
    if returncode == 0:
        return CommandReply(ret=0, output=stdout, message=stderr.strip())
    error = _COMMAND_ERROR.search(stderr)
    if error is not None:
        return CommandReply(ret=-returncode, output=stdout, message=error.group(2).strip())
    lines = [line for line in stderr.splitlines() if line.strip()]
    reason = lines[-1] if lines else f"exit status {returncode}"
    permanent = any(failure in stderr for failure in _PERMANENT_FAILURES)
    raise CephUnavailable(f"ceph: {reason}", transient=not permanent)


class CliCephClient(CephClient):
    def __init__(
        self, connection: CephConnection, *, retry_attempts: int = 3, ceph_binary: str = "ceph"
    ) -> None:
        super().__init__(connection, retry_attempts=retry_attempts)
        self._ceph_binary = ceph_binary

    def send(self, command: CephCommand) -> CommandReply:
        argv = [*self._base_argv(), *command.to_argv()]
        # The connect timeout covers reaching the mons; the command itself gets the same again.
        deadline = 2 * self.connection.timeout_seconds + 5
        try:
            done = subprocess.run(
                argv, capture_output=True, text=True, timeout=deadline, check=False
            )
        except subprocess.TimeoutExpired as error:
            raise CephUnavailable(
                f"ceph {command.prefix}: no answer in {deadline:.0f} s"
            ) from error
        except OSError as error:
            raise CephUnavailable(
                f"cannot run {self._ceph_binary}: {error}", transient=False
            ) from error
        return reply_from_cli(done.returncode, done.stdout, done.stderr)

    def close(self) -> None:
        """Nothing to release: each command is its own process."""

    def _base_argv(self) -> list[str]:
        connection = self.connection
        argv = [self._ceph_binary, "--conf", str(connection.conf_path), "--name", connection.user]
        if connection.keyring_path is not None:
            argv += ["--keyring", str(connection.keyring_path)]
        return [*argv, "--connect-timeout", str(connection.whole_seconds), "--format", "json"]
