"""The venue's heartbeat dead-man switch (reference 1.9), per API key.

Opt-in: nothing happens until a key sends its first ``POST /v1/heartbeats`` (with id ``""``).
From then on every valid heartbeat must carry the id returned by the previous one and arrive
within ``timeout_secs``; otherwise every open order of that key is cancelled and the session ends
(the next ``""`` heartbeat starts a new one). A stale or wrong id is answered with 400 and the
expected id, which is how a restarted client recovers without losing its orders.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections.abc import Callable


class Heartbeats:
    def __init__(
        self,
        timeout_secs: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        self.timeout_secs = timeout_secs
        self._clock = clock
        self._rng = rng or random.Random()
        self._lock = threading.Lock()
        self._sessions: dict[str, tuple[str, float]] = {}  # api key -> (expected id, deadline)

    def beat(self, api_key: str, heartbeat_id: str) -> tuple[bool, str]:
        """(accepted, id). Accepted: id is the one to send next; rejected: the expected one."""
        now = self._clock()
        with self._lock:
            session = self._sessions.get(api_key)
            if session is not None and now > session[1]:
                return False, ""  # lapsed: the sweep cancels its orders first, then "" starts anew
            if session is None:
                if heartbeat_id:
                    return False, ""
            elif heartbeat_id != session[0]:
                return False, session[0]
            new_id = str(uuid.UUID(int=self._rng.getrandbits(128), version=4))
            self._sessions[api_key] = (new_id, now + self.timeout_secs)
            return True, new_id

    def sweep(self) -> list[str]:
        """Keys whose heartbeat lapsed; their sessions end here (the caller cancels the orders)."""
        now = self._clock()
        with self._lock:
            lapsed = [key for key, (_, deadline) in self._sessions.items() if now > deadline]
            for key in lapsed:
                del self._sessions[key]
        return lapsed

    def active(self, api_key: str) -> bool:
        with self._lock:
            return api_key in self._sessions
