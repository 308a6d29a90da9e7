"""Issue 13 "Verified by", first item: arbitrage in sim on an event whose legs need cent sizes on
0.01 and 0.001 ticks. The sim enforces the venue's market-order rules (FAK/FOK maker 2 dp, taker
4 dp, else 400 ``invalid amounts ...``; a market BUY spends its pUSD at the limit or better), so
every leg must be signed the market-order way to be accepted. Then the sets are even and the bot's
inventory equals the exchange's ledger, bonus shares included.

Needs the executor to sign FAK/FOK legs with market-order amounts (helper "fastcancel"'s change to
pmbot/execution and pmbot/venue/order_signing): with limit-order amounts (size x price, 4-5 dp)
every leg below is refused by the sim, as the live venue refuses them.

FOK too: a FOK market BUY must spend its whole pUSD, so a leg signed ``at_least`` (spend rounded
up to the cent) would ask a hair more than a level holding exactly ``SETS`` shares gives and be
killed. FOK baskets are sized to what each book can fill in full, at a set count whose spend is
whole cents on every leg (12 here: 12 x 0.305 = 3.66), and FOK legs round their spend down.
"""

from __future__ import annotations

import re
from decimal import Decimal as D

from tests.integration.botproc import ledger_positions, wait_for
from tests.integration.test_arbitrage_sim import (
    SLUG,
    address,
    bots,  # noqa: F401 - fixture
    outcome_tokens,
    shares,
    sim,  # noqa: F401 - fixture
    start_bot,
)

SETS = D("12.37")  # cent sizes: 12.37 x 0.305 = 3.77285 pUSD, 5 decimals as a limit order
TICKS = ("0.001", "0.01", "0.01")
ASKS = (
    [["0.305", "12.37"], ["0.45", 50]],
    [["0.31", "12.37"], ["0.46", 50]],
    [["0.33", "12.37"], ["0.47", 50]],
)
BIDS = ([["0.27", 50]], [["0.28", 50]], [["0.30", 50]])


def test_cent_sized_legs_on_fine_and_cent_ticks_are_all_accepted_and_sets_stay_even(
    sim,  # noqa: F811
    tmp_path,
    bots,  # noqa: F811
):
    tokens = outcome_tokens(sim)
    for tok, tick, bids, asks in zip(tokens, TICKS, BIDS, ASKS, strict=True):
        sim.control(tick_size={"token_id": tok, "tick": tick})
        sim.control(set_book={"token_id": tok, "bids": bids, "asks": asks, "freeze": True})
    bot = start_bot(sim, tmp_path, bots, leg_order_type="FAK")

    wait_for(
        lambda: bot.metric("pmbot_arb_taken_total", kind="basket_yes") == 1, 30, what="basket taken"
    )
    wait_for(lambda: bot.metric("pmbot_arb_open_sets") == float(SETS), 20, what="sets hedged")
    log = bot.log()
    assert "invalid amounts" not in log, "a leg was refused for its amounts"
    assert "unevenly" not in log and "NAKED" not in log
    assert re.findall(rf"arbitrage basket_yes:{SLUG}: ([0-9.]+) complete set", log) == [str(SETS)]
    ledger = ledger_positions(sim, address())
    assert set(ledger) == set(tokens) and all(ledger[t] >= SETS for t in tokens)
    # inventory equals the ledger, surplus shares of an amount-based BUY included
    wait_for(lambda: all(shares(bot, t) == float(ledger[t]) for t in tokens), 15, what="inventory")


FOK_SETS = D(12)  # the largest count <= 12.37 with count x 0.305 in whole cents


def test_fok_legs_on_levels_holding_exactly_the_depth_are_filled_not_killed(
    sim,  # noqa: F811
    tmp_path,
    bots,  # noqa: F811
):
    tokens = outcome_tokens(sim)
    for tok, tick, bids, asks in zip(tokens, TICKS, BIDS, ASKS, strict=True):
        sim.control(tick_size={"token_id": tok, "tick": tick})
        sim.control(set_book={"token_id": tok, "bids": bids, "asks": asks, "freeze": True})
    bot = start_bot(sim, tmp_path, bots, leg_order_type="FOK")

    wait_for(
        lambda: bot.metric("pmbot_arb_taken_total", kind="basket_yes") == 1, 30, what="basket taken"
    )
    wait_for(lambda: bot.metric("pmbot_arb_open_sets") == float(FOK_SETS), 20, what="sets hedged")
    log = bot.log()
    assert "invalid amounts" not in log and "fully filled or killed" not in log
    assert "unevenly" not in log and "NAKED" not in log
    found = re.findall(rf"arbitrage basket_yes:{SLUG}: ([0-9.]+) complete set", log)
    assert [D(n) for n in found] == [FOK_SETS]
    ledger = ledger_positions(sim, address())
    # a whole-cent spend at one level buys exactly the set count: no leg bought more or less
    assert {t: ledger.get(t) for t in tokens} == {t: FOK_SETS for t in tokens}
    wait_for(lambda: all(shares(bot, t) == float(FOK_SETS) for t in tokens), 15, what="inventory")
