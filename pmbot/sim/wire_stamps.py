"""When a request's bytes reached the simulator's socket: the kernel's receive timestamp (issue 20).

Why: an arrival taken when the sim's Python reads a request also counts however long the sim's own
threads kept it from reading. The sim is one Python process; in a latency benchmark it is busy
emitting the very book change being measured, and a request waits in its socket for the sim's
interpreter, not for the client. The venue is another machine: the benchmark wants when the bytes
reached the exchange. With ``SO_TIMESTAMPNS`` set the kernel stamps each received segment, and
``recvmsg_into`` hands the stamp back with the bytes.

``StampedReader`` is the raw reader under a handler's ``rfile``. ``mark()`` says a new request
starts; the first read after it keeps the stamp of its first segment (``CLOCK_REALTIME`` turned
into ``time.monotonic_ns()`` terms, the clock every arrival is recorded on). A request that was
already buffered when ``mark()`` ran (a client pipelining requests), or whose bytes came before the
option was set (often a connection's first request), gets no stamp: ``first_ns`` stays None and
the caller falls back to its own clock. Linux only; ``enable`` says whether the socket took the
option.
"""

from __future__ import annotations

import io
import socket
import struct
import time

SO_TIMESTAMPNS = 35  # Linux (asm-generic); Python's socket module does not export it
_TIMESPEC = struct.Struct("@ll")  # struct timespec: tv_sec, tv_nsec as native longs
_ANCILLARY_BYTES = socket.CMSG_SPACE(_TIMESPEC.size)


def enable(sock: socket.socket) -> bool:
    """Ask the kernel to stamp what this socket receives; False where it cannot."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    except OSError:
        return False
    return True


def stamp_of(ancillary: list[tuple[int, int, bytes]]) -> int | None:
    """The receive stamp in ``recvmsg`` ancillary data, on ``time.monotonic_ns()``; None without."""
    for level, kind, data in ancillary:
        if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(data) >= _TIMESPEC.size:
            sec, nsec = _TIMESPEC.unpack_from(data)
            return sec * 1_000_000_000 + nsec - (time.time_ns() - time.monotonic_ns())
    return None


class StampedReader(io.RawIOBase):
    """A socket's receive side as a raw stream (wrap it in ``io.BufferedReader``) that keeps the
    kernel stamp of the first bytes read after each ``mark()``. One reader thread only."""

    def __init__(self, sock: socket.socket) -> None:
        super().__init__()
        self._sock = sock
        self._want = False
        self.first_ns: int | None = None

    def mark(self) -> None:
        """A new request starts: the next read's stamp is its arrival."""
        self._want = True
        self.first_ns = None

    def readable(self) -> bool:
        return True

    def fileno(self) -> int:
        return self._sock.fileno()

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        n, ancillary, _flags, _addr = self._sock.recvmsg_into([buffer], _ANCILLARY_BYTES)
        if self._want and n:
            self._want = False
            self.first_ns = stamp_of(ancillary)
        return n
