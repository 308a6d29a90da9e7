"""SIGHUP = reload, as systemd's ``ExecReload=/bin/kill -HUP $MAINPID`` expects.

The signal handler only queues a token (``SimpleQueue.put`` is reentrant, safe in a handler); a
``reload`` thread does the work, the same way ``ctl reload`` does, and logs the outcome. A burst of
signals while one reload runs collapses into one more reload.
"""

from __future__ import annotations

import logging
import queue
import signal
import threading
from collections.abc import Callable

from pmbot.control.protocol import ControlAnswer

log = logging.getLogger(__name__)

_STOP = "stop"
_HUP = "hup"


class HangupReloader:
    def __init__(self, reload: Callable[[str], ControlAnswer]) -> None:
        self._reload = reload
        self._tokens: queue.SimpleQueue[str] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self.done = 0  # reloads finished (tests wait on it)

    def install(self) -> None:
        """Call from the main thread (Python delivers signals there)."""
        self._thread = threading.Thread(target=self._run, name="reload", daemon=True)
        self._thread.start()
        signal.signal(signal.SIGHUP, self._on_signal)

    def trigger(self) -> None:
        self._tokens.put(_HUP)

    def _on_signal(self, _signum: int, _frame: object) -> None:
        self._tokens.put(_HUP)

    def stop(self, then: signal.Handlers = signal.SIG_DFL) -> None:
        """``then``: SIGHUP's disposition afterwards; a bot shutting down passes ``SIG_IGN`` so a
        late ``systemctl reload`` cannot kill it in the middle of its kill switch."""
        signal.signal(signal.SIGHUP, then)
        if self._thread is not None:
            self._tokens.put(_STOP)
            self._thread.join(10.0)
            self._thread = None

    def _run(self) -> None:
        while True:
            token = self._tokens.get()
            while token == _HUP and not self._tokens.empty():
                token = self._tokens.get()  # collapse a burst
            if token == _STOP:
                return
            log.info("SIGHUP: reloading the config")
            try:
                answer = self._reload("SIGHUP")
            except Exception:
                log.exception("SIGHUP reload failed")
            else:
                log.log(
                    logging.INFO if answer.ok else logging.ERROR,
                    "SIGHUP reload: %s",
                    answer.message,
                )
            self.done += 1


def install_reload_on_hangup(reload: Callable[[str], ControlAnswer]) -> HangupReloader:
    """What the runner calls at start-up: ``install_reload_on_hangup(control.reload)``; keep the
    handle and ``stop()`` it at shutdown."""
    reloader = HangupReloader(reload)
    reloader.install()
    return reloader
