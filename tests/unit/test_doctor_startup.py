"""Start-up configuration problems are one line naming the key, exit 2, from --check-config and
from a run alike: a busy metrics port (for example the same config started twice), live/paper
mode with no markets."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def run_bot(tmp_path, cfg: dict, *flags: str) -> subprocess.CompletedProcess:
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(cfg))
    env = dict(os.environ, POLYMARKET_PRIVATE_KEY="0x" + "4c" * 32)
    return subprocess.run(
        [sys.executable, "bot.py", "--config", str(path), *flags],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
def busy_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(1)
        yield sock.getsockname()[1]


@pytest.mark.parametrize("flags", [("--check-config",), ()])
def test_busy_metrics_port_is_one_line_naming_metrics_port(tmp_path, busy_port, flags) -> None:
    cfg = {"mode": "sim", "metrics": {"host": "127.0.0.1", "port": busy_port}}
    res = run_bot(tmp_path, cfg, *flags)
    assert res.returncode == 2
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, res.stderr
    assert "metrics.port" in lines[0] and str(busy_port) in lines[0]
    assert "Traceback" not in res.stderr


@pytest.mark.parametrize("mode", ["live", "paper"])
def test_live_or_paper_without_markets_is_a_config_error(tmp_path, mode) -> None:
    cfg = {"mode": mode, "metrics": {"port": 0}, "arbitrage": {"enabled": False}}
    res = run_bot(tmp_path, cfg, "--check-config")
    assert res.returncode == 2
    assert "markets" in res.stderr and "nothing to trade" in res.stderr


def test_a_free_port_and_markets_pass(tmp_path) -> None:
    cfg = {
        "mode": "live",
        "metrics": {"port": 0},
        "markets": [{"yes_token": "1", "no_token": "2"}],
    }
    res = run_bot(tmp_path, cfg, "--check-config")
    assert res.returncode == 0, res.stderr
