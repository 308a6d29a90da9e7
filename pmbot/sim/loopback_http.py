"""A small JSON-over-HTTP server on loopback in a daemon thread: the lifecycle that the test
chain's JSON-RPC endpoint and the relayer imitation share (bind, url, start, stop)."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class LoopbackHttp:
    def __init__(
        self, handler: type[BaseHTTPRequestHandler], *, host: str, port: int, thread_name: str
    ) -> None:
        self._httpd = ThreadingHTTPServer((host, port), handler)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, name=thread_name, daemon=True
        )

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def start_serving(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)
