"""Issue 13 item 8 end to end: with a small pUSD balance (set on the sim's ledger before the bot
starts) the bot quotes a binary market and takes a basket, each sized within the free balance,
without a single order refused for balance. Quotes and basket share the 12 pUSD (within one
decision quotes are sized first and the basket gets the rest), so the basket is smaller than the
book's depth of 20 sets. Fails with the balance cap removed (the basket's legs are refused)."""

from __future__ import annotations

from decimal import Decimal as D

from tests.integration.botproc import BotProcess, wait_for
from tests.integration.test_arbitrage_sim import (
    SLUG,
    address,
    basket_books,
    bots,  # noqa: F401 - fixture
    logged_sets,
    outcome_tokens,
    set_books,
    sim,  # noqa: F401 - fixture
)
from tests.waiting import holds_for

BALANCE = D(12)
DEPTH_SETS = D(20)  # what the basket's books hold (0.30 + 0.31 + 0.33 per set)


def reserved(exchange) -> D:
    """pUSD the sim's ledger holds for the bot's resting BUY orders."""
    return D(exchange.ledger(address())["reserved"]["collateral"])


def no_balance_refusal(bot) -> bool:
    log = bot.log().lower()
    return "not enough balance" not in log and "balance refusal" not in log


def test_a_small_balance_is_quoted_and_arbitraged_within_without_a_refusal(
    sim,  # noqa: F811
    tmp_path,
    bots,  # noqa: F811
):
    set_books(sim, outcome_tokens(sim), basket_books("0.47"))
    sim.control(set_balance={"address": address(), "amount": str(BALANCE)})
    bot = BotProcess(
        sim,
        tmp_path,
        extra={
            "markets": sim.binary_markets()[:1],
            "strategy": {"order_size": 5},
            "arbitrage": {"enabled": True, "events": [{"slug": SLUG}], "binary_markets": False},
        },
    )
    bots.append(bot)

    wait_for(lambda: reserved(sim) > 0, 30, what="BUY quotes resting")
    wait_for(
        lambda: bot.metric("pmbot_arb_taken_total", kind="basket_yes") == 1, 30, what="basket taken"
    )
    wait_for(lambda: logged_sets(bot.log(), "complete set"), 20, what="sets completed")
    [sets] = logged_sets(bot.log(), "complete set")
    assert 0 < sets < DEPTH_SETS  # sized within what the quotes left, not the book's depth
    # requotes, background trades and balance polls go on: still no order refused for balance
    holds_for(lambda: no_balance_refusal(bot), 10, what="no balance refusal")
    assert "pUSD balance 12, allowance" in bot.log()  # the strategy thread read it at start-up
    assert not bot.metric("pmbot_orders_rejected_total", reason="rejected")
    ledger = sim.ledger(address())
    assert D(ledger["collateral"]) >= 0 and D(ledger["reserved"]["collateral"]) <= BALANCE
