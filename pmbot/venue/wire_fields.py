"""Field readers for market-channel messages: venue text in, typed values out, or ``ParseError``.

Venue quirks handled here: numbers are strings (``"0.48"``, docs also show ``".48"``); JSON numbers
are accepted too, floats via ``repr`` so 0.1 stays 0.1; bools, NaN and infinities are rejected; an
empty side in ``best_bid``/``best_ask`` is reported as ``"0"`` / ``"1"`` or ``""``: read as None.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any, Literal, cast, overload

from pmbot.errors import PmbotError
from pmbot.model import Level, Side

ZERO = Decimal(0)
ONE = Decimal(1)
SIDES = {"BUY": Side.BUY, "SELL": Side.SELL, "buy": Side.BUY, "sell": Side.SELL}
_SAMPLE_CHARS = 200


class ParseError(PmbotError, ValueError):
    """A market-channel message could not be understood. ``kind`` is a short stable label:
    bad_json, bad_frame, unknown_event, missing_field, bad_type, bad_number, price_out_of_range,
    bad_side, negative_size."""

    def __init__(self, kind: str, detail: str, sample: Any = "") -> None:
        text = sample if isinstance(sample, str) else repr(sample)
        super().__init__(f"{kind}: {detail}")
        self.kind = kind
        self.detail = detail
        self.sample = text[:_SAMPLE_CHARS]


@overload
def num(obj: dict, key: str, *, required: Literal[True] = ...) -> Decimal: ...
@overload
def num(obj: dict, key: str, *, required: bool) -> Decimal | None: ...


def num(obj: dict, key: str, *, required: bool = True) -> Decimal | None:
    """A finite Decimal from a venue string (or a JSON number); missing/empty: None, or an error
    when required."""
    v = obj.get(key)
    t = type(v)
    if t is str:
        if not v:
            if required:
                raise ParseError("missing_field", f"{key} is empty", obj)
            return None
        try:
            d = Decimal(v)
        except InvalidOperation:
            raise ParseError("bad_number", f"{key}={v[:40]!r}", obj) from None
    elif t is int:
        d = Decimal(cast(int, v))
    elif t is float:
        d = Decimal(repr(v))
    elif v is None:
        if required:
            raise ParseError("missing_field", f"{key} missing", obj)
        return None
    else:
        raise ParseError("bad_type", f"{key} is {t.__name__}", obj)
    if not d.is_finite():
        raise ParseError("bad_number", f"{key}={v!r}", obj)
    return d


@overload
def price(obj: dict, key: str, *, required: Literal[True] = ...) -> Decimal: ...
@overload
def price(obj: dict, key: str, *, required: bool) -> Decimal | None: ...
def price(obj: dict, key: str, *, required: bool = True) -> Decimal | None:
    d = num(obj, key, required=required)
    if d is not None and (d < ZERO or d > ONE):
        raise ParseError("price_out_of_range", f"{key}={d}", obj)
    return d


def size(obj: dict, key: str) -> Decimal:
    d = num(obj, key)
    if d < ZERO:
        raise ParseError("negative_size", f"{key}={d}", obj)
    return d


def text(obj: dict, key: str, *, required: bool = True) -> str:
    v = obj.get(key)
    if type(v) is str and (v or not required):
        return v
    if v is None:
        if required:
            raise ParseError("missing_field", f"{key} missing", obj)
        return ""
    if type(v) is int and not required:
        return str(v)
    if type(v) is str:
        raise ParseError("missing_field", f"{key} is empty", obj)
    raise ParseError("bad_type", f"{key} is {type(v).__name__}", obj)


def asset(obj: dict, key: str = "asset_id") -> str:
    v = obj.get(key)
    if type(v) is str and v:
        return v
    if type(v) is int:  # token ids are decimal strings; tolerate a JSON number
        return str(v)
    if v is None or v == "":
        raise ParseError("missing_field", f"{key} missing", obj)
    raise ParseError("bad_type", f"{key} is {type(v).__name__}", obj)


@overload
def side(obj: dict, key: str = ..., *, required: Literal[True] = ...) -> Side: ...
@overload
def side(obj: dict, key: str = ..., *, required: bool) -> Side | None: ...
def side(obj: dict, key: str = "side", *, required: bool = True) -> Side | None:
    v = obj.get(key)
    found = SIDES.get(v) if type(v) is str else None
    if found is not None:
        return found
    if v is None and not required:
        return None
    if v is None:
        raise ParseError("missing_field", f"{key} missing", obj)
    raise ParseError("bad_side", f"{key}={v!r}", obj)


def timestamp_ms(obj: dict) -> int | None:
    v = obj.get("timestamp")
    if type(v) is str and v.isdigit():
        return int(v)
    if type(v) is int:
        return v
    return None  # ISO strings in doc examples; the timestamp is informational only


def top_bid(obj: dict) -> Decimal | None:
    d = price(obj, "best_bid", required=False)
    return None if d is None or d == ZERO else d


def top_ask(obj: dict) -> Decimal | None:
    d = price(obj, "best_ask", required=False)
    return None if d is None or d == ONE else d


def levels(obj: dict, key: str) -> tuple[Level, ...]:
    raw = obj.get(key)
    if raw is None:
        raise ParseError("missing_field", f"{key} missing", obj)
    if type(raw) is not list:
        raise ParseError("bad_type", f"{key} is {type(raw).__name__}", obj)
    out: list[Level] = []
    for lvl in raw:
        if type(lvl) is not dict:
            raise ParseError("bad_type", f"{key} level is {type(lvl).__name__}", obj)
        out.append((price(lvl, "price"), size(lvl, "size")))
    return tuple(out)
