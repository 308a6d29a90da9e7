"""Pure parse of Polymarket market-channel frames into typed, frozen events (protocol section 2).

A frame is one JSON object or a JSON array of them (the initial ``book`` burst after a subscribe is
an array). ``PONG`` never gets here: the runner takes it. Empty frames are keepalives seen on the
real wire and parse to ``[]``. Other plain-text frames (``NO NEW ASSETS`` with
``custom_feature_enabled``, protocol 10.5) are not JSON: ``parse_frame`` raises ``bad_json`` for
them and ``keepalive_label`` names them, so the feed counts them apart from real parse errors.

Venue quirks handled here, at the edge (the field readers are in ``wire_fields``):

* ``book`` messages may carry ``tick_size`` and ``last_trade_price`` (``""`` when there was none);
* the pre-Sept-2025 ``price_change`` shapes (top-level ``asset_id`` with flat ``price/size/side`` or
  ``changes[]``) carry no ``best_bid``/``best_ask``; they still parse (entries have
  ``top_known=False``) so old recordings replay, and the feed counts them;
* REST ``GET /book`` objects have no ``event_type``: ``parse_rest_book`` reads those.

Anything malformed raises ``ParseError`` with a ``kind`` (for the metric label) and a short sample.
With ``errors=[...]`` passed to ``parse_frame``, a bad element of an array is recorded there and the
good ones are still returned.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from pmbot.venue.wire_fields import ONE as _ONE
from pmbot.venue.wire_fields import SIDES as _SIDES
from pmbot.venue.wire_fields import ZERO as _ZERO
from pmbot.venue.wire_fields import ParseError
from pmbot.venue.wire_fields import asset as _asset
from pmbot.venue.wire_fields import levels as _levels
from pmbot.venue.wire_fields import num as _num
from pmbot.venue.wire_fields import price as _price
from pmbot.venue.wire_fields import side as _side
from pmbot.venue.wire_fields import size as _size
from pmbot.venue.wire_fields import text as _str
from pmbot.venue.wire_fields import timestamp_ms as _ts
from pmbot.venue.wire_fields import top_ask as _top_ask
from pmbot.venue.wire_fields import top_bid as _top_bid
from pmbot.venue.wire_market_events import (
    BestBidAskEvent,
    BookEvent,
    LastTradeEvent,
    MarketEvent,
    MarketResolvedEvent,
    NewMarketEvent,
    PriceChangeEntry,
    PriceChangeEvent,
    TickSizeChangeEvent,
)

__all__ = [
    "BestBidAskEvent",
    "BookEvent",
    "LastTradeEvent",
    "MarketEvent",
    "MarketResolvedEvent",
    "NewMarketEvent",
    "ParseError",
    "PriceChangeEntry",
    "PriceChangeEvent",
    "TickSizeChangeEvent",
    "keepalive_label",
    "parse_event",
    "parse_frame",
    "parse_rest_book",
]

# json.loads minus its per-call type and BOM checks (str only)
_decode_str = json.JSONDecoder().decode

# Plain-text frames the market channel sends besides PONG, by metric label (a bounded set: any other
# non-JSON text is "other"). Sources: NautilusTrader's Polymarket handler skips "NO NEW ASSETS" as
# a heartbeat/ack (crates/adapters/polymarket/src/websocket/handler.rs); its PR #3717 quotes the
# venue's "INVALID OPERATION" answer to a repeated initial subscribe.
KEEPALIVE_TEXTS = {"NO NEW ASSETS": "no_new_assets", "INVALID OPERATION": "invalid_operation"}
KEEPALIVE_LABELS = (*KEEPALIVE_TEXTS.values(), "other")


def keepalive_label(text: str) -> str | None:
    """The label of a plain-text (non-JSON) info frame, or None for text meant as JSON (starting
    with ``{`` or ``[``: a truncated or corrupt data frame is a parse error, not a keep-alive)."""
    stripped = text.strip()
    if not stripped or stripped[0] in "{[":
        return None
    return KEEPALIVE_TEXTS.get(stripped.upper(), "other")


# --------------------------------------------------------------------------- per event type


def parse_rest_book(obj: Any) -> BookEvent:
    """A REST ``GET /book`` object (or a WS ``book`` event) -> BookEvent."""
    if type(obj) is not dict:
        raise ParseError("bad_frame", f"book is {type(obj).__name__}", obj)
    ltp = obj.get("last_trade_price")
    return BookEvent(
        asset_id=_asset(obj),
        market=_str(obj, "market", required=False),
        bids=_levels(obj, "bids"),
        asks=_levels(obj, "asks"),
        timestamp_ms=_ts(obj),
        hash=_str(obj, "hash", required=False),
        tick=_price(obj, "tick_size", required=False),
        last_trade_price=_price(obj, "last_trade_price", required=False)
        if ltp not in (None, "")
        else None,
        min_order_size=_num(obj, "min_order_size", required=False),
    )


def _price_change(obj: dict) -> PriceChangeEvent:
    market = _str(obj, "market", required=False)
    ts = _ts(obj)
    changes = obj.get("price_changes")
    if changes is None:
        return _legacy_price_change(obj, market, ts)
    if type(changes) is not list:
        raise ParseError("bad_type", f"price_changes is {type(changes).__name__}", obj)
    entries = []
    for e in changes:
        if type(e) is not dict:
            raise ParseError("bad_type", f"price_changes entry is {type(e).__name__}", obj)
        entry = _fast_entry(e)
        if entry is None:  # anything unusual: the careful readers decide (and name the error)
            entry = PriceChangeEntry(
                _asset(e),
                _price(e, "price"),
                _size(e, "size"),
                _side(e),
                _top_bid(e),
                _top_ask(e),
                e.get("hash") or "",
            )
        entries.append(entry)
    return PriceChangeEvent(market, tuple(entries), ts)


# Venue price text -> its Decimal, for prices already checked finite and inside [0, 1]. Polymarket
# prices sit on a tick of at least 0.0001, so there are a few thousand distinct strings at most; a
# cached Decimal also carries its cached hash, which the book's dict lookups would otherwise
# recompute for every fresh Decimal (about as costly as constructing it). Bounded, so odd input
# cannot grow it without limit.
_PRICES: dict[str, Decimal] = {}
_PRICES_MAX = 16384


def _valid_price(text: str) -> Decimal | None:
    """Decimal for a price string inside [0, 1] (cached), else None. May raise InvalidOperation."""
    d = _PRICES.get(text)
    if d is not None:
        return d
    d = Decimal(text)
    if not (d.is_finite() and _ZERO <= d <= _ONE):
        return None
    if len(_PRICES) < _PRICES_MAX:
        _PRICES[text] = d  # hashes d once; the hash stays cached on the object
    return d


def _fast_entry(e: dict) -> PriceChangeEntry | None:
    """The hot path (tens of thousands of entries a second): every field a well-formed string.
    Returns None for anything else so the careful readers produce the exact error."""
    try:
        asset, p, s, bb, ba = e["asset_id"], e["price"], e["size"], e["best_bid"], e["best_ask"]
        side = _SIDES[e["side"]]
        if not (
            type(asset) is str
            and asset
            and type(p) is str
            and type(s) is str
            and type(bb) is str
            and type(ba) is str
        ):
            return None
        price = _PRICES.get(p) or _valid_price(p)
        if price is None:
            return None
        size = Decimal(s)
        if not (size.is_finite() and size >= _ZERO):
            return None
        if bb:
            best_bid = _PRICES.get(bb) or _valid_price(bb)
            if best_bid is None:
                return None
            if best_bid == _ZERO:
                best_bid = None
        else:
            best_bid = None
        if ba:
            best_ask = _PRICES.get(ba) or _valid_price(ba)
            if best_ask is None:
                return None
            if best_ask == _ONE:
                best_ask = None
        else:
            best_ask = None
    except (KeyError, TypeError, InvalidOperation):
        return None
    h = e.get("hash")
    return PriceChangeEntry(
        asset, price, size, side, best_bid, best_ask, h if type(h) is str else ""
    )


def _legacy_price_change(obj: dict, market: str, ts: int | None) -> PriceChangeEvent:
    """Pre-Sept-2025 shapes: top-level asset_id with ``changes[]``, or one flat change."""
    asset = _asset(obj)
    changes = obj.get("changes")
    if changes is None:
        if "price" not in obj:
            raise ParseError("missing_field", "price_changes missing", obj)
        changes = [obj]
    elif type(changes) is not list:
        raise ParseError("bad_type", f"changes is {type(changes).__name__}", obj)
    entries = []
    for e in changes:
        if type(e) is not dict:
            raise ParseError("bad_type", f"changes entry is {type(e).__name__}", obj)
        entries.append(
            PriceChangeEntry(
                asset,
                _price(e, "price"),
                _size(e, "size"),
                _side(e),
                None,
                None,
                e.get("hash") or obj.get("hash") or "",
                top_known=False,
            )
        )
    return PriceChangeEvent(market, tuple(entries), ts, legacy=True)


def _tick_size_change(obj: dict) -> TickSizeChangeEvent:
    new_tick = _price(obj, "new_tick_size")
    if new_tick <= _ZERO:
        raise ParseError("price_out_of_range", f"new_tick_size={new_tick}", obj)
    return TickSizeChangeEvent(
        _asset(obj),
        _str(obj, "market", required=False),
        _price(obj, "old_tick_size", required=False),
        new_tick,
        _ts(obj),
    )


def _last_trade(obj: dict) -> LastTradeEvent:
    return LastTradeEvent(
        _asset(obj),
        _str(obj, "market", required=False),
        _price(obj, "price"),
        _num(obj, "size", required=False),
        _side(obj, required=False),
        _num(obj, "fee_rate_bps", required=False),
        _ts(obj),
    )


def _best_bid_ask(obj: dict) -> BestBidAskEvent:
    return BestBidAskEvent(
        _asset(obj),
        _str(obj, "market", required=False),
        _top_bid(obj),
        _top_ask(obj),
        _num(obj, "spread", required=False),
        _ts(obj),
    )


def _ids(obj: dict, key: str) -> tuple[str, ...]:
    v = obj.get(key)
    if v is None:
        return ()
    if type(v) is str:  # Gamma-style JSON-encoded list
        try:
            v = json.loads(v)
        except ValueError:
            raise ParseError("bad_type", f"{key} is not a list", obj) from None
    if type(v) is not list or not all(type(x) is str for x in v):
        raise ParseError("bad_type", f"{key} is not a list of strings", obj)
    return tuple(v)


def _new_market(obj: dict) -> NewMarketEvent:
    assets = _ids(obj, "assets_ids") or _ids(obj, "clob_token_ids")
    return NewMarketEvent(
        _str(obj, "market", required=False) or _str(obj, "condition_id", required=False),
        assets,
        _ids(obj, "outcomes"),
        _str(obj, "question", required=False),
        _str(obj, "slug", required=False),
        _price(obj, "order_price_min_tick_size", required=False),
        _ts(obj),
    )


def _market_resolved(obj: dict) -> MarketResolvedEvent:
    return MarketResolvedEvent(
        _str(obj, "market", required=False) or _str(obj, "condition_id", required=False),
        _ids(obj, "assets_ids") or _ids(obj, "clob_token_ids"),
        _str(obj, "winning_asset_id", required=False),
        _str(obj, "winning_outcome", required=False),
        _ts(obj),
    )


_PARSERS: dict[str, Callable[[dict], MarketEvent]] = {
    "price_change": _price_change,
    "book": parse_rest_book,
    "tick_size_change": _tick_size_change,
    "last_trade_price": _last_trade,
    "best_bid_ask": _best_bid_ask,
    "new_market": _new_market,
    "market_resolved": _market_resolved,
}


def parse_event(obj: Any) -> MarketEvent:
    """One decoded JSON object -> one event."""
    if type(obj) is not dict:
        raise ParseError("bad_frame", f"event is {type(obj).__name__}", obj)
    et = obj.get("event_type")
    parser = _PARSERS.get(et) if type(et) is str else None
    if parser is None:
        if et is None:
            raise ParseError("missing_field", "event_type missing", obj)
        raise ParseError("unknown_event", f"event_type={et!r}"[:80], obj)
    try:
        return parser(obj)
    except ParseError:
        raise
    except (
        TypeError,
        ValueError,
        AttributeError,
        KeyError,
    ) as exc:  # a shape the readers did not foresee
        raise ParseError("bad_type", f"{et}: {exc!r}"[:120], obj) from None


def parse_frame(text: str | bytes, errors: list | None = None) -> list[MarketEvent]:
    """One WebSocket text frame -> events, in order.

    Raises ParseError for a frame that is not JSON (or not an object/array). For a bad event inside
    the frame: raises, unless ``errors`` is a list, in which case the ParseError is appended there
    and the frame's other events are still returned.
    """
    if not text or text.isspace():
        return []
    try:
        data = _decode_str(text) if type(text) is str else json.loads(text)
    except (ValueError, RecursionError):
        raise ParseError("bad_json", "not JSON", text) from None
    if type(data) is dict:
        if errors is None:
            return [parse_event(data)]
        try:
            return [parse_event(data)]
        except ParseError as exc:
            errors.append(exc)
            return []
    if type(data) is not list:
        raise ParseError("bad_frame", f"frame is {type(data).__name__}", text)
    out = []
    for item in data:
        if errors is None:
            out.append(parse_event(item))
            continue
        try:
            out.append(parse_event(item))
        except ParseError as exc:
            errors.append(exc)
    return out
