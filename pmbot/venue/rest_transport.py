"""HTTP sessions for the CLOB REST client: one pooled session per lane, and a "request written"
hook.

The cancel lane and the create lane each get their own ``requests.Session`` (own connection pool),
so a cancel never queues behind a post for a connection and both can be on the wire at once.
``when_sent(callback)`` runs ``callback`` on the calling thread right after the request's bytes
were written to the socket and before its answer is read (urllib3 writes the request, then calls
``getresponse``): the executor uses it to put a cancel on the wire before the post that goes with
it, without waiting for the cancel's answer.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

LANES = ("default", "cancel", "create", "pull", "pull2")
_local = threading.local()


def fire_sent() -> None:
    """Run (once) the callback ``when_sent`` registered on this thread."""
    callback = getattr(_local, "on_sent", None)
    if callback is not None:
        _local.on_sent = None
        callback()


class _SentHTTPConnection(HTTPConnection):
    def getresponse(self, *args: Any, **kwargs: Any) -> Any:
        fire_sent()
        return super().getresponse(*args, **kwargs)


class _SentHTTPSConnection(HTTPSConnection):
    def getresponse(self, *args: Any, **kwargs: Any) -> Any:
        fire_sent()
        return super().getresponse(*args, **kwargs)


class _SentHTTPPool(HTTPConnectionPool):
    ConnectionCls = _SentHTTPConnection


class _SentHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _SentHTTPSConnection


class SentHookAdapter(HTTPAdapter):
    """An ``HTTPAdapter`` whose connections call the thread's ``when_sent`` callback."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _SentHTTPPool, "https": _SentHTTPSPool}


def new_session(base_url: str) -> requests.Session:
    session = requests.Session()
    adapter = SentHookAdapter()
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers["User-Agent"] = "pmbot"
    # requests re-reads the proxy environment and ~/.netrc on every request when trust_env is on
    # (over 100 us on the hot path): the proxies for this venue (no_proxy honoured) are read once.
    session.proxies.update(requests.utils.get_environ_proxies(base_url))
    session.trust_env = False
    return session


@contextmanager
def when_sent(callback: Callable[[], None]) -> Iterator[None]:
    """Within the block, the first request this thread writes calls ``callback`` once written.
    If the block ends without writing one (an error before sending), ``callback`` runs then, so a
    waiter is never left hanging."""
    _local.on_sent = callback
    try:
        yield
    finally:
        fire_sent()


def lane_sessions(base_url: str, shared: requests.Session | None) -> dict[str, requests.Session]:
    """One session per lane; a caller-given session (tests, a proxy) serves every lane."""
    if shared is not None:
        shared.headers.setdefault("User-Agent", "pmbot")
        return dict.fromkeys(LANES, shared)
    return {lane: new_session(base_url) for lane in LANES}
