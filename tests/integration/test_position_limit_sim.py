"""Issue 19 end to end: the real bot process (live mode) against ``python -m pmbot.sim``.

One binary market with a frozen book (bids 0.50 x5, asks 0.54 x5: the bot quotes 0.45 / 0.59). The
bot starts holding 100 YES + 100 NO: complete sets worth about $100, far over the $4 position limit.

1. It quotes two-sided anyway: the sets are hedged, the unhedged value is 0.
2. A counterparty sells 15 YES through the book: 5 to the background maker at 0.50, 10 into the
   bot's bid at 0.45. The bot's 10 unhedged YES (about $5.20 at mid) are over the limit: it cancels
   everything (logged with the reason), then rests only a SELL of those 10 YES; no bid comes back.
3. The counterparty buys 15 YES through the book, the last 10 from the bot's reducing ask. The bot
   holds complete sets only again (under 90% of the limit) and quotes both sides.
"""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from pmbot.model import OrderType, Side
from pmbot.venue.auth import derive_api_creds
from pmbot.venue.rest import ClobRest
from pmbot.venue.signer import OrderSigner, order_payload
from tests.integration.botproc import TEST_KEY, BotProcess, SimProcess, venue_client, wait_for

LIMIT = 4
OTHER_KEY = "0x" + "5d" * 32
BOOK = {"bids": [["0.50", 5]], "asks": [["0.54", 5]], "freeze": True}


@pytest.fixture
def sim():
    s = SimProcess()
    yield s
    s.stop()


def fed_market(sim) -> dict:
    """The bundled sim's Fed market (tick 0.01, min size 5, not neg-risk) as a config entry."""
    for m in sim.get("/markets")["data"]:
        if "Fed cut" in m.get("question", ""):
            toks = {t["outcome"].lower(): t["token_id"] for t in m["tokens"]}
            return {"yes_token": toks["yes"], "no_token": toks["no"]}
    raise AssertionError("the sim has no Fed market")


class Counterparty:
    """Another wallet on the exchange, trading FAK through the book."""

    def __init__(self, sim) -> None:
        self.signer = OrderSigner(OTHER_KEY)
        self.creds = derive_api_creds(sim.urls["clob_url"], OTHER_KEY, 137)
        self.rest = ClobRest(sim.urls["clob_url"], creds=self.creds, address=self.signer.address)

    def take(self, token: str, side: Side, price: str, size: int) -> dict:
        signed = self.signer.build(token, side, D(price), D(size), neg_risk=False, tick=D("0.01"))
        return self.rest.post_order(order_payload(signed, self.creds.api_key, OrderType.FAK, False))


def quotes(rest, yes: str, no: str) -> list[tuple[str, str, D, D]]:
    """The bot's resting orders on the exchange as (YES|NO, side, price, remaining size), sorted."""
    out = []
    for o in rest.open_orders():
        token = "YES" if o["asset_id"] == yes else "NO" if o["asset_id"] == no else o["asset_id"]
        remaining = D(str(o["original_size"])) - D(str(o.get("size_matched", 0)))
        out.append((token, o["side"], D(str(o["price"])), remaining))
    return sorted(out)


def test_sets_over_the_limit_keep_quoting_and_a_breach_reduces_then_resumes(sim, tmp_path):
    market = fed_market(sim)
    yes, no = market["yes_token"], market["no_token"]
    sim.control(set_book={"token_id": yes, **BOOK})
    bot_address = OrderSigner(TEST_KEY).address
    for token in (yes, no):
        sim.control(set_position={"address": bot_address, "token_id": token, "size": 100})
    bot = BotProcess(
        sim,
        tmp_path,
        extra={"markets": [market], "risk": {"max_position_size_usd": LIMIT}},
    )
    rest, _ = venue_client(sim)
    two_sided = [("YES", "BUY", D("0.45"), D(10)), ("YES", "SELL", D("0.59"), D(10))]
    try:
        # 1. complete sets worth ~$100 > $4: still quoting both sides
        wait_for(lambda: quotes(rest, yes, no) == two_sided, 60, what="two-sided quotes")
        hedged = bot.metric("pmbot_position_value_by_kind_usd", kind="hedged")
        assert hedged is not None and hedged > 20 * LIMIT
        assert bot.metric("pmbot_position_value_by_kind_usd", kind="unhedged") == 0
        assert bot.metric("pmbot_risk_reduce_only", reason="position_limit") is None

        # 2. 10 YES more through the bot's bid: over the limit -> cancel all, then reduce only
        other = Counterparty(sim)
        sim.control(set_position={"address": other.signer.address, "token_id": yes, "size": 100})
        res = other.take(yes, Side.SELL, "0.45", 15)
        assert res.get("success", True), res
        sim.control(set_book={"token_id": yes, **BOOK})  # the maker's 0.50 x5 again: a mid
        wait_for(
            lambda: bot.metric("pmbot_risk_reduce_only", reason="position_limit") == 1,
            30,
            what="reduce-only verdict",
        )
        assert "risk: cancel all (position_limit)" in bot.log()
        assert "reduce_only(position_limit)" in bot.log()
        reducing = [("YES", "SELL", D("0.59"), D(10))]
        wait_for(lambda: quotes(rest, yes, no) == reducing, 30, what="only the reducing ask")
        for _ in range(10):  # it stays that way: no bid, nothing that grows the position
            seen = quotes(rest, yes, no)
            assert all(side == "SELL" and size <= 10 for _, side, _, size in seen), seen
            wait_for(lambda: bot.metric("pmbot_fills_total") is not None, 1, what="scrape")

        # 3. the counterparty lifts the reducing ask: complete sets only, two-sided again
        res = other.take(yes, Side.BUY, "0.59", 15)
        assert res.get("success", True), res
        sim.control(set_book={"token_id": yes, **BOOK})  # the maker's 0.54 x5 again
        wait_for(
            lambda: bot.metric("pmbot_risk_reduce_only", reason="position_limit") is None,
            30,
            what="reduce-only lifted",
        )
        wait_for(lambda: quotes(rest, yes, no) == two_sided, 30, what="two-sided quotes again")
        assert bot.metric("pmbot_position_value_by_kind_usd", kind="unhedged") == 0
        assert bot.metric("pmbot_inventory_shares", token=yes) == 100
    finally:
        assert bot.terminate() == 0
