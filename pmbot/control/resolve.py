"""MARKET on the command line: a slug or a condition id (or an unambiguous prefix of one)."""

from __future__ import annotations

from collections.abc import Iterable

from pmbot.model import MarketInfo

MIN_PREFIX = 8  # "0x" + 6 hex digits


class UnknownMarket(LookupError):
    """The text names no configured market, or more than one (the message lists candidates)."""


def resolve_market(text: str, markets: Iterable[MarketInfo]) -> MarketInfo:
    key = text.strip()
    if not key:
        raise UnknownMarket("no market given")
    known = list(markets)
    for m in known:
        if m.slug and m.slug == key:
            return m
    low = key.lower()
    for m in known:
        if m.condition_id.lower() == low:
            return m
    if len(low) >= MIN_PREFIX:
        hits = [m for m in known if m.condition_id.lower().startswith(low)]
        if len(hits) == 1:
            return hits[0]
        if len(hits) > 1:
            names = ", ".join(m.slug or m.condition_id for m in hits[:5])
            raise UnknownMarket(f"{key!r} matches {len(hits)} markets ({names}): give more of it")
    names = ", ".join(m.slug or m.condition_id[:12] for m in known[:10]) or "none configured"
    raise UnknownMarket(f"no market {key!r} (slug or condition id); markets: {names}")
