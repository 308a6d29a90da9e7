"""Venue-shaped JSON the simulated exchange sends: market-channel and user-channel messages, the
REST ``/book`` snapshot and Data API ``/positions`` rows, as pure functions of the sim's records.

Venue quirks reproduced (reference 2.3 and 3):
- every ``price_change`` carries mirrored entries for BOTH tokens of the condition, each with its
  own hash and that token's best bid/ask; an empty bid reads "0" and an empty ask "1";
- the REST book lists bids ascending and asks descending, so the best level is LAST; its ``hash``
  is the SHA-1 of the compact JSON with an empty hash field (what the SDK recomputes);
- user-channel ``order`` events send ``associate_trades: null`` while empty, and trade events
  carry ``matchtime`` as well as ``match_time``;
- Data API numbers are JSON numbers (floats), unlike the CLOB's decimal strings.
"""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal
from typing import TYPE_CHECKING

from pmbot.sim.ledger import Account
from pmbot.sim.markets import SimEvent, SimMarket
from pmbot.sim.orderbook import BUY, ONE, SELL, ZERO, SimOrder, UnifiedBook

if TYPE_CHECKING:
    from pmbot.sim.matching import SimTrade


def fmt(value: Decimal) -> str:
    """Venue-style decimal string: ``0.5``, ``2000``, ``26.68`` (no exponent, no trailing zeros)."""
    return format(value.normalize(), "f")


def ms(now: float) -> str:
    """A venue timestamp: epoch milliseconds as a string."""
    return str(int(now * 1000))


# --------------------------------------------------------------------------- market channel


def new_market_message(market: SimMarket, event: SimEvent | None, now: float) -> dict:
    return {
        "id": market.gamma_id,
        "question": market.question,
        "market": market.condition_id,
        "slug": market.slug,
        "description": market.question,
        "assets_ids": [market.yes_token, market.no_token],
        "outcomes": ["Yes", "No"],
        "event_message": {
            "id": event.gamma_id if event else market.gamma_id,
            "ticker": event.slug if event else market.slug,
            "slug": event.slug if event else market.slug,
            "title": event.title if event else market.question,
            "description": event.title if event else market.question,
        },
        "timestamp": ms(now),
        "event_type": "new_market",
        "tags": [],
        "condition_id": market.condition_id,
        "active": market.active,
        "clob_token_ids": [market.yes_token, market.no_token],
        "sports_market_type": "",
        "line": None,
        "game_start_time": None,
        "order_price_min_tick_size": fmt(market.tick),
        "group_item_title": market.outcome_label,
    }


def tick_size_change_message(
    market: SimMarket, token: str, old: Decimal, new: Decimal, now: float
) -> dict:
    return {
        "event_type": "tick_size_change",
        "asset_id": token,
        "market": market.condition_id,
        "old_tick_size": fmt(old),
        "new_tick_size": fmt(new),
        "timestamp": ms(now),
    }


def book_snapshot(market: SimMarket, book: UnifiedBook, token_id: str, now: float) -> dict:
    """REST ``/book`` shape (also the market-channel ``book`` event without its event_type)."""
    bids, asks = book.token_levels(token_id == market.yes_token)
    ltp = book.last_trade_yes
    if ltp is not None and token_id == market.no_token:
        ltp = ONE - ltp
    snap = {
        "market": market.condition_id,
        "asset_id": token_id,
        "timestamp": ms(now),
        "hash": "",
        "bids": [{"price": fmt(p), "size": fmt(s)} for p, s in bids],
        "asks": [{"price": fmt(p), "size": fmt(s)} for p, s in asks],
        "min_order_size": fmt(market.min_size),
        "tick_size": fmt(market.tick),
        "neg_risk": market.neg_risk,
        "last_trade_price": fmt(ltp) if ltp is not None else "",
    }
    payload = json.dumps(snap, separators=(",", ":"), ensure_ascii=False)
    snap["hash"] = hashlib.sha1(payload.encode()).hexdigest()
    return snap


def tops(book: UnifiedBook) -> tuple[str, str, str, str]:
    """(yes best_bid, yes best_ask, no best_bid, no best_ask); empty bid "0", empty ask "1"."""
    bb, ba = book.best_bid(), book.best_ask()
    return (
        fmt(bb) if bb is not None else "0",
        fmt(ba) if ba is not None else "1",
        fmt(ONE - ba) if ba is not None else "0",
        fmt(ONE - bb) if bb is not None else "1",
    )


def price_change_message(
    market: SimMarket,
    book: UnifiedBook,
    yes_side: str,
    yes_price: Decimal,
    total: Decimal,
    now: float,
) -> dict:
    """A price_change with mirrored entries for both tokens (reference 2.3)."""
    ybb, yba, nbb, nba = tops(book)
    size = fmt(total)
    h = hashlib.sha1(f"{market.condition_id}:{book.version}".encode()).hexdigest()
    return {
        "market": market.condition_id,
        "price_changes": [
            {
                "asset_id": market.yes_token,
                "price": fmt(yes_price),
                "size": size,
                "side": yes_side,
                "hash": h,
                "best_bid": ybb,
                "best_ask": yba,
            },
            {
                "asset_id": market.no_token,
                "price": fmt(ONE - yes_price),
                "size": size,
                "side": SELL if yes_side == BUY else BUY,
                "hash": hashlib.sha1(h.encode()).hexdigest(),
                "best_bid": nbb,
                "best_ask": nba,
            },
        ],
        "timestamp": ms(now),
        "event_type": "price_change",
    }


def best_bid_ask_messages(
    market: SimMarket, book: UnifiedBook, now: float
) -> list[tuple[str, dict]]:
    """(token, best_bid_ask message) for the YES then the NO token."""
    ybb, yba, nbb, nba = tops(book)
    return [
        (
            token,
            {
                "market": market.condition_id,
                "asset_id": token,
                "best_bid": bb,
                "best_ask": ba,
                "spread": fmt(Decimal(ba) - Decimal(bb)),
                "timestamp": ms(now),
                "event_type": "best_bid_ask",
            },
        )
        for token, bb, ba in ((market.yes_token, ybb, yba), (market.no_token, nbb, nba))
    ]


def last_trade_price_message(
    market: SimMarket,
    taker: SimOrder,
    price: Decimal,
    size: Decimal,
    fee_rate_bps: int,
    tx_hash: str,
    now: float,
) -> dict:
    return {
        "market": market.condition_id,
        "asset_id": taker.token_id,
        "price": fmt(price),
        "size": fmt(size),
        "fee_rate_bps": str(fee_rate_bps),
        "side": taker.side,
        "timestamp": ms(now),
        "event_type": "last_trade_price",
        "transaction_hash": tx_hash,
    }


# --------------------------------------------------------------------------- user channel and REST


def order_view(o: SimOrder) -> dict:
    """An order as REST ``/data/order(s)`` returns it."""
    return {
        "associate_trades": list(o.associate_trades),
        "id": o.id,
        "status": o.status,
        "market": o.market,
        "original_size": fmt(o.original_size),
        "outcome": o.outcome,
        "maker_address": o.address,
        "owner": o.owner,
        "price": fmt(o.price),
        "side": o.side,
        "size_matched": fmt(o.size_matched),
        "asset_id": o.token_id,
        "expiration": str(o.expiration),
        "order_type": o.order_type,
        "created_at": o.created_at,
    }


def order_event(o: SimOrder, kind: str, now: float) -> dict:
    """User-channel ``order`` event; ``kind`` is PLACEMENT, UPDATE or CANCELLATION."""
    msg = order_view(o)
    msg["associate_trades"] = msg["associate_trades"] or None
    msg.update(event_type="order", order_owner=o.owner, timestamp=ms(now), type=kind)
    return msg


def trade_view(trade: SimTrade, owner: str) -> dict:
    """A trade as ``owner`` sees it (REST ``/data/trades``): TAKER or MAKER side, maker entries
    without the engine's private ``_cash``."""
    taker = trade.taker
    is_taker = owner == taker.owner
    address = (
        taker.address
        if is_taker
        else next((e["maker_address"] for e in trade.maker_entries if e["owner"] == owner), "")
    )
    return {
        "id": trade.id,
        "taker_order_id": taker.id,
        "market": trade.market,
        "asset_id": taker.token_id,
        "side": taker.side,
        "size": fmt(trade.size),
        "fee_rate_bps": str(trade.fee_rate_bps),
        "price": fmt(trade.price),
        "status": trade.status,
        "match_time": str(int(trade.matched_at)),
        "matchtime": str(int(trade.matched_at)),
        "last_update": str(int(trade.last_update)),
        "outcome": taker.outcome,
        "bucket_index": 0,
        "owner": owner,
        "trade_owner": taker.owner,
        "maker_address": address,
        "transaction_hash": trade.tx_hash,
        "trader_side": "TAKER" if is_taker else "MAKER",
        "maker_orders": [{k: v for k, v in e.items() if k != "_cash"} for e in trade.maker_entries],
    }


def trade_event(trade: SimTrade, owner: str, now: float) -> dict:
    msg = trade_view(trade, owner)
    msg.update(event_type="trade", type="TRADE", timestamp=ms(now))
    return msg


def ledger_view(address: str, acct: Account) -> dict:
    """The sim-only ``/_sim/ledger`` view of one account."""
    return {
        "address": address.lower(),
        "collateral": fmt(acct.collateral),
        "positions": {t: fmt(s) for t, s in acct.positions.items() if s != 0},
        "reserved": {
            "collateral": fmt(acct.reserved_collateral),
            "shares": {t: fmt(s) for t, s in acct.reserved_shares.items() if s != 0},
        },
    }


def position_row(
    user: str, market: SimMarket, acct: Account, token: str, size: Decimal, cur: Decimal
) -> dict:
    """Data API v1 ``/positions`` row for one token held by ``user``; ``cur`` is the mark price."""
    is_yes = token == market.yes_token
    cost, bought, realized = acct.cost.get(token, [ZERO, ZERO, ZERO])
    avg = cost / size if size else ZERO
    value = size * cur
    other = market.no_token if is_yes else market.yes_token
    return {
        "proxyWallet": user.lower(),
        "asset": token,
        "conditionId": market.condition_id,
        "size": float(size),
        "avgPrice": float(round(avg, 6)),
        "initialValue": float(round(cost, 6)),
        "currentValue": float(round(value, 6)),
        "cashPnl": float(round(value - cost, 6)),
        "percentPnl": float(round((value - cost) / cost * 100, 4)) if cost else 0.0,
        "totalBought": float(bought),
        "realizedPnl": float(round(realized, 6)),
        "percentRealizedPnl": 0.0,
        "curPrice": float(cur),
        "redeemable": market.closed,
        "mergeable": acct.positions.get(other, ZERO) > 0,
        "title": market.question,
        "slug": market.slug,
        "icon": "",
        "eventSlug": market.event_slug or market.slug,
        "outcome": "Yes" if is_yes else "No",
        "outcomeIndex": 0 if is_yes else 1,
        "oppositeOutcome": "No" if is_yes else "Yes",
        "oppositeAsset": other,
        "endDate": market.end_date_iso[:10],
        "negativeRisk": market.neg_risk,
    }


def place_response(order: SimOrder, trade: SimTrade | None) -> dict:
    """The ``POST /order`` answer: ``live`` (rested or killed unmatched), or ``matched`` with
    what the taker gave and got."""
    response = {
        "success": True,
        "errorMsg": "",
        "orderID": order.id,
        "takingAmount": "",
        "makingAmount": "",
        "status": "live",
        "transactionsHashes": [],
        "tradeIDs": [],
    }
    if trade is not None:
        paid = sum((e["_cash"] for e in trade.maker_entries), ZERO)
        shares = order.size_matched
        making, taking = (paid, shares) if order.side == BUY else (shares, paid)
        response.update(
            status="matched",
            makingAmount=fmt(making),
            takingAmount=fmt(taking),
            tradeIDs=[trade.id],
        )
    return response
