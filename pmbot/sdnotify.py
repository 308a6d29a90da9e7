"""Minimal sd_notify(3) so systemd knows when pmbot is ready, stopping, and still healthy.

The unit is ``Type=notify`` with ``WatchdogSec=``: systemd restarts the bot if no ``WATCHDOG=1``
arrives within the interval. ``WatchdogPinger`` pings only while a health check passes (feeds alive,
executor responsive), so a wedged bot is restarted instead of being kept alive by a ping thread that
still runs.

No dependency on libsystemd: one AF_UNIX datagram to ``$NOTIFY_SOCKET``. A leading ``@`` means the
Linux abstract namespace (the first byte of the address is NUL). Outside systemd every call is a
no-op returning False.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable, Mapping

log = logging.getLogger(__name__)


def _address(env: Mapping[str, str]) -> str | None:
    path = env.get("NOTIFY_SOCKET", "")
    if not path:
        return None
    if path.startswith("@"):
        return "\0" + path[1:]
    return path


def notify(state: str, *, env: Mapping[str, str] | None = None) -> bool:
    """Send ``state`` (e.g. ``"READY=1"``, ``"STOPPING=1"``, ``"WATCHDOG=1"``, ``"STATUS=quoting 3
    markets"``; several may be joined with newlines). True if sent, False when not under systemd or
    on error."""
    address = _address(os.environ if env is None else env)
    if address is None:
        return False
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.connect(address)
            sock.sendall(state.encode("utf-8"))
        return True
    except OSError as exc:
        log.warning("sd_notify %s failed: %s", state.split("=", 1)[0], exc)
        return False


def ready(status: str = "") -> bool:
    return notify("READY=1" + (f"\nSTATUS={status}" if status else ""))


def stopping(status: str = "") -> bool:
    return notify("STOPPING=1" + (f"\nSTATUS={status}" if status else ""))


def status(text: str) -> bool:
    return notify(f"STATUS={text}")


def watchdog_interval_secs(
    env: Mapping[str, str] | None = None, pid: int | None = None
) -> float | None:
    """The watchdog timeout in seconds from ``$WATCHDOG_USEC``, or None when the watchdog is off or
    meant for another process (``$WATCHDOG_PID`` set to a different pid). Ping at half of it."""
    env = os.environ if env is None else env
    usec = env.get("WATCHDOG_USEC", "")
    if not usec:
        return None
    wpid = env.get("WATCHDOG_PID", "")
    if wpid and wpid.isdigit() and int(wpid) != (os.getpid() if pid is None else pid):
        return None
    try:
        value = int(usec)
    except ValueError:
        log.warning("ignoring malformed WATCHDOG_USEC=%r", usec)
        return None
    return value / 1_000_000 if value > 0 else None


class WatchdogPinger:
    """Thread ``sd-watchdog``: every ``interval`` seconds sends ``WATCHDOG=1`` if ``healthy()`` is
    true.

    When unhealthy it sends only a STATUS line saying why (once per change) and lets systemd's
    watchdog fire. ``healthy`` returns ``(ok, reason)``."""

    def __init__(
        self,
        healthy: Callable[[], tuple[bool, str]],
        *,
        stop: threading.Event,
        interval: float,
        send: Callable[[str], bool] = notify,
    ) -> None:
        self._healthy = healthy
        self._stop = stop
        self._interval = interval
        self._send = send
        self._thread = threading.Thread(target=self._run, name="sd-watchdog", daemon=False)
        self.pings = 0
        self.withheld = 0

    @classmethod
    def from_env(
        cls, healthy: Callable[[], tuple[bool, str]], *, stop: threading.Event
    ) -> WatchdogPinger | None:
        """A pinger at half the systemd watchdog timeout, or None when no watchdog is configured."""
        timeout = watchdog_interval_secs()
        return None if timeout is None else cls(healthy, stop=stop, interval=timeout / 2)

    def start(self) -> None:
        self._thread.start()

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    def _run(self) -> None:
        last_reason = ""
        while not self._stop.is_set():
            try:
                ok, reason = self._healthy()
            except Exception:  # a broken health check must not be mistaken for health
                log.exception("health check raised; withholding watchdog ping")
                ok, reason = False, "health check failed"
            if ok:
                if self._send("WATCHDOG=1"):
                    self.pings += 1
                if last_reason:
                    log.info("healthy again; watchdog pings resumed")
                    self._send("STATUS=healthy")
                last_reason = ""
            else:
                self.withheld += 1
                if reason != last_reason:
                    log.warning("unhealthy (%s): withholding watchdog ping", reason)
                    self._send(f"STATUS=unhealthy: {reason}")
                last_reason = reason
            self._stop.wait(self._interval)
