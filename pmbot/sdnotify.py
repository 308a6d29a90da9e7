"""Minimal sd_notify(3) so systemd knows when pmbot is ready, stopping, and still healthy.

The unit is ``Type=notify`` with ``WatchdogSec=``: systemd restarts the bot if no ``WATCHDOG=1``
arrives within the interval. The runner's main loop (``pmbot.runner``) pings only while the bot is
healthy (feeds alive, executor responsive), so a wedged bot is restarted instead of being kept
alive by a ping thread that still runs; this module only speaks the protocol.

No dependency on libsystemd: one AF_UNIX datagram to ``$NOTIFY_SOCKET``. A leading ``@`` means the
Linux abstract namespace (the first byte of the address is NUL). Outside systemd every call is a
no-op returning False.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Mapping

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
