"""Read-ahead for websocket-client's frame reader (see ``pmbot.venue.ws`` for why).

websocket-client reads every frame with three or four syscalls (a ``select``, 2 header bytes, 2
extended-length bytes, the payload), and each syscall releases the GIL. ``ReadAheadSocket`` serves
those small reads from one 64 KiB ``recv``; ``BufferedApp`` makes websocket-client's loop use the
dispatcher that asks ``pending()`` before blocking in ``select`` (the one it uses for TLS, where the
same problem exists inside OpenSSL), so frames already read are never left waiting.
"""

from __future__ import annotations

from typing import Any

import websocket

READ_AHEAD_BYTES = 65536


class ReadAheadSocket:
    """A connected socket whose ``recv`` is served from a read-ahead buffer (reader thread only).

    ``recv(n)`` never returns more than ``n`` bytes, so websocket-client's frame reader works
    unchanged; ``pending()`` tells its dispatcher that bytes are waiting here (or inside a TLS
    socket). Everything else (send, shutdown, close, fileno, timeouts) goes straight to the wrapped
    socket, so sends from the ping thread and ``abort`` from other threads behave as before.
    """

    __slots__ = ("_sock", "_data", "_pos")

    def __init__(self, sock: Any) -> None:  # a socket.socket or ssl.SSLSocket
        self._sock = sock
        self._data = b""
        self._pos = 0

    def recv(self, n: int) -> bytes:
        data, pos = self._data, self._pos
        if pos < len(data):
            end = pos + n
            self._pos = end
            return data[pos:end]
        data = self._sock.recv(n if n > READ_AHEAD_BYTES else READ_AHEAD_BYTES)
        if len(data) <= n:
            self._data = b""
            self._pos = 0
            return data
        self._data = data
        self._pos = n
        return data[:n]

    def pending(self) -> int:
        buffered = len(self._data) - self._pos
        if buffered > 0:
            return buffered
        inner = getattr(self._sock, "pending", None)
        return inner() if inner is not None else 0

    def fileno(self) -> int:
        return self._sock.fileno()

    def gettimeout(self) -> float | None:
        return self._sock.gettimeout()

    def settimeout(self, value: float | None) -> None:
        self._sock.settimeout(value)

    def send(self, data: bytes) -> int:
        return self._sock.send(data)

    def sendall(self, data: bytes) -> None:
        self._sock.sendall(data)

    def shutdown(self, how: int) -> None:
        self._sock.shutdown(how)

    def close(self) -> None:
        self._sock.close()

    def __getattr__(self, name: str) -> Any:  # setsockopt, getpeername, _closed, ...
        return getattr(self._sock, name)


class BufferedApp(websocket.WebSocketApp):
    """WebSocketApp whose read loop checks ``pending()`` before ``select`` (see the module
    docstring)."""

    def create_dispatcher(
        self,
        ping_timeout: float | None,
        dispatcher: Any = None,
        is_ssl: bool = False,
        handleDisconnect: Any = None,  # noqa: N803 - websocket-client's parameter name
    ) -> Any:
        return super().create_dispatcher(ping_timeout, dispatcher, True, handleDisconnect)
