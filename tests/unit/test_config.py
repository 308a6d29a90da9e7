"""Config: every error path names the key and exits 2; the shipped config.yaml is valid."""

import os
import subprocess
import sys
from decimal import Decimal

import pytest
import yaml

from pmbot.config import Config, load_config, parse_config
from pmbot.errors import ConfigError

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def run_bot(*args, env=None):
    full_env = dict(os.environ)
    full_env.pop("POLYMARKET_PRIVATE_KEY", None)
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, os.path.join(ROOT, "bot.py"), *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=full_env,
        cwd=ROOT,
    )


def write(tmp_path, data, name="c.yaml"):
    p = tmp_path / name
    p.write_text(yaml.safe_dump(data) if not isinstance(data, str) else data)
    return str(p)


def test_shipped_config_is_valid_and_matches_documented_defaults():
    cfg = load_config(os.path.join(ROOT, "config.yaml"))
    assert cfg.mode == "sim"
    assert cfg.strategy.name == "edge"
    assert cfg.strategy.edge_fraction == Decimal("0.10")
    assert cfg.strategy.order_size == Decimal(10)
    assert cfg.strategy.skew_ticks == 2
    assert cfg.risk.max_inventory_imbalance_usd == Decimal(50)
    assert cfg.risk.max_position_size_usd == Decimal(500)
    assert cfg.risk.min_bid == Decimal("0.02") and cfg.risk.max_ask == Decimal("0.98")
    assert cfg.metrics.host == "127.0.0.1" and cfg.metrics.port == 9108
    assert cfg.venue.chain_id == 137
    assert cfg.wallet.private_key_env == "POLYMARKET_PRIVATE_KEY"
    assert cfg.arbitrage.leg_order_type == "FAK"


def test_empty_config_gives_defaults():
    assert parse_config({}) == Config()
    assert parse_config(None) == Config()


@pytest.mark.parametrize(
    "raw, key",
    [
        ({"bogus": 1}, "bogus"),
        ({"strategy": {"edge_fraktion": 0.1}}, "strategy.edge_fraktion"),
        ({"strategy": {"edge_fraction": "lots"}}, "strategy.edge_fraction"),
        ({"strategy": {"edge_fraction": 1}}, "strategy.edge_fraction"),
        ({"strategy": {"order_size": 0}}, "strategy.order_size"),
        ({"strategy": {"skew_ticks": 1.5}}, "strategy.skew_ticks"),
        ({"strategy": {"name": "yolo"}}, "strategy.name"),
        ({"risk": {"min_bid": -0.1}}, "risk.min_bid"),
        ({"risk": {"min_bid": 0.5, "max_ask": 0.4}}, "risk.min_bid"),
        ({"risk": "high"}, "risk"),
        ({"mode": "yolo"}, "mode"),
        ({"metrics": {"port": 70000}}, "metrics.port"),
        ({"metrics": {"port": True}}, "metrics.port"),
        ({"markets": [{"yes_token": "1"}]}, "markets[0]"),
        ({"markets": [{"yes_token": 123, "no_token": "2"}]}, "markets[0].yes_token"),
        ({"markets": [{"yes_token": "1", "no_token": "1"}]}, "markets[0].no_token"),
        ({"markets": [{"slug": "a", "yes_token": "1", "no_token": "2"}]}, "markets[0]"),
        ({"markets": {"slug": "a"}}, "markets"),
        ({"venue": {"clob_url": "ftp://x"}}, "venue.clob_url"),
        ({"venue": {"market_ws_url": "http://x"}}, "venue.market_ws_url"),
        ({"wallet": {"signature_type": 4}}, "wallet.signature_type"),
        ({"arbitrage": {"leg_order_type": "GTC"}}, "arbitrage.leg_order_type"),
        ({"arbitrage": {"events": [{"slug": ""}]}}, "arbitrage.events[0].slug"),
        ({"execution": {"heartbeat": "yes"}}, "execution.heartbeat"),
    ],
)
def test_bad_values_name_the_key(raw, key):
    with pytest.raises(ConfigError) as info:
        parse_config(raw)
    assert info.value.key == key


def test_money_values_are_exact_decimals():
    cfg = parse_config(
        {"strategy": {"edge_fraction": 0.1}, "risk": {"max_position_size_usd": 123.45}}
    )
    assert cfg.strategy.edge_fraction == Decimal("0.1")
    assert cfg.risk.max_position_size_usd == Decimal("123.45")


def test_state_dir_defaults_to_systemd_state_directory(monkeypatch):
    monkeypatch.setenv("STATE_DIRECTORY", "/var/lib/pmbot")
    assert parse_config({}).resolved_state_dir == "/var/lib/pmbot"
    monkeypatch.delenv("STATE_DIRECTORY")
    assert parse_config({}).resolved_state_dir == "./state"
    assert parse_config({"state_dir": "/tmp/x"}).resolved_state_dir == "/tmp/x"


def test_cli_unknown_key_exits_2_with_one_line(tmp_path):
    res = run_bot(
        "--config", write(tmp_path, {"strategy": {"edge_fraktion": 0.1}}), "--check-config"
    )
    assert res.returncode == 2
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "strategy.edge_fraktion" in lines[0]


def test_cli_bad_type_exits_2(tmp_path):
    res = run_bot("--config", write(tmp_path, {"risk": {"max_position_size_usd": "a lot"}}))
    assert res.returncode == 2
    assert "risk.max_position_size_usd" in res.stderr


def test_cli_invalid_yaml_exits_2(tmp_path):
    res = run_bot("--config", write(tmp_path, "mode: [sim\n"), "--check-config")
    assert res.returncode == 2
    assert "YAML" in res.stderr


def test_cli_missing_file_exits_2(tmp_path):
    res = run_bot("--config", str(tmp_path / "nope.yaml"), "--check-config")
    assert res.returncode == 2 and "not found" in res.stderr


def test_cli_live_mode_without_key_is_a_clear_error(tmp_path):
    res = run_bot("--config", write(tmp_path, {"mode": "live"}))
    assert res.returncode == 2
    assert "wallet.private_key_env" in res.stderr and "Traceback" not in res.stderr


def test_cli_bad_mode_override_exits_2(tmp_path):
    res = run_bot("--config", write(tmp_path, {}), "--mode", "yolo")
    assert res.returncode == 2


def test_check_config_prints_effective_config_with_the_secret_masked(tmp_path):
    secret = "0x" + "ab" * 32
    res = run_bot(
        "--config",
        write(
            tmp_path,
            {
                "mode": "live",
                "markets": [{"yes_token": "1", "no_token": "2"}],
                "metrics": {"port": 0},
            },
        ),
        "--check-config",
        env={"POLYMARKET_PRIVATE_KEY": secret},
    )
    assert res.returncode == 0, res.stderr
    assert secret not in res.stdout and secret not in res.stderr
    printed = yaml.safe_load(res.stdout)
    assert printed["mode"] == "live"
    assert printed["wallet"]["private_key"] == "***set***"
    assert printed["strategy"]["edge_fraction"] == 0.1


def test_key_file_must_be_0600(tmp_path):
    key_file = tmp_path / "key"
    key_file.write_text("0x" + "cd" * 32)
    key_file.chmod(0o644)
    cfg = {"mode": "live", "wallet": {"private_key_env": "", "private_key_file": str(key_file)}}
    res = run_bot("--config", write(tmp_path, cfg))
    assert res.returncode == 2
    assert "0600" in res.stderr or "permissions" in res.stderr
    assert "cd" * 32 not in res.stderr
