"""A stand-in for Debian's ``rados`` binding, for the scale benchmark only: the operator is
started with this directory first on PYTHONPATH, so its librados backend (the one production
uses) sends each ``mon_command`` over a Unix socket to the benchmark's synthetic Ceph
(``bench/synthetic_ceph.py``) instead of to real monitors. Only what
``caretaker.clients.ceph.rados_backend`` uses is here.

Each command opens its own connection: librados lets many threads wait on mon commands at
once, and so does this. The socket is ``$CARETAKER_BENCH_CEPH_SOCKET``.
"""

from __future__ import annotations

import os
import socket
import struct
from typing import Any

SOCKET_VARIABLE = "CARETAKER_BENCH_CEPH_SOCKET"
_LENGTH = struct.Struct("!I")
_REPLY = struct.Struct("!iII")  # ret, output length, message length


class Error(Exception):
    pass


class PermissionError(Error):  # the binding's own name (shadows the builtin)
    pass


class PermissionDeniedError(Error):
    pass


def read_exactly(sock: socket.socket, size: int) -> bytes:
    chunks, left = [], size
    while left:
        chunk = sock.recv(min(left, 1 << 20))
        if not chunk:
            raise Error("synthetic Ceph closed the connection")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def send_request(sock: socket.socket, request: str) -> None:
    body = request.encode()
    sock.sendall(_LENGTH.pack(len(body)) + body)


def read_request(sock: socket.socket) -> str:
    (size,) = _LENGTH.unpack(read_exactly(sock, _LENGTH.size))
    return read_exactly(sock, size).decode()


def send_reply(sock: socket.socket, ret: int, output: bytes, message: str) -> None:
    text = message.encode()
    sock.sendall(_REPLY.pack(ret, len(output), len(text)) + output + text)


def read_reply(sock: socket.socket) -> tuple[int, bytes, str]:
    ret, size, text_size = _REPLY.unpack(read_exactly(sock, _REPLY.size))
    return ret, read_exactly(sock, size), read_exactly(sock, text_size).decode()


class Rados:
    def __init__(self, conffile: str = "", conf: Any = None, name: str = "", **_: Any) -> None:
        self._path = os.environ.get(SOCKET_VARIABLE, "")

    def connect(self, timeout: int = 0) -> None:
        if not self._path:
            raise Error(f"{SOCKET_VARIABLE} is not set")

    def mon_command(
        self, cmd: str, inbuf: bytes, timeout: int = 0, target: Any = None
    ) -> tuple[int, bytes, str]:
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                sock.connect(self._path)
                send_request(sock, cmd)
                return read_reply(sock)
        except OSError as error:
            raise Error(f"synthetic Ceph: {error}") from error

    def shutdown(self) -> None:
        pass
