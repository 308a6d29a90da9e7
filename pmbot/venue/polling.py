"""The periodic REST pollers' shared lifecycle: one named thread that calls ``poll_once`` every
``interval_secs`` until the shared stop event or ``close()``, waking within ``STOP_POLL_SECS`` of
either (so shutdown never waits out a long interval)."""

from __future__ import annotations

import threading
import time
from typing import Any

STOP_POLL_SECS = 0.5


class PeriodicPoller:
    thread_name = "poller"
    poll_first = True  # poll at once when started, or only after the first interval

    def __init__(self, *, stop: threading.Event, interval_secs: float) -> None:
        self.interval_secs = interval_secs
        self.polls = 0
        self.failures = 0
        self._stop = stop
        self._halt = threading.Event()
        self._thread: threading.Thread | None = None

    def poll_once(self) -> Any:
        raise NotImplementedError

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=self.thread_name, daemon=False)
        self._thread.start()

    def close(self) -> None:
        self._halt.set()

    def join(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def _stopping(self) -> bool:
        return self._halt.is_set() or self._stop.is_set()

    def _run(self) -> None:
        first = self.poll_first
        while not self._stopping():
            if not first:
                deadline = time.monotonic() + self.interval_secs
                while not self._stopping() and (left := deadline - time.monotonic()) > 0:
                    self._halt.wait(min(left, STOP_POLL_SECS))
                if self._stopping():
                    return
            first = False
            self.poll_once()
