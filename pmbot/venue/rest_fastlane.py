"""A lean HTTP/1.1 path for the executor's cancel and create lanes (issue 20).

``requests`` spends about 300 us of Python per request before the bytes leave (settings merging,
hooks, adapters, urllib3's pool); on the bot's hot path, with the strategy and feed threads
competing for the interpreter, that grows to over a millisecond. ``FastLane`` keeps one persistent
``http.client`` connection per lane and writes the request in one go; the answer is handed back as
a ``requests.Response`` so everything after it (classification, rate headers) is shared.

It is used only when it is safe: no proxy configured for the venue (``requests`` stays in charge of
proxies), and only by one thread at a time (a caller finding the lane busy uses the lane's
``requests`` session instead). A kept-alive connection the venue closed while idle is noticed
before it is reused (it reads as readable at rest) and replaced, so a stale socket never turns an
order into an unknown outcome.
"""

from __future__ import annotations

import http.client
import select
import socket
import ssl
import threading
from urllib.parse import urlencode, urlsplit

import requests
from requests.structures import CaseInsensitiveDict

from pmbot.venue.rest_transport import fire_sent


class LaneNotSent(Exception):
    """The request cannot have reached the venue (the connection could not be opened)."""


class LaneLost(Exception):
    """The connection failed after the request may have been written."""


class LaneTimeout(Exception):
    """No answer within the read timeout (the request was written)."""


def _tls_context() -> ssl.SSLContext:
    try:
        import certifi  # requests' CA bundle, so both paths trust the same roots

        return ssl.create_default_context(cafile=certifi.where())
    except ImportError:  # pragma: no cover - certifi comes with requests
        return ssl.create_default_context()


class FastLane:
    """One persistent connection to the venue for one executor lane."""

    def __init__(self, base_url: str, timeout: tuple[float, float]) -> None:
        parts = urlsplit(base_url)
        self._https = parts.scheme == "https"
        self._host = parts.hostname or ""
        self._port = parts.port or (443 if self._https else 80)
        self._prefix = parts.path.rstrip("/")
        self._timeout = timeout
        self._conn: http.client.HTTPConnection | None = None
        self._lock = threading.Lock()
        self._target = ""
        self._raw_method = ""  # set by ``send_raw``: its answer is read without http.client's state
        default = 443 if self._https else 80
        self._host_header = self._host if self._port == default else f"{self._host}:{self._port}"

    def try_acquire(self) -> bool:
        return self._lock.acquire(blocking=False)

    def release(self) -> None:
        self._lock.release()

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _connection(self) -> http.client.HTTPConnection:
        conn = self._conn
        if conn is not None and conn.sock is not None:
            readable, _, _ = select.select([conn.sock], [], [], 0)
            if not readable:
                return conn
            self.close()  # data or EOF on an idle keep-alive connection: the venue closed it
        connect, _ = self._timeout
        if self._https:
            conn = http.client.HTTPSConnection(
                self._host, self._port, timeout=connect, context=_tls_context()
            )
        else:
            conn = http.client.HTTPConnection(self._host, self._port, timeout=connect)
        try:
            conn.connect()
        except OSError as exc:
            conn.close()
            raise LaneNotSent(type(exc).__name__) from None
        assert conn.sock is not None
        conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn.sock.settimeout(self._timeout[1])
        self._conn = conn
        return conn

    def request(
        self, method: str, path: str, params: dict | None, data: bytes | None, headers: dict
    ) -> requests.Response:
        """Send one request and read its answer (the caller holds the lane)."""
        self.send(method, path, params, data, headers)
        return self.receive()

    def send(
        self, method: str, path: str, params: dict | None, data: bytes | None, headers: dict
    ) -> None:
        """Write one request (the caller holds the lane until ``receive`` read its answer, which
        any thread may do: a request written on the strategy or feed thread is read on a lane's
        thread, issue 20)."""
        conn = self._connection()
        self._target = self._prefix + path + (f"?{urlencode(params)}" if params else "")
        try:
            conn.request(
                method, self._target, body=data, headers={"User-Agent": "pmbot", **headers}
            )
        except (OSError, http.client.HTTPException) as exc:
            self.close()
            raise LaneLost(type(exc).__name__) from None
        fire_sent()

    def render(self, method: str, path: str, headers: dict, data: bytes | None) -> bytes:
        """A whole request as the bytes ``send_raw`` writes (what ``send`` would write)."""
        lines = [
            f"{method} {self._prefix}{path} HTTP/1.1",
            f"Host: {self._host_header}",
            "User-Agent: pmbot",
            "Accept-Encoding: identity",
            *(f"{k}: {v}" for k, v in headers.items()),
        ]
        if data is not None:
            lines.append(f"Content-Length: {len(data)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (data or b"")

    def send_raw(self, method: str, raw: bytes) -> None:
        """Write a request ``render`` built ahead: one ``sendall`` (issue 20's pulls)."""
        conn = self._connection()
        assert conn.sock is not None
        try:
            conn.sock.sendall(raw)
        except OSError as exc:
            self.close()
            raise LaneLost(type(exc).__name__) from None
        self._raw_method = method
        self._target = raw.split(b" ", 2)[1].decode("latin-1")
        fire_sent()

    def receive(self) -> requests.Response:
        """Read the answer to the request ``send`` (or ``send_raw``) wrote."""
        conn = self._conn
        if conn is None or conn.sock is None:
            raise LaneLost("connection closed before the answer")
        raw_method, self._raw_method = self._raw_method, ""
        try:
            if raw_method:
                answer = http.client.HTTPResponse(conn.sock, method=raw_method)
                answer.begin()
            else:
                answer = conn.getresponse()
            body = answer.read()
        except TimeoutError:
            self.close()
            raise LaneTimeout("ReadTimeout") from None
        except (OSError, http.client.HTTPException) as exc:
            self.close()
            raise LaneLost(type(exc).__name__) from None
        if answer.will_close:
            self.close()
        response = requests.Response()
        response.status_code = answer.status
        response.reason = answer.reason
        response.headers = CaseInsensitiveDict(answer.getheaders())
        response._content = body
        response.encoding = "utf-8"
        response.url = self._target
        return response
