"""Local books rebuilt from the simulator's own market-channel messages equal its REST snapshots.

Hypothesis drives random order flow (resting orders on both tokens, marketable orders that trade,
cancels) into the matching engine; every market-channel message goes through the bot's real
parser (as JSON text, the way it arrives on the socket) into ``OrderBook``s. After any sequence,
each token's local book equals ``GET /book`` for it, and every ``price_change`` top agreed with the
local book at the time it was applied.
"""

from __future__ import annotations

import json
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pmbot.sim.engine import SimReject
from pmbot.venue.book import OrderBook
from pmbot.venue.wire_market import BookEvent, PriceChangeEvent, parse_frame
from tests.unit.test_sim_engine_helpers import ALICE, BOB, make_exchange, market, place

D = Decimal

op = st.one_of(
    st.tuples(
        st.just("place"),
        st.sampled_from(["yes", "no"]),
        st.sampled_from(["BUY", "SELL"]),
        st.integers(min_value=2, max_value=98),
        st.integers(min_value=5, max_value=40),
        st.sampled_from([ALICE, BOB]),
        st.booleans(),
    ),
    st.tuples(st.just("cancel"), st.integers(min_value=0, max_value=50)),
)


def levels_of(snapshot: dict, side: str) -> dict:
    return {D(lv["price"]): D(lv["size"]) for lv in snapshot[side]}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(op, min_size=1, max_size=40))
def test_replaying_the_sim_feed_gives_the_sims_books(ops):
    ex, clock, rec = make_exchange()
    m = market(ex)
    tokens = {"yes": m.yes_token, "no": m.no_token}
    for who in (ALICE, BOB):  # enough shares to sell on both tokens, enough collateral to buy
        ex.set_position(who, m.yes_token, D(1000))
        ex.set_position(who, m.no_token, D(1000))
    books = {t: OrderBook(t) for t in tokens.values()}
    for t, b in books.items():
        snap = ex.book_snapshot(t)
        b.apply_snapshot(
            [(D(lv["price"]), D(lv["size"])) for lv in snap["bids"]],
            [(D(lv["price"]), D(lv["size"])) for lv in snap["asks"]],
        )
    placed: list[tuple[str, str]] = []
    for step in ops:
        if step[0] == "place":
            _, tok, side, cents, size, who, post_only = step
            try:
                resp = place(
                    ex, tokens[tok], side, D(cents) / 100, size, maker=who, post_only=post_only
                )
                placed.append((who, resp["orderID"]))
            except SimReject:
                pass  # crossing post-only, balance...: the venue says no, the book is unchanged
        else:
            if placed:
                who, order_id = placed[step[1] % len(placed)]
                ex.cancel_orders("key-alice" if who == ALICE else "key-bob", [order_id])
        clock.t += 0.01
    for channel, _key, message in rec.events:
        if channel != "market":
            continue
        for ev in parse_frame(json.dumps(message)):
            if isinstance(ev, BookEvent) and ev.asset_id in books:
                books[ev.asset_id].apply_snapshot(ev.bids, ev.asks)
            elif isinstance(ev, PriceChangeEvent):
                for e in ev.entries:
                    if e.asset_id not in books:
                        continue
                    book = books[e.asset_id]
                    book.set_level(e.side, e.price, e.size)
                    assert book.top_matches(e.best_bid, e.best_ask), (
                        e,
                        book.best_bid,
                        book.best_ask,
                    )
    for t, book in books.items():
        snap = ex.book_snapshot(t)
        bids, asks = book.snapshot()
        assert dict(bids) == levels_of(snap, "bids")
        assert dict(asks) == levels_of(snap, "asks")
