"""Strategy parameters mirror config.yaml; book views from MarketUpdate, mirrored for NO."""

import os
from decimal import Decimal as D

from pmbot.config import load_config
from pmbot.model import MarketUpdate, OrderType
from pmbot.strategy import BookView, StrategyParams
from tests.conftest import ROOT


def test_defaults_equal_the_shipped_config_yaml():
    cfg = load_config(os.path.join(ROOT, "config.yaml"))
    assert StrategyParams.from_sections(cfg.strategy, cfg.risk, cfg.arbitrage) == StrategyParams()


def test_from_sections_accepts_mappings_and_coerces_types():
    p = StrategyParams.from_sections(
        {"name": "avellaneda", "edge_fraction": "0.2", "skew_ticks": 3},
        {"max_position_size_usd": 250},
        {"leg_order_type": "fok", "enabled": False, "events": [{"slug": "x"}]},
    )
    assert (
        p.quoting.name == "avellaneda"
        and p.quoting.edge_fraction == D("0.2")
        and p.quoting.skew_ticks == 3
    )
    assert p.risk.max_position_size_usd == D(250) and p.risk.min_bid == D("0.02")
    assert p.arbitrage.leg_order_type is OrderType.FOK and p.arbitrage.enabled is False


def test_book_view_from_update_and_its_mirror():
    upd = MarketUpdate(
        token_id="Y",
        market="c",
        best_bid=D("0.48"),
        best_ask=D("0.52"),
        bid_size=D(30),
        ask_size=D(10),
        tick=D("0.01"),
        live=True,
        recv_ns=0,
        bids=((D("0.48"), D(30)), (D("0.47"), D(5))),
        asks=((D("0.52"), D(10)),),
    )
    view = BookView.from_update(upd, age_secs=2.5)
    assert view.mid == D("0.50") and view.age_secs == 2.5
    assert view.microprice == (D("0.48") * 10 + D("0.52") * 30) / 40
    no = view.mirrored()
    assert (no.best_bid, no.best_ask, no.bid_size, no.ask_size) == (
        D("0.48"),
        D("0.52"),
        D(10),
        D(30),
    )
    assert no.asks == ((D("0.52"), D(30)), (D("0.53"), D(5)))
    assert no.mirrored().bid_levels() == view.bid_levels()
