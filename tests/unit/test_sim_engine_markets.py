"""SimConfig loading: venue-shaped deterministic ids, neg-risk events, the bundled default, and
unknown keys or bad values reported by name."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from pmbot.errors import ConfigError
from pmbot.sim.markets import condition_id_for, load_sim_config, token_id_for


def test_bundled_config_has_the_markets_the_bot_is_tested_against():
    cfg = load_sim_config()
    binaries = [m for m in cfg.markets if not m.neg_risk]
    assert len(binaries) >= 3 and len({m.tick for m in binaries}) >= 2
    assert any(
        Decimal("0.93") <= m.fair_value < Decimal("0.96") for m in binaries
    )  # tick changes happen
    assert sorted(len(e.condition_ids) for e in cfg.events) == [3, 5]
    assert not any(e.neg_risk_augmented for e in cfg.events)
    for m in cfg.markets:
        assert re.fullmatch(r"[1-9][0-9]{76}", m.yes_token) and re.fullmatch(
            r"[1-9][0-9]{76}", m.no_token
        )
        assert re.fullmatch(r"0x[0-9a-f]{64}", m.condition_id)
    assert len({m.gamma_id for m in cfg.markets}) == len(cfg.markets)


def test_ids_are_deterministic_under_the_seed_and_differ_across_seeds():
    assert token_id_for(7, "a", "yes") == token_id_for(7, "a", "yes") != token_id_for(8, "a", "yes")
    assert token_id_for(7, "a", "yes") != token_id_for(7, "a", "no")
    assert condition_id_for(7, "a") != condition_id_for(7, "b")
    assert load_sim_config().markets == load_sim_config().markets


def test_event_outcomes_become_neg_risk_markets_in_order():
    cfg = load_sim_config(
        {
            "events": [
                {
                    "slug": "who",
                    "title": "Who?",
                    "fee_rate": 0.05,
                    "outcomes": [
                        {"label": "Ann Lee", "fair_value": 0.6},
                        {"label": "Bo", "fair_value": 0.4},
                    ],
                }
            ]
        }
    )
    (event,) = cfg.events
    legs = [next(m for m in cfg.markets if m.condition_id == c) for c in event.condition_ids]
    assert [m.slug for m in legs] == ["who-ann-lee", "who-bo"]
    assert all(m.neg_risk and m.event_slug == "who" and m.fee_rate == Decimal("0.05") for m in legs)
    assert [m.outcome_label for m in legs] == ["Ann Lee", "Bo"]


@pytest.mark.parametrize(
    "raw, key",
    [
        ({"seeed": 1}, "seeed"),
        ({"markets": [{"slug": "x", "prce": 0.5}]}, "markets[0].prce"),
        ({"markets": [{"slug": "x", "tick": 0.02}]}, "markets[0].tick"),
        ({"markets": [{"slug": "x", "fair_value": 1}]}, "markets[0].fair_value"),
        ({"markets": [{"question": "no slug"}]}, "markets[0].slug"),
        ({"events": [{"slug": "e", "outcomes": [{"label": "only one"}]}]}, "events[0].outcomes"),
        ({"trade_fail_share": 2}, "trade_fail_share"),
        ({"markets": [{"slug": "x"}, {"slug": "x"}]}, "markets"),
    ],
)
def test_bad_config_names_the_key(raw, key):
    with pytest.raises(ConfigError) as err:
        load_sim_config(raw)
    assert err.value.key == key
