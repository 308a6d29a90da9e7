"""Market and user WebSocket channels of the simulator, read with a plain websocket-client."""

import json
from decimal import Decimal

import pytest
import websocket
from py_clob_client_v2.clob_types import OrderArgs

from tests.integration.sim_support import (
    KEY_A,
    KEY_B,
    clob_client,
    first_market,
    start_sim,
    wait_for,
)


@pytest.fixture
def sim():
    s = start_sim()
    yield s
    s.stop()


@pytest.fixture
def market(sim):
    m = first_market(sim)
    sim.faults.set_book(
        m.yes_token, bids=[("0.38", "100"), ("0.39", "50")], asks=[("0.45", "70"), ("0.46", "200")]
    )
    return m


def _market_ws(sim, tokens, custom=True):
    ws = websocket.create_connection(sim.urls["market_ws_url"], timeout=5)
    ws.send(json.dumps({"assets_ids": tokens, "type": "market", "custom_feature_enabled": custom}))
    return ws


def test_subscribe_sends_an_array_of_book_snapshots(sim, market):
    ws = _market_ws(sim, [market.yes_token, market.no_token])
    try:
        books = json.loads(ws.recv())
        assert isinstance(books, list) and [b["asset_id"] for b in books] == [
            market.yes_token,
            market.no_token,
        ]
        yes, no = books
        assert all(b["event_type"] == "book" and b["market"] == market.condition_id for b in books)
        assert [lv["price"] for lv in yes["bids"]] == ["0.38", "0.39"]  # ascending: best LAST
        assert [lv["price"] for lv in yes["asks"]] == ["0.46", "0.45"]  # descending: best LAST
        assert [lv["price"] for lv in no["bids"]] == ["0.54", "0.55"]
        assert [lv["price"] for lv in no["asks"]] == ["0.62", "0.61"]
        assert yes["tick_size"] == "0.01" and len(yes["hash"]) == 40
    finally:
        ws.close()


def test_price_change_has_mirrored_entries_for_both_tokens(sim, market):
    ws = _market_ws(sim, [market.yes_token])
    try:
        json.loads(ws.recv())
        client = clob_client(sim, KEY_A)
        client.create_and_post_order(
            OrderArgs(token_id=market.yes_token, price=0.41, size=12, side="BUY"), post_only=True
        )
        msg = wait_for(ws, lambda m: isinstance(m, dict) and m.get("event_type") == "price_change")
        assert msg["market"] == market.condition_id
        yes, no = sorted(msg["price_changes"], key=lambda c: c["asset_id"] != market.yes_token)
        assert (yes["asset_id"], yes["price"], yes["size"], yes["side"]) == (
            market.yes_token,
            "0.41",
            "12",
            "BUY",
        )
        assert (no["asset_id"], no["price"], no["size"], no["side"]) == (
            market.no_token,
            "0.59",
            "12",
            "SELL",
        )
        assert (yes["best_bid"], yes["best_ask"]) == ("0.41", "0.45")
        assert (no["best_bid"], no["best_ask"]) == ("0.55", "0.59")
        top = wait_for(ws, lambda m: isinstance(m, dict) and m.get("event_type") == "best_bid_ask")
        assert (top["best_bid"], top["best_ask"], top["spread"]) == ("0.41", "0.45", "0.04")
    finally:
        ws.close()


def test_ping_pong_and_dynamic_subscriptions(sim, market):
    other = next(m for m in sim.exchange.markets.values() if m.condition_id != market.condition_id)
    ws = _market_ws(sim, [market.yes_token], custom=False)
    try:
        json.loads(ws.recv())
        ws.send("PING")
        assert ws.recv() == "PONG"
        ws.send(json.dumps({"operation": "subscribe", "assets_ids": [other.yes_token]}))
        books = json.loads(ws.recv())
        assert [b["asset_id"] for b in books] == [other.yes_token]
        ws.send(json.dumps({"operation": "unsubscribe", "assets_ids": [market.yes_token]}))
        ws.send("PING")
        assert ws.recv() == "PONG"  # the unsubscribe was processed before this
        client = clob_client(sim, KEY_A)
        client.create_and_post_order(
            OrderArgs(token_id=market.yes_token, price=0.40, size=5, side="BUY"), post_only=True
        )
        client.create_and_post_order(
            OrderArgs(token_id=other.yes_token, price=0.05, size=5, side="BUY"), post_only=True
        )
        msg = wait_for(ws, lambda m: isinstance(m, dict))
        assert (
            msg["market"] == other.condition_id
        )  # nothing from the unsubscribed market came first
        assert msg["event_type"] == "price_change"  # and no best_bid_ask without custom features
    finally:
        ws.close()


def test_user_channel_fill_events_carry_maker_orders(sim, market):
    a, b = clob_client(sim, KEY_A), clob_client(sim, KEY_B)
    sim.faults.set_position(b.get_address(), market.yes_token, 100)
    ws = websocket.create_connection(sim.urls["user_ws_url"], timeout=5)
    try:
        ws.send(
            json.dumps(
                {
                    "auth": {
                        "apiKey": a.creds.api_key,
                        "secret": a.creds.api_secret,
                        "passphrase": a.creds.api_passphrase,
                    },
                    "markets": [market.condition_id],
                    "type": "user",
                }
            )
        )
        ws.send("PING")
        assert ws.recv() == "PONG"
        maker = a.create_and_post_order(
            OrderArgs(token_id=market.yes_token, price=0.42, size=10, side="BUY"), post_only=True
        )
        placed = wait_for(ws, lambda m: m.get("event_type") == "order")
        assert (placed["type"], placed["id"], placed["owner"]) == (
            "PLACEMENT",
            maker["orderID"],
            a.creds.api_key,
        )
        taker = b.create_and_post_order(
            OrderArgs(token_id=market.yes_token, price=0.42, size=6, side="SELL")
        )
        events = []
        wait_for(
            ws,
            lambda m: (
                events.append(m) or (m.get("event_type") == "trade" and m["status"] == "CONFIRMED")
            ),
        )
        trades = [m for m in events if m["event_type"] == "trade"]
        trade = trades[0]
        assert trade["status"] == "MATCHED" and trade["taker_order_id"] == taker["orderID"]
        assert (trade["side"], trade["asset_id"], trade["size"]) == ("SELL", market.yes_token, "6")
        [entry] = trade["maker_orders"]
        assert entry["order_id"] == maker["orderID"] and entry["owner"] == a.creds.api_key
        assert (entry["asset_id"], entry["matched_amount"], entry["price"]) == (
            market.yes_token,
            "6",
            "0.42",
        )
        assert entry["side"] == "BUY" and entry["maker_address"].lower() == a.get_address().lower()
        [update] = [m for m in events if m["event_type"] == "order" and m["type"] == "UPDATE"]
        assert Decimal(update["size_matched"]) == 6 and update["id"] == maker["orderID"]
        assert {t["id"] for t in trades} == {trade["id"]}
        statuses = [t["status"] for t in trades]
        assert statuses == ["MATCHED", "MINED", "CONFIRMED"]
    finally:
        ws.close()


def test_user_channel_filters_by_market_and_rejects_bad_auth(sim, market):
    a = clob_client(sim, KEY_A)
    other = next(m for m in sim.exchange.markets.values() if m.condition_id != market.condition_id)
    bad = websocket.create_connection(sim.urls["user_ws_url"], timeout=5)
    bad.send(
        json.dumps(
            {"auth": {"apiKey": a.creds.api_key, "secret": "x", "passphrase": "y"}, "type": "user"}
        )
    )
    with pytest.raises((websocket.WebSocketConnectionClosedException, ConnectionError)):
        for _ in range(3):
            if bad.recv() in ("", None):
                raise websocket.WebSocketConnectionClosedException("closed")
    bad.close()

    ws = websocket.create_connection(sim.urls["user_ws_url"], timeout=5)
    try:
        ws.send(
            json.dumps(
                {
                    "auth": {
                        "apiKey": a.creds.api_key,
                        "secret": a.creds.api_secret,
                        "passphrase": a.creds.api_passphrase,
                    },
                    "markets": [other.condition_id],
                    "type": "user",
                }
            )
        )
        a.create_and_post_order(
            OrderArgs(token_id=market.yes_token, price=0.30, size=5, side="BUY"), post_only=True
        )
        a.create_and_post_order(
            OrderArgs(token_id=other.yes_token, price=0.05, size=5, side="BUY"), post_only=True
        )
        msg = wait_for(ws, lambda m: True)
        assert msg["market"] == other.condition_id and msg["type"] == "PLACEMENT"
    finally:
        ws.close()


def test_slow_consumer_is_dropped_not_silently_skipped():
    """A subscriber whose outbound queue overflows is disconnected (it will resync)."""
    from pmbot.sim import SimServer
    from tests.integration.sim_support import quiet_config

    sim = SimServer(quiet_config(), ws_queue_frames=50)
    sim.start()
    try:
        created = sim.bench.create_markets(1, 5, sim.exchange)[0]
        ws = websocket.create_connection(sim.urls["market_ws_url"], timeout=5)
        ws.send(json.dumps({"assets_ids": [created["yes_token"]], "type": "market"}))
        json.loads(ws.recv())
        [conn] = list(sim._ws_conns)
        # never read again: flood far more than the socket buffers plus 50 queued frames can hold
        sim.bench.start_flood(rate=200_000, count=60_000)
        sim.bench._thread.join(10)
        assert conn.closed and conn.dropped_reason == "outbound queue overflow"
        with pytest.raises((websocket.WebSocketConnectionClosedException, ConnectionError)):
            while True:  # what was sent before the drop arrives, then the connection ends
                if not ws.recv():
                    raise websocket.WebSocketConnectionClosedException("closed")
        ws.close()
    finally:
        sim.stop()


def test_living_market_moves_without_anyone_trading():
    """With background traders on, a subscriber sees level updates and, in time, trades."""
    from pmbot.sim import SimServer
    from tests.integration.sim_support import quiet_config

    sim = SimServer(quiet_config(background=True, taker_prob=0.5, maker_refresh_prob=0.9))
    sim.start()
    try:
        tokens = [t for m in sim.exchange.markets.values() for t in (m.yes_token, m.no_token)]
        ws = websocket.create_connection(sim.urls["market_ws_url"], timeout=5)
        ws.send(
            json.dumps({"assets_ids": tokens, "type": "market", "custom_feature_enabled": True})
        )
        books = json.loads(ws.recv())
        assert len(books) == len(tokens) and all(b["bids"] and b["asks"] for b in books)
        kinds = set()
        wait_for(
            ws,
            lambda m: (
                kinds.add(m.get("event_type")) or {"price_change", "last_trade_price"} <= kinds
            ),
            timeout=5,
        )
        ws.close()
    finally:
        sim.stop()


def test_new_market_goes_to_custom_feature_subscribers(sim):
    ws = websocket.create_connection(sim.urls["market_ws_url"], timeout=5)
    plain = websocket.create_connection(sim.urls["market_ws_url"], timeout=5)
    try:
        ws.send(json.dumps({"assets_ids": [], "type": "market", "custom_feature_enabled": True}))
        plain.send(json.dumps({"assets_ids": [], "type": "market"}))
        for conn in (ws, plain):
            conn.send("PING")
            assert conn.recv() == "PONG"
        created = sim.bench.create_markets(1, 3, sim.exchange)[0]
        msg = wait_for(ws, lambda m: isinstance(m, dict) and m.get("event_type") == "new_market")
        assert msg["market"] == created["condition_id"]
        assert created["yes_token"] in (msg.get("assets_ids") or msg.get("clob_token_ids"))
        plain.send("PING")
        assert plain.recv() == "PONG"  # and nothing before it
    finally:
        ws.close()
        plain.close()
