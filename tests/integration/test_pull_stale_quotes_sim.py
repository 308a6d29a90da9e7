"""Issue 20: a book move that makes the bot's quotes stale has the market-feed thread pull the
exposed side at once (the DELETE built and signed ahead, written before the strategy thread
decides), and the strategy then re-quotes without cancelling any order a second time.

The bot runs as its own process in live mode against the simulator (also its own process, with
``--holds`` so every request's arrival and body are on record), quoting one market whose book the
test moves by hand (``set_book`` freezes it: no background trading there).
"""

from __future__ import annotations

import json

import pytest

from tests.integration.botproc import BotProcess, SimProcess, venue_client
from tests.waiting import wait_for

BOOKS = [  # YES books two cents apart: every move changes the mid bucket
    ([("0.40", "500"), ("0.39", "500")], [("0.44", "500"), ("0.45", "500")]),
    ([("0.42", "500"), ("0.41", "500")], [("0.46", "500"), ("0.47", "500")]),
]
MOVES = 4


@pytest.fixture
def sim():
    proc = SimProcess("--holds")
    yield proc
    proc.stop()


def _quotes(rest, market_id: str) -> set[str]:
    return {o["id"] for o in rest.open_orders() if o.get("market") == market_id}


def _deletes(rows: list) -> list[list[str]]:
    """The ids of each ``DELETE /orders`` that arrived, in arrival order."""
    return [json.loads(r[4]) for r in rows if r[1] == "DELETE" and r[2] == "/orders"]


def test_a_book_move_pulls_the_stale_quotes_from_the_feed_thread_once(sim, tmp_path):
    market = next(m for m in sim.get("/markets")["data"] if not m.get("neg_risk"))
    cid = market["condition_id"]
    tokens = {t["outcome"].lower(): t["token_id"] for t in market["tokens"]}
    yes = tokens["yes"]
    bids, asks = BOOKS[0]
    sim.control(set_book={"token_id": yes, "bids": bids, "asks": asks, "freeze": True})
    sim.get("/_sim/holds/arrivals?clear=1")
    bot = BotProcess(
        sim, tmp_path, extra={"markets": [{"yes_token": yes, "no_token": tokens["no"]}]}
    )
    rest, _address = venue_client(sim)
    seen = 0  # arrival rows already looked at
    try:
        wait_for(lambda: len(_quotes(rest, cid)) >= 2, 60, "the bot's first quotes")
        for move in range(1, MOVES + 1):
            old = _quotes(rest, cid)
            seen = len(sim.get("/_sim/holds/arrivals"))
            bids, asks = BOOKS[move % 2]
            sim.control(set_book={"token_id": yes, "bids": bids, "asks": asks, "freeze": True})
            wait_for(
                lambda old=old: (now := _quotes(rest, cid)) and not (now & old) and len(now) >= 2,
                30,
                f"move {move}: the old quotes gone, new ones resting",
            )
            deletes = _deletes(sim.get("/_sim/holds/arrivals")[seen:])
            # Every old quote was cancelled, once: a pull and the strategy never both took one.
            ids = [oid for body in deletes for oid in body]
            assert old <= set(ids) and len(ids) == len(set(ids)), (move, deletes, old)
        written = bot.metric("pmbot_quote_pulls_total", kind="written") or 0
        queued = bot.metric("pmbot_quote_pulls_total", kind="queued") or 0
        cancelled = bot.metric("pmbot_orders_cancelled_total") or 0
        every = _deletes(sim.get("/_sim/holds/arrivals"))
    finally:
        code = bot.terminate()
        rest.close()
    assert code == 0, bot.log()[-3000:]
    # No order was cancelled twice (the strategy never cancelled what the feed thread pulled),
    # and the bot counted each cancelled order once.
    ids = [oid for body in every for oid in body]
    assert len(ids) == len(set(ids)), every
    # The strategy may act on a half-moved book before the pull (the sim replaces its ladder one
    # order at a time): the pull then takes what is still exposed (the quotes such a decision
    # placed too, once the book moves on), or nothing is left to pull. Every pull takes orders
    # nothing else cancelled.
    assert written >= 1 and written + queued <= len(ids), (written, queued, every)
    assert cancelled == len(ids), (cancelled, every)
    fresh, _ = venue_client(sim)
    try:
        assert not _quotes(fresh, cid)  # the kill switch left nothing
    finally:
        fresh.close()
