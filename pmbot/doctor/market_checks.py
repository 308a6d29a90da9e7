"""Each configured market: exists, accepts orders, tick, minimum size, neg-risk, fee, end date; a
book on the market WebSocket within a few seconds; the user channel accepts the API key."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from pmbot.config import Config
from pmbot.doctor.report import Result, failed, passed, warned
from pmbot.doctor.ws_probe import UserChannel, books_seen
from pmbot.errors import PmbotError
from pmbot.model import MarketInfo
from pmbot.venue import markets as venue_markets
from pmbot.venue.auth import ApiCreds
from pmbot.venue.rest import ClobRest

BOOK_WAIT_SECS = 5.0


def _resolve(cfg: Config, rest: ClobRest, i: int) -> MarketInfo:
    ref = cfg.markets[i]
    if ref.slug:
        return venue_markets.resolve_market_slug(cfg.venue.gamma_url, ref.slug)
    return venue_markets.market_info_from_token(rest, ref.yes_token, ref.no_token)


def _describe(m: MarketInfo, detail: dict) -> str:
    end = (
        datetime.fromtimestamp(m.end_date_ts, UTC).strftime("%Y-%m-%d %H:%M UTC")
        if m.end_date_ts
        else "unknown"
    )
    return (
        f"{m.slug or m.condition_id}: tick {m.tick}, min size {m.min_size}, "
        f"neg-risk {str(m.neg_risk).lower()}, fee rate {m.fee_rate}, ends {end}, "
        f"accepting orders {str(bool(detail.get('accepting_orders', True))).lower()}"
    )


def check_market(cfg: Config, rest: ClobRest, i: int) -> tuple[Result, MarketInfo | None]:
    name = f"markets[{i}]"
    try:
        m = _resolve(cfg, rest, i)
    except PmbotError as exc:
        return (
            failed(
                name,
                f"not found on the venue: {exc}",
                f"fix markets[{i}]: copy the YES/NO token ids (or the slug) from the market",
            ),
            None,
        )
    try:
        detail = rest.market(m.condition_id)
    except PmbotError:
        detail = {}
    detail = detail if isinstance(detail, dict) else {}
    text = _describe(m, detail)
    if detail.get("closed") or detail.get("accepting_orders") is False:
        return failed(name, text, f"the market does not take orders: remove markets[{i}]"), m
    if m.end_date_ts is not None and m.end_date_ts < time.time():
        return warned(name, text, "its end date has passed: it may resolve any time"), m
    return passed(name, text), m


def check_books(cfg: Config, markets: list[MarketInfo]) -> Result:
    tokens = [m.yes_token for m in markets]
    name = "market channel"
    if not tokens:
        return failed(name, "no market to subscribe", "configure markets")
    try:
        seen = books_seen(cfg.venue.market_ws_url, tokens, BOOK_WAIT_SECS)
    except (OSError, Exception) as exc:  # websocket-client raises its own exception types
        return failed(
            name,
            f"{cfg.venue.market_ws_url}: {type(exc).__name__}: {exc}",
            "check venue.market_ws_url",
        )
    missing = [t for t in tokens if t not in seen]
    if missing:
        return failed(
            name,
            f"no book within {BOOK_WAIT_SECS:g} s for {len(missing)} token(s): {missing[0]}...",
            "check the token ids in markets and venue.market_ws_url",
        )
    return passed(name, f"a book for each of {len(tokens)} market(s) within {BOOK_WAIT_SECS:g} s")


def check_user_channel(cfg: Config, creds: ApiCreds) -> Result:
    name = "user channel"
    try:
        chan = UserChannel(cfg.venue.user_ws_url, creds, [], BOOK_WAIT_SECS)
    except (OSError, Exception) as exc:  # websocket-client raises its own exception types
        return failed(
            name, f"{cfg.venue.user_ws_url}: {type(exc).__name__}", "check venue.user_ws_url"
        )
    try:
        ok = chan.still_open(1.5)
    finally:
        chan.close()
    if not ok:
        return failed(name, "the venue closed the connection after auth", "re-derive the API key")
    return passed(name, "authenticated with the API key")
