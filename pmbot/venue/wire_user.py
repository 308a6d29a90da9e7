"""Pure parsing of the user channel and of the private REST order/trade rows.

Everything here turns venue JSON into ``pmbot.model`` messages and does nothing else: no I/O, no
logging, no state. A malformed message raises ``UserWireError`` (a ``ValueError``); callers count
and skip it, they never let it kill a thread.

Venue quirks handled here (protocol reference sections 1.8 and 3):

- The user channel may send one object or a JSON array of objects per frame.
- Order events carry ``type`` PLACEMENT / UPDATE / CANCELLATION; ``size_matched`` is cumulative.
- Trade events carry ``type: "TRADE"`` and describe the *taker* order at top level; the bot's maker
  participation shows only in ``maker_orders[]``. The same trade id is re-sent on each status
  change.
- REST ``/data/trades`` rows have the trade-event fields but no ``event_type``; REST
  ``/data/orders`` rows are open orders without ``type``.
- Timestamps arrive as seconds or milliseconds, as strings or numbers; both become float seconds.
- ``matchtime`` (WS, documented) and ``match_time`` (REST, newer WS) are the same field.
- Numbers may be strings or JSON numbers; floats go through ``repr`` so 0.1 stays 0.1.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from typing import Any

from pmbot.model import (
    ZERO,
    MakerOrderEntry,
    OpenOrder,
    OrderEvent,
    OrderEventKind,
    Side,
    TradeEvent,
    TradeStatus,
    dec,
)
from pmbot.venue.wire_clob import ClobWireError, parse_timestamp

UserMessage = OrderEvent | TradeEvent


class UserWireError(ValueError):
    """A user-channel or REST row could not be parsed. ``kind`` is a bounded label for metrics."""

    def __init__(self, message: str, kind: str = "user_malformed") -> None:
        super().__init__(message)
        self.kind = kind


# --------------------------------------------------------------------------- field helpers


def _req(d: dict, key: str) -> Any:
    try:
        value = d[key]
    except KeyError:
        raise UserWireError(f"missing field {key!r}") from None
    if value is None:
        raise UserWireError(f"field {key!r} is null")
    return value


def _str(d: dict, key: str) -> str:
    value = _req(d, key)
    if not isinstance(value, str) or not value:
        raise UserWireError(f"field {key!r} is not a non-empty string")
    return value


def _decimal(value: Any, key: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (str, int, float, Decimal)):
        raise UserWireError(f"field {key!r} is not a number")
    try:
        result = dec(value)
    except (InvalidOperation, ValueError):
        raise UserWireError(f"field {key!r} is not a decimal: {value!r}") from None
    if not result.is_finite() or result < 0:
        raise UserWireError(f"field {key!r} is not a finite non-negative decimal: {value!r}")
    return result


def _dec_field(d: dict, key: str) -> Decimal:
    return _decimal(_req(d, key), key)


def _opt_dec(d: dict, key: str, default: Decimal = ZERO) -> Decimal:
    value = d.get(key)
    if value is None or value == "":
        return default
    return _decimal(value, key)


def _side(value: Any, key: str = "side") -> Side:
    if not isinstance(value, str):
        raise UserWireError(f"field {key!r} is not a side")
    upper = value.upper()
    if upper in ("BUY", "0"):
        return Side.BUY
    if upper in ("SELL", "1"):
        return Side.SELL
    raise UserWireError(f"field {key!r} is not BUY/SELL: {value!r}")


def parse_ts(value: Any) -> float:
    """Seconds or milliseconds (string or number) or an RFC 3339 string, to float seconds;
    missing or empty gives 0.0 (``wire_clob.parse_timestamp``: the venue sends both forms)."""
    try:
        return parse_timestamp(value)
    except ClobWireError as exc:
        raise UserWireError(str(exc)) from None


def _first_ts(d: dict, *keys: str) -> float:
    for key in keys:
        ts = parse_ts(d.get(key))
        if ts:
            return ts
    return 0.0


# --------------------------------------------------------------------------- orders


def parse_order_event(d: dict) -> OrderEvent:
    """A user-channel ``event_type: "order"`` object."""
    if not isinstance(d, dict):
        raise UserWireError("order event is not an object")
    kind_raw = _str(d, "type").upper()
    try:
        kind = OrderEventKind(kind_raw)
    except ValueError:
        raise UserWireError(f"unknown order event type {kind_raw!r}", "user_unknown_type") from None
    status = d.get("status") or ""
    if not isinstance(status, str):
        raise UserWireError("order status is not a string")
    owner = d.get("owner") or d.get("order_owner") or ""
    return OrderEvent(
        order_id=_str(d, "id"),
        market=_str(d, "market"),
        token_id=_str(d, "asset_id"),
        side=_side(_req(d, "side")),
        price=_dec_field(d, "price"),
        original_size=_dec_field(d, "original_size"),
        size_matched=_opt_dec(d, "size_matched"),
        kind=kind,
        status=status.upper(),
        owner=str(owner),
        ts=_first_ts(d, "timestamp", "created_at"),
    )


def parse_open_order(d: dict) -> OpenOrder:
    """A ``GET /data/orders`` row (only live orders are listed)."""
    if not isinstance(d, dict):
        raise UserWireError("open order row is not an object")
    status = d.get("status") or "LIVE"
    order_type = d.get("order_type") or "GTC"
    if not isinstance(status, str) or not isinstance(order_type, str):
        raise UserWireError("open order status/order_type is not a string")
    return OpenOrder(
        order_id=_str(d, "id"),
        market=_str(d, "market"),
        token_id=_str(d, "asset_id"),
        side=_side(_req(d, "side")),
        price=_dec_field(d, "price"),
        original_size=_dec_field(d, "original_size"),
        size_matched=_opt_dec(d, "size_matched"),
        status=status.upper(),
        order_type=order_type.upper(),
        owner=str(d.get("owner") or ""),
    )


# --------------------------------------------------------------------------- trades


def _parse_maker_entry(d: Any) -> MakerOrderEntry:
    if not isinstance(d, dict):
        raise UserWireError("maker_orders entry is not an object")
    side_raw = d.get("side")
    outcome = d.get("outcome") or ""
    return MakerOrderEntry(
        order_id=_str(d, "order_id"),
        owner=str(d.get("owner") or ""),
        token_id=_str(d, "asset_id"),
        price=_dec_field(d, "price"),
        matched_amount=_dec_field(d, "matched_amount"),
        side=_side(side_raw, "maker_orders[].side") if side_raw not in (None, "") else None,
        outcome=str(outcome),
    )


def parse_trade(d: dict) -> TradeEvent:
    """A user-channel ``event_type: "trade"`` object or a ``GET /data/trades`` row (same fields)."""
    if not isinstance(d, dict):
        raise UserWireError("trade is not an object")
    status_raw = _str(d, "status").upper()
    try:
        status = TradeStatus(status_raw)
    except ValueError:
        raise UserWireError(f"unknown trade status {status_raw!r}", "user_unknown_status") from None
    makers_raw = d.get("maker_orders") or []
    if not isinstance(makers_raw, list):
        raise UserWireError("maker_orders is not a list")
    trader_side = d.get("trader_side") or ""
    if not isinstance(trader_side, str):
        raise UserWireError("trader_side is not a string")
    owner = d.get("owner") or d.get("trade_owner") or ""
    return TradeEvent(
        trade_id=_str(d, "id"),
        market=_str(d, "market"),
        token_id=_str(d, "asset_id"),
        side=_side(_req(d, "side")),
        price=_dec_field(d, "price"),
        size=_dec_field(d, "size"),
        status=status,
        taker_order_id=str(d.get("taker_order_id") or ""),
        owner=str(owner),
        maker_orders=tuple(_parse_maker_entry(m) for m in makers_raw),
        fee_rate_bps=_opt_dec(d, "fee_rate_bps"),
        trader_side=trader_side.upper(),
        ts=_first_ts(d, "match_time", "matchtime", "timestamp", "last_update"),
    )


# --------------------------------------------------------------------------- frames


def parse_user_object(d: Any) -> UserMessage | None:
    """One decoded user-channel object; ``None`` for event types the bot does not use."""
    if not isinstance(d, dict):
        raise UserWireError("user message is not an object")
    event_type = d.get("event_type")
    if event_type == "order":
        return parse_order_event(d)
    if event_type == "trade":
        return parse_trade(d)
    if event_type is None:
        raise UserWireError("user message has no event_type", "user_no_event_type")
    return None


def parse_user_frame(text: str) -> tuple[list[UserMessage], list[UserWireError]]:
    """A text frame from the user channel: the parsed messages and the errors of the ones skipped.

    A frame is one object or an array of objects; one bad element does not lose the others.
    ``PONG`` and empty frames give nothing.
    """
    stripped = text.strip()
    if not stripped or stripped.upper() == "PONG":
        return [], []
    try:
        decoded = json.loads(stripped)
    except ValueError:
        return [], [UserWireError("frame is not JSON", "user_not_json")]
    items: Iterable[Any] = decoded if isinstance(decoded, list) else [decoded]
    messages: list[UserMessage] = []
    errors: list[UserWireError] = []
    for item in items:
        try:
            message = parse_user_object(item)
        except UserWireError as exc:
            errors.append(exc)
            continue
        if message is not None:
            messages.append(message)
    return messages, errors


def parse_rows(rows: Any, parse) -> tuple[list, list[UserWireError]]:
    """Parse a REST list (``/data/orders`` or ``/data/trades``) row by row, skipping bad rows."""
    if not isinstance(rows, list):
        return [], [UserWireError("REST rows are not a list", "rest_malformed")]
    parsed: list = []
    errors: list[UserWireError] = []
    for row in rows:
        try:
            parsed.append(parse(row))
        except UserWireError as exc:
            errors.append(exc)
    return parsed, errors
