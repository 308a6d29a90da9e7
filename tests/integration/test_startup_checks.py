"""Start-up checks (issue 13 item 6/8, issue 14 item 3): the bot reads the order version and the
free pUSD before trading; a version it cannot sign stops it with one clear line and exit 1; every
start-up failure is one line with exit 2 for configuration, 1 for the venue, no traceback unless
``log_level: DEBUG``."""

from __future__ import annotations

import errno
import logging
from decimal import Decimal

import pytest

from pmbot.config import parse_config
from pmbot.errors import ConfigError, FatalError, TransientError
from pmbot.runner import BotRunner
from pmbot.runner_parts import startup_failure


def _raw(tmp_path):
    return {
        "mode": "sim",
        "metrics": {"port": 0},
        "state_dir": str(tmp_path / "state"),
        "arbitrage": {"enabled": False},
    }


def test_start_up_logs_the_order_version_and_the_free_balance(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="pmbot.runner")
    r = BotRunner(parse_config(_raw(tmp_path)), private_key=None)
    try:
        r._start()
        line = next(m for m in caplog.messages if m.startswith("venue: order version"))
        held = r.sim.exchange.balance(r.signer.funder)
    finally:
        assert r._teardown(cancel=True) == 0
    assert line.startswith("venue: order version 2; pUSD balance ")
    words = line.replace(",", "").split()
    balance, free = words[words.index("balance") + 1], words[words.index("free") + 1]
    assert Decimal(balance) == Decimal(free) == held > 0


def test_a_venue_asking_for_version_3_stops_start_up_with_one_clear_line(
    tmp_path, caplog, monkeypatch
):
    original = BotRunner._start_local_exchange

    def switched_to_v3(self):
        original(self)
        self.sim.faults.apply({"order_version": 3})

    monkeypatch.setattr(BotRunner, "_start_local_exchange", switched_to_v3)
    monkeypatch.setattr(BotRunner, "_install_signals", lambda self: None)
    caplog.set_level(logging.INFO)
    r = BotRunner(parse_config(_raw(tmp_path)), private_key=None)
    assert r.run() == 1
    [line] = [rec for rec in caplog.records if rec.getMessage().startswith("start-up failed")]
    assert "order version 3" in line.getMessage() and "refusing to trade" in line.getMessage()
    assert line.exc_info is None  # no traceback below DEBUG
    assert r.engine is None  # nothing was quoted


@pytest.mark.parametrize(
    ("exc", "code", "text"),
    [
        (ConfigError("metrics.port", "port 9100 is in use"), 2, "metrics.port"),
        (OSError(errno.EADDRINUSE, "Address already in use"), 2, "port is in use"),
        (FatalError("GET http://x/version: HTTP 404"), 1, "GET http://x/version"),
        (TransientError("GET http://x/version: ConnectionError"), 1, "ConnectionError"),
        (RuntimeError("boom"), 1, "RuntimeError: boom"),
    ],
)
def test_start_up_failures_are_one_line_with_their_exit_code(exc, code, text, caplog):
    caplog.set_level(logging.INFO)
    assert startup_failure(exc, "INFO") == code
    [rec] = caplog.records
    assert text in rec.getMessage() and rec.exc_info is None and "\n" not in rec.getMessage()


def test_debug_log_level_keeps_the_traceback(caplog):
    caplog.set_level(logging.DEBUG)
    try:
        raise RuntimeError("boom")
    except RuntimeError as exc:
        assert startup_failure(exc, "DEBUG") == 1
    [rec] = caplog.records
    assert rec.exc_info is not None


def test_start_up_reads_the_order_version_once(tmp_path, monkeypatch):
    """The runner's start-up check is the one ``GET /version``: the executor is handed the version
    it read instead of asking the venue again (the re-read after ``order_version_mismatch``
    stays)."""
    from pmbot.sim.holds import Holds

    original = BotRunner._start_local_exchange
    seen: list[Holds] = []

    def with_request_log(self):
        original(self)
        seen.append(Holds.install(self.sim))  # records every request that reaches the sim

    monkeypatch.setattr(BotRunner, "_start_local_exchange", with_request_log)
    r = BotRunner(parse_config(_raw(tmp_path)), private_key=None)
    try:
        r._start()
        assert r.executor is not None and r.executor.alive()
        [holds] = seen
        reads = holds.arrivals("GET", "/version")
    finally:
        assert r._teardown(cancel=True) == 0
    assert len(reads) == 1
