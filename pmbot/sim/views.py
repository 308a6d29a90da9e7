"""Venue-shaped JSON views of the simulator's markets: the CLOB market listing, the compact
``/clob-markets`` record, and Gamma's market/event objects (reference 1.4 and 5).

Pure functions of ``SimMarket``/``SimEvent`` values. Venue quirks reproduced:
- CLOB listing numbers (``minimum_tick_size``, ``minimum_order_size``, token ``price``) are JSON
  numbers, while book prices elsewhere are strings;
- Gamma ``outcomes``, ``outcomePrices`` and ``clobTokenIds`` are JSON-ENCODED STRINGS, not arrays;
- the compact ``/clob-markets`` record omits ``nr`` when the market is not neg-risk.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from pmbot.sim import rewards as sim_rewards
from pmbot.sim.paging import (  # noqa: F401  (re-exported: the REST routes page with these)
    END_CURSOR,
    INITIAL_CURSOR,
    decode_cursor,
    encode_cursor,
    paginate,
)


def num(value: Decimal) -> Any:
    """A Decimal as the JSON number the venue sends (int when integral)."""
    return int(value) if value == value.to_integral_value() else float(value)


def clob_market(m, yes_price: Decimal) -> dict:
    """One element of ``GET /markets`` (also ``/markets/{cid}`` and ``/markets-by-token``)."""
    return {
        "condition_id": m.condition_id,
        "question_id": "0x" + hashlib.sha256(m.condition_id.encode()).hexdigest(),
        "question": m.question,
        "description": m.question,
        "market_slug": m.slug,
        "active": m.active,
        "closed": m.closed,
        "archived": False,
        "accepting_orders": m.accepting_orders,
        "enable_order_book": True,
        "neg_risk": m.neg_risk,
        "neg_risk_market_id": _neg_risk_id(m) if m.neg_risk else "",
        "end_date_iso": m.end_date_iso,
        "minimum_order_size": num(m.min_size),
        "minimum_tick_size": num(m.tick),
        "maker_base_fee": 0,
        "taker_base_fee": m.fee_rate_bps,
        "tokens": [
            {"token_id": m.yes_token, "outcome": "Yes", "price": num(yes_price), "winner": False},
            {
                "token_id": m.no_token,
                "outcome": "No",
                "price": num(1 - yes_price),
                "winner": False,
            },
        ],
        "tags": [],
        "rewards": sim_rewards.clob_rewards(m),
    }


def clob_market_info(m) -> dict:
    """``GET /clob-markets/{cid}``: the compact record py_clob_client_v2 caches ticks, fees from."""
    info = {
        "gst": None,
        "r": sim_rewards.info_rewards(m),
        "t": [{"t": m.yes_token, "o": "Yes"}, {"t": m.no_token, "o": "No"}],
        "mos": num(m.min_size),
        "mts": num(m.tick),
        "mbf": 0,
        "tbf": m.fee_rate_bps,
        "rfqe": False,
        "itode": False,
        "ibce": False,
        "fd": {"r": num(m.fee_rate), "e": m.fee_exponent, "to": True},
        "oas": 0,
    }
    if m.neg_risk:
        info["nr"] = True
    return info


def _neg_risk_id(m) -> str:
    return "0x" + hashlib.sha256(f"negrisk:{m.event_slug or m.slug}".encode()).hexdigest()


def gamma_market(
    m,
    *,
    yes_bid: Decimal | None,
    yes_ask: Decimal | None,
    last: Decimal | None,
    event: dict | None = None,
) -> dict:
    """A Gamma market object (reference 5.2)."""
    mid = (yes_bid + yes_ask) / 2 if yes_bid is not None and yes_ask is not None else m.fair_value
    out = {
        "id": m.gamma_id,
        "question": m.question,
        "conditionId": m.condition_id,
        "questionID": "0x" + hashlib.sha256(m.condition_id.encode()).hexdigest(),
        "slug": m.slug,
        "endDate": m.end_date_iso,
        "startDate": "2026-01-01T00:00:00Z",
        "outcomes": json.dumps(["Yes", "No"]),
        "outcomePrices": json.dumps([str(mid), str(1 - mid)]),
        "clobTokenIds": json.dumps([m.yes_token, m.no_token]),
        "version": "v1",
        "active": m.active,
        "closed": m.closed,
        "archived": False,
        "acceptingOrders": m.accepting_orders,
        "enableOrderBook": True,
        "negRisk": m.neg_risk,
        "negRiskMarketID": _neg_risk_id(m) if m.neg_risk else None,
        "groupItemTitle": m.outcome_label,
        "orderMinSize": num(m.min_size),
        "orderPriceMinTickSize": num(m.tick),
        "secondsDelay": 0,
        "feesEnabled": m.fee_rate > 0,
        "feeType": "taker" if m.fee_rate > 0 else None,
        "bestBid": num(yes_bid) if yes_bid is not None else None,
        "bestAsk": num(yes_ask) if yes_ask is not None else None,
        "spread": num(yes_ask - yes_bid) if yes_bid is not None and yes_ask is not None else None,
        "lastTradePrice": num(last) if last is not None else None,
    }
    out.update(sim_rewards.gamma_fields(m))
    if event is not None:
        out["events"] = [event]
    if m.gamma_fee_schedule:  # missing on some fee-bearing markets (issue 13): fd is the source
        out["feeSchedule"] = {
            "exponent": m.fee_exponent,
            "rate": num(m.fee_rate),
            "takerOnly": True,
            "rebateRate": 0,
        }
    return out


def gamma_event_header(e) -> dict:
    return {
        "id": e.gamma_id,
        "ticker": e.slug,
        "slug": e.slug,
        "title": e.title,
        "active": True,
        "closed": False,
        "negRisk": True,
        "enableNegRisk": True,
        "negRiskAugmented": e.neg_risk_augmented,
    }


def gamma_event(e, markets: Iterable[dict]) -> dict:
    """``GET /events/slug/{slug}``: the event with its nested outcome markets."""
    out = gamma_event_header(e)
    out["markets"] = list(markets)
    return out
