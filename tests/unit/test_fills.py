"""FillTracker: the bot's own fills from recorded trade events, counted exactly once."""

import json
import os
from dataclasses import replace
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pmbot.model import MarketInfo, Side, TradeStatus
from pmbot.trading.fills import FillTracker, maker_side, round_fee
from pmbot.venue.wire_user import parse_trade

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(__file__)), "fixtures", "user")


def load(name):
    with open(os.path.join(FIXTURES, name)) as f:
        return json.load(f)


IDS = load("ids.json")
ME = IDS["api_key"]
MARKET = MarketInfo(
    IDS["condition_id"], IDS["yes_token"], IDS["no_token"], fee_rate=Decimal("0.05")
)
MARKETS = {MARKET.condition_id: MARKET}


def trade(name, **overrides):
    return parse_trade(dict(load(name), **overrides))


def test_documented_trade_gives_one_maker_sell_and_no_taker_fill():
    (change,) = FillTracker(ME).on_trade(trade("trade_maker_documented.json"), MARKETS)
    f = change.fill
    assert change.kind == "new"
    assert f.is_maker and f.side is Side.SELL and f.token_id == MARKET.yes_token
    assert f.price == Decimal("0.57") and f.size == Decimal(10) and f.fee_usd == 0
    assert f.order_id.startswith("0xff35") and f.status is TradeStatus.MATCHED


def test_taker_fill_executes_at_maker_prices_with_exact_notional_and_fee():
    (change,) = FillTracker(ME).on_trade(trade("trade_taker_normal.json"), MARKETS)
    f = change.fill
    assert not f.is_maker and f.side is Side.BUY and f.size == Decimal(15)
    assert f.cost == Decimal("7.55")  # 10 * 0.50 + 5 * 0.51, exact
    assert f.price * 15 == pytest.approx(Decimal("7.55"))
    # 10*0.05*0.5*0.5 + 5*0.05*0.51*0.49 = 0.125 + 0.062475 = 0.187475 -> 0.18748
    assert f.fee_usd == Decimal("0.18748")


def test_taker_identified_by_own_order_id_even_when_owner_is_someone_else():
    tr = trade("trade_taker_normal.json", owner="someone", trade_owner="someone", trader_side="")
    tid = tr.taker_order_id
    (change,) = FillTracker(ME, own_order_ids=lambda: {tid}).on_trade(tr, MARKETS)
    assert change.fill.order_id == tid and not change.fill.is_maker


def test_mint_maker_is_buy_of_the_complementary_token():
    (change,) = FillTracker(ME).on_trade(trade("trade_mint.json"), MARKETS)
    f = change.fill
    assert (
        f.token_id == MARKET.no_token
        and f.side is Side.BUY
        and f.price == Decimal("0.40")
        and f.size == 10
    )


def test_merge_maker_is_sell_of_the_complementary_token():
    (change,) = FillTracker(ME).on_trade(trade("trade_merge.json"), MARKETS)
    f = change.fill
    assert (
        f.token_id == MARKET.no_token
        and f.side is Side.SELL
        and f.price == Decimal("0.45")
        and f.size == 6
    )


def test_taker_against_a_mint_maker_pays_one_minus_the_maker_price():
    d = load("trade_mint.json")
    d["owner"] = ME
    d["maker_orders"][0]["owner"] = "someone else"
    (change,) = FillTracker(ME).on_trade(parse_trade(d), MARKETS)
    f = change.fill
    assert not f.is_maker and f.side is Side.BUY and f.token_id == MARKET.yes_token
    assert f.cost == Decimal("6.00")  # 10 * (1 - 0.40)
    assert f.price == Decimal("0.6")


@pytest.mark.parametrize(
    "taker_side, same_token, expected",
    [
        (Side.BUY, True, Side.SELL),
        (Side.SELL, True, Side.BUY),
        (Side.BUY, False, Side.BUY),
        (Side.SELL, False, Side.SELL),
    ],
)
def test_maker_side_rule(taker_side, same_token, expected):
    tr = replace(trade("trade_mint.json"), side=taker_side)
    token = tr.token_id if same_token else "other-token"
    assert maker_side(tr, token, None) is expected
    assert maker_side(tr, token, expected.opposite) is expected.opposite  # an explicit side wins


def test_partial_fills_of_one_order_are_two_fills_and_others_makers_are_ignored():
    trades = [parse_trade(d) for d in load("trade_partial_fills.json")]
    ft = FillTracker(ME)
    changes = [c for t in trades for c in ft.on_trade(t, MARKETS)]
    assert [c.kind for c in changes] == ["new", "new"]
    assert [c.fill.size for c in changes] == [Decimal(8), Decimal(12)]
    assert {c.fill.side for c in changes} == {Side.BUY}
    assert sum(c.fill.size for c in changes) == Decimal(20)


def test_maker_identified_by_order_id_when_owner_missing():
    d = load("trade_partial_fills.json")[0]
    d["maker_orders"][0]["owner"] = ""
    oid = d["maker_orders"][0]["order_id"]
    assert FillTracker(ME).on_trade(parse_trade(d), MARKETS) == []
    (change,) = FillTracker(ME, own_order_ids=lambda: [oid]).on_trade(parse_trade(d), MARKETS)
    assert change.fill.order_id == oid


def test_matched_duplicate_mined_confirmed_counts_once_and_advances_status():
    ft = FillTracker(ME)
    results = [ft.on_trade(parse_trade(d), MARKETS) for d in load("trade_lifecycle_confirmed.json")]
    kinds = [[c.kind for c in r] for r in results]
    assert kinds == [["new"], [], ["status"], ["status"]]
    assert (
        results[3][0].fill.status is TradeStatus.CONFIRMED
        and results[3][0].previous is TradeStatus.MINED
    )
    assert len(ft) == 1


def test_matched_then_failed_reverses_once():
    ft = FillTracker(ME)
    results = [ft.on_trade(parse_trade(d), MARKETS) for d in load("trade_lifecycle_failed.json")]
    kinds = [[c.kind for c in r] for r in results]
    assert kinds == [["new"], ["status"], ["reversed"], []]
    rev = results[2][0]
    assert rev.fill.status is TradeStatus.FAILED and rev.previous is TradeStatus.RETRYING
    assert rev.fill.size == 10 and rev.fill.side is Side.BUY


def test_first_seen_failed_never_counts_and_stays_failed():
    ft = FillTracker(ME)
    assert ft.on_trade(trade("trade_mint.json", status="FAILED"), MARKETS) == []
    assert ft.on_trade(trade("trade_mint.json", status="MATCHED"), MARKETS) == []


def test_stale_rest_replay_does_not_move_status_backwards():
    ft = FillTracker(ME)
    ft.on_trade(trade("trade_mint.json", status="CONFIRMED"), MARKETS)
    assert ft.on_trade(trade("trade_mint.json", status="MATCHED"), MARKETS) == []
    assert ft.on_trade(trade("trade_mint.json", status="MINED"), MARKETS) == []


def test_rest_row_of_a_trade_seen_on_the_channel_is_a_duplicate():
    ft = FillTracker(ME)
    ws = trade("trade_taker_normal.json")
    rest = parse_trade(
        dict(load("rest_trades_page.json")["data"][0], id=ws.trade_id, status="MATCHED")
    )
    assert len(ft.on_trade(ws, MARKETS)) == 1
    assert ft.on_trade(rest, MARKETS) == []


def test_restore_from_journal_makes_replays_no_ops():
    first = FillTracker(ME)
    (change,) = first.on_trade(trade("trade_mint.json"), MARKETS)
    second = FillTracker(ME)
    second.restore([change.fill])
    assert second.on_trade(trade("trade_mint.json"), MARKETS) == []
    assert [
        c.kind for c in second.on_trade(trade("trade_mint.json", status="FAILED"), MARKETS)
    ] == ["reversed"]


def test_self_trade_gives_a_taker_and_a_maker_fill():
    d = load("trade_mint.json")
    d["owner"] = ME
    tid = d["taker_order_id"]
    changes = FillTracker(ME, own_order_ids=lambda: {tid}).on_trade(parse_trade(d), MARKETS)
    assert sorted((c.fill.is_maker, c.fill.token_id) for c in changes) == [
        (False, MARKET.yes_token),
        (True, MARKET.no_token),
    ]


def test_someone_elses_trade_gives_nothing():
    d = load("trade_mint.json")
    d["maker_orders"][0]["owner"] = "not me"
    assert FillTracker(ME).on_trade(parse_trade(d), MARKETS) == []


def test_trader_side_maker_never_makes_the_bot_the_taker():
    d = load("trade_taker_normal.json")
    d["trader_side"] = "MAKER"
    assert FillTracker(ME).on_trade(parse_trade(d), MARKETS) == []


def test_fee_uses_market_schedule_when_the_trade_has_no_rate():
    d = load("trade_taker_normal.json")
    d.pop("fee_rate_bps")
    (change,) = FillTracker(ME).on_trade(parse_trade(d), MARKETS)
    assert change.fill.fee_usd == Decimal("0.18748")
    (change,) = FillTracker(ME).on_trade(parse_trade(d), {})
    assert change.fill.fee_usd == 0


@pytest.mark.parametrize(
    "raw, rounded",
    [("0", "0"), ("0.000001", "0.00001"), ("0.000015", "0.00002"), ("0.123454", "0.12345")],
)
def test_fee_rounding(raw, rounded):
    assert round_fee(Decimal(raw)) == Decimal(rounded)


STATUSES = [
    TradeStatus.MATCHED,
    TradeStatus.MINED,
    TradeStatus.CONFIRMED,
    TradeStatus.RETRYING,
    TradeStatus.FAILED,
]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from(STATUSES), min_size=1, max_size=12))
def test_any_message_order_counts_at_most_once_and_reverses_at_most_once(statuses):
    ft = FillTracker(ME)
    kinds = [
        c.kind
        for s in statuses
        for c in ft.on_trade(trade("trade_mint.json", status=s.value), MARKETS)
    ]
    assert kinds.count("new") <= 1 and kinds.count("reversed") <= 1
    net = kinds.count("new") - kinds.count("reversed")
    first = statuses[0]
    counted = first is not TradeStatus.FAILED
    failed_later = counted and TradeStatus.FAILED in statuses[1:]
    assert kinds.count("new") == (1 if counted else 0)
    assert net == (1 if counted and not failed_later else 0)
    if "reversed" in kinds:
        assert kinds[-1] == "reversed"  # nothing changes after FAILED


def test_fee_follows_the_fd_exponent_and_ignores_a_zero_trade_rate():
    """py-clob-client-v2 #107: a trade's fee_rate_bps can read 0 while a fee is charged; the rate
    and exponent are the market's fd."""
    d = dict(load("trade_taker_normal.json"), fee_rate_bps="0")
    squared = replace(MARKET, fee_exponent=2)
    (change,) = FillTracker(ME).on_trade(parse_trade(d), {MARKET.condition_id: squared})
    # 10*0.05*(0.5*0.5)^2 + 5*0.05*(0.51*0.49)^2 = 0.03125 + 0.015618... -> 0.04687
    expected = (
        Decimal(10) * Decimal("0.05") * Decimal("0.0625")
        + Decimal(5) * Decimal("0.05") * (Decimal("0.51") * Decimal("0.49")) ** 2
    )
    assert change.fill.fee_usd == round_fee(expected)


def test_unknown_market_fee_is_not_zero_in_p_and_l():
    d = dict(load("trade_taker_normal.json"), fee_rate_bps="0")
    unknown = replace(MARKET, fee_rate=Decimal(0), fee_known=False)
    (change,) = FillTracker(ME).on_trade(parse_trade(d), {MARKET.condition_id: unknown})
    assert change.fill.fee_usd > 0  # costed at the worst case, never as free
