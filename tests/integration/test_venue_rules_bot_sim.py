"""Issue 13 "Verified by", the bot against the sim's venue rules (in process, sim mode):

- a cancel answered ``not_canceled`` with a matching-delay reason: the order stays tracked, no
  second copy of the quote rests meanwhile, and it is cancelled on the retry;
- a sim switched to order version 3 mid-run: the bot re-reads the version and, unable to sign it,
  stops creating orders with the clear message.

The bot's side of both is the executor's (helper "fastcancel": cancel answers read by
``wire_clob.parse_cancel_answer``, ``order_version_mismatch`` handling); these tests hold it to the
sim's rules.
"""

from __future__ import annotations

import logging
from collections import Counter
from decimal import Decimal as D

from tests.integration.botproc import wait_for
from tests.integration.test_bot_sim_mode import bot_orders, sim_runner


def _per_side(r) -> Counter:
    return Counter((o["asset_id"], o["side"]) for o in bot_orders(r))


def _move_book(r, token: str, mid: D) -> None:
    """Freeze the market and move its book so the bot wants its quotes elsewhere."""
    tick = D("0.01")
    r.sim.faults.set_book(
        token, bids=[(mid - 3 * tick, 200)], asks=[(mid + 3 * tick, 200)], freeze=True
    )


def test_cancel_in_the_matching_delay_keeps_the_order_and_never_doubles_the_quote(tmp_path):
    with sim_runner(tmp_path) as r:
        token = r.engine.markets[0].yes_token
        _move_book(r, token, D("0.50"))
        wait_for(lambda: _per_side(r)[(token, "BUY")] >= 1, 30, what="a bid on the token")
        wait_for(
            lambda: (
                len(
                    {
                        o["price"]
                        for o in bot_orders(r)
                        if o["asset_id"] == token and o["side"] == "BUY"
                    }
                )
                >= 1
                and all(
                    D(o["price"]) <= D("0.47")
                    for o in bot_orders(r)
                    if o["asset_id"] == token and o["side"] == "BUY"
                )
            ),
            30,
            what="bids at the new book",
        )
        baseline = _per_side(r)
        before = {o["id"] for o in bot_orders(r) if o["asset_id"] == token}
        r.sim.faults.apply({"cancel_delay": {"count": 2}})
        _move_book(r, token, D("0.60"))
        worst: Counter = Counter()

        def settled() -> bool:
            now = _per_side(r)
            for key, n in now.items():
                worst[key] = max(worst[key], n)
            left = r.sim.faults.venue.snapshot()["cancel_delays_left"]
            return left == 0 and not (before & {o["id"] for o in bot_orders(r)})

        wait_for(settled, 60, what="the delayed order cancelled on a retry")
        for key, n in worst.items():
            assert n <= max(baseline.get(key, 0), 1), f"{n} quotes rested at once on {key}"


def test_sim_switched_to_order_version_3_mid_run_stops_the_bot_with_the_clear_message(
    tmp_path, caplog
):
    caplog.set_level(logging.INFO)
    with sim_runner(tmp_path) as r:
        token = r.engine.markets[0].yes_token
        wait_for(lambda: bot_orders(r), 30, what="quotes")
        r.sim.faults.apply({"order_version": 3})
        _move_book(r, token, D("0.40"))  # the re-quote is refused: order_version_mismatch

        def stopped_with_message() -> bool:
            return any(
                rec.levelno >= logging.ERROR and "order version 3" in rec.getMessage()
                for rec in caplog.records
            )

        wait_for(stopped_with_message, 30, what="the clear order-version message")
        assert not r.health()[0]
        r.sim.faults.apply({"order_version": 2})  # teardown cancels what is left
