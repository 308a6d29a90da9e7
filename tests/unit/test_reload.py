"""Reload planning: the whole file validated first, runtime keys applied, the rest refused by name,
a bad file changing nothing and saying why."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from pmbot.config import MarketRef, parse_config
from pmbot.control.reload import diff_configs, plan_reload

BASE: dict[str, Any] = {
    "mode": "sim",
    "markets": [{"yes_token": "1", "no_token": "2"}, {"slug": "rain"}],
    "strategy": {"edge_fraction": 0.1},
    "wallet": {"funder": "0xaaa"},
}


def write(tmp_path: Path, raw: Any, name: str = "c.yaml") -> str:
    path = tmp_path / name
    path.write_text(raw if isinstance(raw, str) else yaml.safe_dump(raw))
    return str(path)


def changed(**sections: Any) -> dict[str, Any]:
    out = {
        k: (dict(v) if isinstance(v, dict) else list(v) if isinstance(v, list) else v)
        for k, v in BASE.items()
    }
    for key, value in sections.items():
        if isinstance(value, dict):
            out[key] = {**out.get(key, {}), **value}
        else:
            out[key] = value
    return out


RUNNING = parse_config(BASE)


def test_same_file_is_no_change(tmp_path: Path) -> None:
    plan = plan_reload(write(tmp_path, BASE), RUNNING)
    assert plan.ok and plan.empty and plan.summary() == "no change"


def test_changed_strategy_and_risk_params_are_listed_with_old_and_new(tmp_path: Path) -> None:
    raw = changed(strategy={"edge_fraction": 0.2}, risk={"min_bid": 0.05}, log_level="DEBUG")
    plan = plan_reload(write(tmp_path, raw), RUNNING)
    assert plan.ok and not plan.empty
    got = {(c.key, c.old, c.new) for c in plan.params}
    assert got == {
        ("strategy.edge_fraction", Decimal("0.1"), Decimal("0.2")),
        ("risk.min_bid", Decimal("0.02"), Decimal("0.05")),
        ("log_level", "INFO", "DEBUG"),
    }
    assert plan.config is not None and plan.config.strategy.edge_fraction == Decimal("0.2")
    assert "strategy.edge_fraction 0.1 -> 0.2" in plan.summary()


def test_markets_added_and_removed(tmp_path: Path) -> None:
    raw = changed(markets=[{"slug": "rain"}, {"yes_token": "5", "no_token": "6"}])
    plan = plan_reload(write(tmp_path, raw), RUNNING)
    assert plan.ok
    assert plan.markets_added == (MarketRef(yes_token="5", no_token="6"),)
    assert plan.markets_removed == (MarketRef(yes_token="1", no_token="2"),)
    assert plan.params == ()
    data = plan.to_data()
    assert data["markets_added"] == ["5/6"] and data["markets_removed"] == ["1/2"]


@pytest.mark.parametrize(
    ("section", "value", "key"),
    [
        ("wallet", {"funder": "0xbbb"}, "wallet.funder"),
        ("venue", {"clob_url": "https://example.org"}, "venue.clob_url"),
        ("mode", "paper", "mode"),
        ("state_dir", "/elsewhere", "state_dir"),
        ("execution", {"heartbeat_secs": 3}, "execution.heartbeat_secs"),
        ("metrics", {"port": 9999}, "metrics.port"),
        ("arbitrage", {"events": [{"slug": "e"}]}, "arbitrage.events"),
    ],
)
def test_keys_fixed_at_start_up_are_refused_by_name_and_nothing_applies(
    tmp_path: Path, section: str, value: Any, key: str
) -> None:
    raw = changed(**{section: value}, strategy={"edge_fraction": 0.3})
    plan = plan_reload(write(tmp_path, raw), RUNNING)
    assert not plan.ok
    assert plan.refused == (key,)
    assert key in plan.error and "nothing changed" in plan.error
    assert plan.params == () and plan.config is None


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        ("mode: [unclosed", "not valid YAML"),
        ({**BASE, "strategy": {"edge_fraction": 2}}, "strategy.edge_fraction"),
        ({**BASE, "strategy": {"edge_fractoin": 0.2}}, "strategy.edge_fractoin: unknown key"),
        ({**BASE, "markets": [{"yes_token": "1"}]}, "markets[0]"),
    ],
)
def test_a_bad_file_changes_nothing_and_says_why(tmp_path: Path, raw: Any, why: str) -> None:
    plan = plan_reload(write(tmp_path, raw), RUNNING)
    assert not plan.ok and plan.config is None
    assert why in plan.error and "nothing changed" in plan.error


def test_a_missing_file_changes_nothing(tmp_path: Path) -> None:
    plan = plan_reload(str(tmp_path / "gone.yaml"), RUNNING)
    assert not plan.ok and "file not found" in plan.error


def test_the_start_up_mode_override_is_applied_again(tmp_path: Path) -> None:
    running = parse_config(BASE, mode_override="paper")
    assert plan_reload(write(tmp_path, BASE), running, mode_override="paper").empty
    assert plan_reload(write(tmp_path, BASE), running).refused == ("mode",)


def test_diff_is_symmetric_in_what_it_reports() -> None:
    new = parse_config(changed(strategy={"order_size": 20}))
    there = diff_configs(RUNNING, new)
    back = diff_configs(new, RUNNING)
    assert [(c.key, c.old, c.new) for c in there.params] == [
        (c.key, c.new, c.old) for c in back.params
    ]
