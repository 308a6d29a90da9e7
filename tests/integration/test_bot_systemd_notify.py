"""systemd integration of the real process: READY=1 once quoting, WATCHDOG=1 only while healthy,
STOPPING=1 on SIGTERM; and when the venue is gone the kill switch cannot verify, so the bot exits
non-zero and names the orders it left behind."""

import signal
import socket
import time

import pytest

from tests.integration.botproc import TEST_KEY, BotProcess, SimProcess, venue_client, wait_for


class NotifySocket:
    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.sock.settimeout(0.2)
        self.messages: list[tuple[float, str]] = []

    def pump(self, secs: float) -> None:
        end = time.monotonic() + secs
        while time.monotonic() < end:
            try:
                data = self.sock.recv(4096)
            except TimeoutError:
                continue
            self.messages.append((time.monotonic(), data.decode()))

    def seen(self, text: str, since: float = 0.0) -> int:
        return sum(1 for t, m in self.messages if t >= since and text in m.split("\n"))

    def close(self):
        self.sock.close()


PING_SECS = 1.0  # WATCHDOG_USEC=2 s: the bot pings every second while healthy
SILENCE = 3 * PING_SECS
QUIET_WINDOW = 3.0


def silent_for(notify: NotifySocket, since: float) -> float:
    """Seconds since the last WATCHDOG=1 (or since ``since`` if none came after it), after
    reading what arrived in the next half second."""
    notify.pump(0.5)
    pings = [t for t, m in notify.messages if t >= since and "WATCHDOG=1" in m.split("\n")]
    return time.monotonic() - max(pings, default=since)


@pytest.fixture
def notify(tmp_path):
    n = NotifySocket(tmp_path / "notify.sock")
    yield n
    n.close()


def test_ready_watchdog_only_while_healthy_and_unverified_kill_switch_exits_nonzero(
    tmp_path, notify, monkeypatch
):
    sim = SimProcess()
    monkeypatch.setenv("NOTIFY_SOCKET", str(tmp_path / "notify.sock"))
    monkeypatch.setenv("WATCHDOG_USEC", "2000000")  # pings every second while healthy
    monkeypatch.delenv("WATCHDOG_PID", raising=False)
    bot = None
    try:
        rest, _ = venue_client(sim)
        bot = BotProcess(
            sim,
            tmp_path,
            extra={
                "execution": {
                    "cancel_deadline_secs": 3,
                    "read_timeout_secs": 1,
                    "connect_timeout_secs": 0.5,
                }
            },
        )
        wait_for(lambda: (notify.pump(0.5), notify.seen("READY=1"))[1], 30, what="READY=1")
        wait_for(lambda: len(rest.open_orders()) >= 2, 20, what="quotes")
        t0 = time.monotonic()
        wait_for(
            lambda: (notify.pump(0.5), notify.seen("WATCHDOG=1", since=t0) >= 2)[1],
            20,
            what="two watchdog pings while healthy",
        )

        sim.proc.kill()  # the venue disappears: feeds go down, the bot is no longer healthy
        sim.proc.wait(5)
        killed = time.monotonic()
        # The pings stop once the feeds notice: wait for a silence of three ping periods...
        wait_for(lambda: silent_for(notify, killed) >= SILENCE, 30, what="watchdog pings to stop")
        # ... that then lasts (a window the scenario defines): no ping while unhealthy.
        quiet_from = time.monotonic()
        notify.pump(QUIET_WINDOW)
        assert notify.seen("WATCHDOG=1", since=quiet_from) == 0

        bot.proc.send_signal(signal.SIGTERM)
        code = bot.proc.wait(30)
        notify.pump(0.5)
    finally:
        if bot is not None:
            bot.kill()
        sim.stop()
    assert notify.seen("STOPPING=1") == 1
    assert code != 0
    log = bot.log()
    assert "LEFT OPEN" in log
    assert TEST_KEY[2:] not in log
