"""Issue 13 item 3 in the bot: the fee rate and exponent come from the CLOB's ``fd``; Gamma's
``feeSchedule`` is only a fallback; an unknown fee is never costed as zero."""

from __future__ import annotations

import dataclasses
import json
from decimal import Decimal as D

from pmbot.fees import WORST_CASE_RATE
from pmbot.model import EventInfo, MarketInfo
from pmbot.strategy import BookView
from pmbot.strategy.arbitrage import basket_yes, taker_fee
from pmbot.strategy.params import ArbitrageParams
from pmbot.venue.markets import market_from_clob_info, market_from_gamma, with_clob_facts

CID = "0x" + "ab" * 32


def _gamma(**over):
    m = {
        "conditionId": CID,
        "slug": "will-x",
        "outcomes": json.dumps(["Yes", "No"]),
        "clobTokenIds": json.dumps(["111", "222"]),
        "acceptingOrders": True,
        "enableOrderBook": True,
        "orderPriceMinTickSize": 0.01,
        "feesEnabled": True,
    }
    m.update(over)
    return m


class FakeRest:
    def __init__(self, compact):
        self.compact = compact

    def clob_market(self, condition_id):
        assert condition_id == CID
        return self.compact


def test_gamma_without_fee_schedule_is_an_unknown_fee_costed_at_the_worst_case():
    info = market_from_gamma(_gamma())
    assert not info.fee_known
    assert info.fee_terms() == (WORST_CASE_RATE, 1)
    assert market_from_gamma(_gamma(feesEnabled=False)).fee_terms() == (D(0), 1)
    schedule = {"rate": 0.04, "exponent": 2, "takerOnly": True}
    known = market_from_gamma(_gamma(feeSchedule=schedule))
    assert known.fee_known and known.fee_terms() == (D("0.04"), 2)


def test_clob_fd_and_tick_override_gamma():
    gamma = market_from_gamma(_gamma(feeSchedule={"rate": 0.04, "exponent": 1}))
    info = with_clob_facts(FakeRest({"mts": "0.001", "mos": 10, "fd": {"r": 0.05, "e": 2}}), gamma)
    assert (info.tick, info.min_size, info.fee_terms()) == (D("0.001"), D(10), (D("0.05"), 2))
    # no fd: Gamma's schedule is the fallback; neither: unknown
    assert with_clob_facts(FakeRest({"mts": "0.01"}), gamma).fee_terms() == (D("0.04"), 1)
    unknown = with_clob_facts(FakeRest({"mts": "0.01"}), market_from_gamma(_gamma()))
    assert not unknown.fee_known


def test_clob_info_without_fd_is_unknown_not_zero():
    compact = {"t": [{"t": "111", "o": "Yes"}, {"t": "222", "o": "No"}], "mts": "0.01"}
    assert not market_from_clob_info(CID, compact).fee_known
    with_fd = market_from_clob_info(CID, {**compact, "fd": {"r": 0.07, "e": 1}})
    assert with_fd.fee_known and with_fd.fee_terms() == (D("0.07"), 1)


PRICES = ("0.30", "0.33", "0.34")  # 0.97 a set: 0.03 gross edge


def _basket(**fee):
    markets = tuple(
        MarketInfo(f"c{i}", f"Y{i}", f"N{i}", neg_risk=True, event_slug="ev", **fee)
        for i in range(3)
    )
    books = {
        f"Y{i}": BookView(None, D(p), D(0), D(100), asks=((D(p), D(100)),))
        for i, p in enumerate(PRICES)
    }
    return basket_yes(EventInfo("ev", markets), books, ArbitrageParams(), D(1000))


def test_basket_positive_before_fees_and_negative_after_fd_fees_is_not_taken():
    assert _basket(fee_rate=D(0)).actionable  # 0.03 a set before fees
    fee_e1 = sum(taker_fee(D(1), D(p), D("0.05")) for p in PRICES)
    assert fee_e1 > D("0.03")
    assert _basket(fee_rate=D("0.05")).skipped == "below_edge"
    # the same rate with fd.e = 2 charges (p(1-p))^2: small enough to leave an edge
    opp = _basket(fee_rate=D("0.05"), fee_exponent=2)
    assert opp.actionable
    assert opp.legs[0].fee_exponent == 2
    assert opp.fees_usd == opp.sets * sum(taker_fee(D(1), D(p), D("0.05"), 2) for p in PRICES)


def test_basket_on_a_market_whose_fee_is_unknown_assumes_the_worst_case_not_zero():
    opp = _basket(fee_rate=D(0), fee_known=False)
    assert opp.skipped == "below_edge"
    assert dataclasses.replace(MarketInfo("c", "y", "n"), fee_known=False).fee_terms()[0] > 0
