"""Market lookup: Gamma slugs and CLOB condition ids -> ``MarketInfo`` / ``EventInfo``.

Venue quirks handled here (protocol reference 1.4 and 5):

- Gamma's ``outcomes`` and ``clobTokenIds`` are JSON-encoded *strings* inside the JSON, in the same
  order.
- Outcomes are not always "Yes"/"No" (sports markets name teams); the first outcome is taken as YES
  then.
- Gamma ``version: "v2"`` markets (Protocol V2, position ids, ExchangeV3) are not tradeable by this
  bot.
- A market is tradeable only when ``enableOrderBook && acceptingOrders && !closed``.
- ``/clob-markets/{cid}`` is compact: ``t`` tokens (``t`` id, ``o`` outcome), ``mts`` tick, ``mos``
  min size, ``fd`` taker fee (``r`` rate, ``e`` exponent), and ``nr`` (neg risk) is OMITTED when
  false.
- Gamma's ``orderPriceMinTickSize`` is the tick at listing time and its ``feeSchedule`` may be
  missing on a market that charges fees: the CLOB's tick and ``fd`` are authoritative
  (``with_clob_facts``), Gamma's fee only a fallback, and a fee neither source gives is UNKNOWN
  (``MarketInfo.fee_known`` False: cost models assume the worst case, never zero).
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import Any, Protocol

import requests

from pmbot import rewards
from pmbot.errors import FatalError, TransientError
from pmbot.fees import (
    ZERO_FEE_GAMMA,
    FeeDataError,
    FeeSchedule,
    FeeState,
    UnknownFee,
    resolve_fee,
    schedule_from_fd,
    schedule_from_gamma,
)
from pmbot.model import ZERO, EventInfo, MarketInfo, dec


class MarketsRest(Protocol):
    """The CLOB reads market discovery needs (``pmbot.venue.rest.ClobRest`` provides them)."""

    def clob_market(self, condition_id: str) -> Any: ...

    def market(self, condition_id: str) -> Any: ...

    def get_book(self, token_id: str) -> Any: ...

    def list_markets(self) -> Any: ...


log = logging.getLogger(__name__)

TIMEOUT = (3.05, 10.0)


def _get_json(session: requests.Session | None, url: str, what: str) -> Any:
    http = session or requests
    try:
        response = http.get(url, timeout=TIMEOUT)
    except requests.exceptions.RequestException as exc:
        raise TransientError(f"{what}: request failed ({type(exc).__name__})") from None
    if response.status_code == 404:
        raise FatalError(f"{what}: not found")
    if response.status_code in (425, 429) or response.status_code >= 500:
        raise TransientError(f"{what}: HTTP {response.status_code}", status=response.status_code)
    if not response.ok:
        raise FatalError(f"{what}: HTTP {response.status_code}")
    try:
        return response.json()
    except ValueError:
        raise TransientError(f"{what}: malformed JSON") from None


def _json_list(value: Any, field: str, slug: str) -> list:
    """Gamma sends lists as JSON-encoded strings; accept a real list too."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise FatalError(f"market {slug}: {field} is not valid JSON") from None
    if not isinstance(value, list):
        raise FatalError(f"market {slug}: {field} missing")
    return [str(v) for v in value]


def _iso_to_ts(value: Any) -> float | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def _yes_no(outcomes: list[str], tokens: list[str], where: str) -> tuple[str, str]:
    if len(tokens) != 2 or len(outcomes) != 2:
        raise FatalError(f"{where}: expected 2 outcome tokens, got {len(tokens)}")
    labels = [o.strip().lower() for o in outcomes]
    if labels == ["no", "yes"]:
        return tokens[1], tokens[0]
    return tokens[0], tokens[1]


def market_from_gamma(
    m: dict, *, event_slug: str = "", require_tradeable: bool = True
) -> MarketInfo:
    """One Gamma market object -> MarketInfo (see the module docstring for the quirks)."""
    slug = str(m.get("slug", ""))
    if str(m.get("version", "v1")) == "v2":
        raise FatalError(f"market {slug}: Protocol V2 markets (position ids) are not supported")
    if require_tradeable and not (
        m.get("enableOrderBook") and m.get("acceptingOrders") and not m.get("closed")
    ):
        raise FatalError(
            f"market {slug}: not tradeable (enableOrderBook/acceptingOrders false or closed)"
        )
    outcomes = _json_list(m.get("outcomes"), "outcomes", slug)
    tokens = _json_list(m.get("clobTokenIds"), "clobTokenIds", slug)
    yes, no = _yes_no(outcomes, tokens, f"market {slug}")
    events = m.get("events") or []
    if not event_slug and m.get("negRisk") and events and isinstance(events[0], dict):
        event_slug = str(events[0].get("slug", ""))
    info = MarketInfo(
        condition_id=str(m["conditionId"]),
        yes_token=yes,
        no_token=no,
        tick=dec(m.get("orderPriceMinTickSize", "0.01")),
        min_size=dec(m.get("orderMinSize", 5)),
        neg_risk=bool(m.get("negRisk", False)),
        slug=slug,
        question=str(m.get("question", "")),
        end_date_ts=_iso_to_ts(m.get("endDate")),
        event_slug=event_slug,
        outcome_label=str(m.get("groupItemTitle", "") or ""),
        **fee_fields(resolve_fee(None, _gamma_schedule(m, slug))),
    )
    return rewards.with_venue_rewards(info, gamma=m)


def fee_fields(state: FeeState) -> dict[str, Any]:
    """``MarketInfo`` fee fields of a resolved fee state (unknown: not known, never zero)."""
    if isinstance(state, UnknownFee):
        return {"fee_rate": ZERO, "fee_exponent": 1, "fee_known": False}
    return {"fee_rate": state.rate, "fee_exponent": state.exponent, "fee_known": True}


def _gamma_schedule(m: dict, slug: str) -> FeeSchedule | None:
    if m.get("feesEnabled") is False:
        return ZERO_FEE_GAMMA
    try:
        return schedule_from_gamma(m)
    except FeeDataError as exc:
        log.warning("market %s: unreadable Gamma feeSchedule (%s); fee unknown", slug, exc)
        return None


def _fd_schedule(info: Any, condition_id: str) -> FeeSchedule | None:
    try:
        return schedule_from_fd(info.get("fd") if isinstance(info, dict) else None)
    except FeeDataError as exc:
        log.warning("market %s: unreadable fd (%s); fee from Gamma or unknown", condition_id, exc)
        return None


def with_clob_facts(rest: MarketsRest, info: MarketInfo) -> MarketInfo:
    """A Gamma-resolved market with the CLOB's tick, minimum size and fee (``/clob-markets``):
    Gamma's tick is the listing-time one and its feeSchedule may be missing. Gamma's fee stays
    only when the CLOB has no ``fd``."""
    compact = rest.clob_market(info.condition_id)
    if not isinstance(compact, dict):
        raise FatalError(f"market {info.condition_id}: /clob-markets answer is not an object")
    gamma = FeeSchedule(info.fee_rate, info.fee_exponent, True, "gamma") if info.fee_known else None
    fields = {
        **_fields(info),
        **fee_fields(resolve_fee(_fd_schedule(compact, info.condition_id), gamma)),
    }
    if compact.get("mts") is not None:
        fields["tick"] = dec(compact["mts"])
    if compact.get("mos") is not None:
        fields["min_size"] = dec(compact["mos"])
    return MarketInfo(**fields)


def resolve_market_slug(
    gamma_url: str, slug: str, *, session: requests.Session | None = None
) -> MarketInfo:
    """Gamma ``GET /markets/slug/{slug}`` (the slug in a polymarket.com URL)."""
    body = _get_json(
        session, f"{gamma_url.rstrip('/')}/markets/slug/{slug}", f"market slug {slug!r}"
    )
    if isinstance(body, list):  # some deployments answer the filter form with a list
        if not body:
            raise FatalError(f"market slug {slug!r}: not found")
        body = body[0]
    return market_from_gamma(body)


def resolve_event(
    gamma_url: str, slug: str, *, session: requests.Session | None = None
) -> EventInfo:
    """Gamma ``GET /events/slug/{slug}``: a multi-outcome event with one binary market per outcome.
    Closed or non-tradeable outcome markets are left out (and logged)."""
    body = _get_json(session, f"{gamma_url.rstrip('/')}/events/slug/{slug}", f"event slug {slug!r}")
    raw_markets = body.get("markets") if isinstance(body, dict) else None
    if not isinstance(raw_markets, list) or not raw_markets:
        raise FatalError(f"event {slug!r}: no markets")
    markets = []
    for m in raw_markets:
        try:
            markets.append(market_from_gamma(m, event_slug=slug))
        except FatalError as exc:
            log.warning("event %s: skipping a market: %s", slug, exc)
    if not markets:
        raise FatalError(f"event {slug!r}: no tradeable markets")
    return EventInfo(
        slug=slug,
        markets=tuple(markets),
        neg_risk=bool(body.get("negRisk", body.get("enableNegRisk", True))),
        neg_risk_augmented=bool(body.get("negRiskAugmented", False)),
    )


def market_from_clob_info(condition_id: str, info: dict, detail: dict | None = None) -> MarketInfo:
    """``/clob-markets/{cid}`` compact info (+ optional ``/markets/{cid}`` for text fields) ->
    MarketInfo."""
    tokens = info.get("t") or []
    ids = [str(t["t"]) for t in tokens if isinstance(t, dict) and "t" in t]
    labels = [str(t.get("o", "")) for t in tokens if isinstance(t, dict) and "t" in t]
    yes, no = _yes_no(labels, ids, f"market {condition_id}")
    detail = detail or {}
    market = MarketInfo(
        condition_id=condition_id,
        yes_token=yes,
        no_token=no,
        tick=dec(info.get("mts", "0.01")),
        min_size=dec(info.get("mos", 5)),
        neg_risk=bool(info.get("nr", False)),
        slug=str(detail.get("market_slug", "")),
        question=str(detail.get("question", "")),
        end_date_ts=_iso_to_ts(detail.get("end_date_iso")),
        **fee_fields(resolve_fee(_fd_schedule(info, condition_id), None)),
    )
    return rewards.with_venue_rewards(market, detail.get("rewards"), info.get("r"))


def market_info_from_clob(rest: MarketsRest, condition_id: str) -> MarketInfo:
    """CLOB ``/clob-markets/{cid}`` for tokens, tick, size, fees and neg-risk, plus
    ``/markets/{cid}`` for text."""
    info = rest.clob_market(condition_id)
    try:
        detail = rest.market(condition_id)
    except (
        TransientError,
        FatalError,
    ) as exc:  # text only; the trading facts came from /clob-markets
        log.info("market %s: no /markets detail (%s)", condition_id, exc)
        detail = None
    except Exception as exc:  # noqa: BLE001 - a RejectedError (404) here is not fatal either
        log.info("market %s: no /markets detail (%s)", condition_id, type(exc).__name__)
        detail = None
    return market_from_clob_info(condition_id, info, detail if isinstance(detail, dict) else None)


def market_info_from_token(rest: MarketsRest, yes_token: str, no_token: str) -> MarketInfo:
    """A configured YES/NO token pair -> MarketInfo (condition id from the token's book)."""
    book = rest.get_book(yes_token)
    condition_id = str(book.get("market", "")) if isinstance(book, dict) else ""
    if not condition_id:
        raise FatalError(f"token {yes_token}: the venue did not name its market")
    info = market_info_from_clob(rest, condition_id)
    if {info.yes_token, info.no_token} != {yes_token, no_token}:
        raise FatalError(
            f"tokens {yes_token}/{no_token} are not the two outcomes of market {condition_id}"
        )
    if info.yes_token != yes_token:  # the config says which one is YES
        info = MarketInfo(**{**_fields(info), "yes_token": yes_token, "no_token": no_token})
    return info


def _fields(info: MarketInfo) -> dict:
    return {name: getattr(info, name) for name in info.__slots__}


def market_from_listing(row: dict) -> MarketInfo | None:
    """One ``GET /markets`` row -> MarketInfo, or None when it is not tradeable or malformed."""
    if row.get("closed") or row.get("archived") or row.get("active") is False:
        return None
    if row.get("accepting_orders") is False or row.get("enable_order_book") is False:
        return None
    tokens = row.get("tokens") or []
    try:
        ids = [str(t["token_id"]) for t in tokens]
        labels = [str(t.get("outcome", "")) for t in tokens]
        yes, no = _yes_no(labels, ids, f"market {row.get('condition_id')}")
        info = MarketInfo(
            condition_id=str(row["condition_id"]),
            yes_token=yes,
            no_token=no,
            tick=dec(row.get("minimum_tick_size", "0.01")),
            min_size=dec(row.get("minimum_order_size", 5)),
            neg_risk=bool(row.get("neg_risk", False)),
            fee_rate=dec(row["taker_fee_rate"]) if row.get("taker_fee_rate") is not None else ZERO,
            fee_known=row.get("taker_fee_rate") is not None,  # else list_clob_markets' fd
            slug=str(row.get("market_slug", "")),
            question=str(row.get("question", "")),
            end_date_ts=_iso_to_ts(row.get("end_date_iso")),
        )
        return rewards.with_venue_rewards(info, row.get("rewards"))
    except (KeyError, TypeError, ValueError, ArithmeticError, FatalError) as exc:
        log.warning("skipping malformed market row %s: %s", row.get("condition_id"), exc)
        return None


def list_clob_markets(rest: MarketsRest, *, with_fees: bool = True) -> list[MarketInfo]:
    """Every tradeable binary market of the CLOB listing (all pages). With ``with_fees`` each
    market's fee rate comes from ``/clob-markets/{cid}`` (one request per market: meant for the
    simulator's few markets, not the live venue's thousands)."""
    out: list[MarketInfo] = []
    for row in rest.list_markets():
        info = market_from_listing(row)
        if info is None:
            continue
        if with_fees:
            compact = rest.clob_market(info.condition_id)
            compact = compact if isinstance(compact, dict) else {}
            info = MarketInfo(
                **{
                    **_fields(info),
                    **fee_fields(resolve_fee(_fd_schedule(compact, info.condition_id), None)),
                    "neg_risk": bool(compact.get("nr", info.neg_risk)),
                }
            )
        out.append(info)
    return out
