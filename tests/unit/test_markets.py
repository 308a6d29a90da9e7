"""Market lookup from Gamma and the CLOB: JSON-in-string fields, outcome order, tradeability,
compact info."""

import json
from decimal import Decimal

import pytest
import responses

from pmbot.errors import FatalError, TransientError
from pmbot.venue.auth import ApiCreds
from pmbot.venue.markets import (
    list_clob_markets,
    market_info_from_clob,
    market_info_from_token,
    resolve_event,
    resolve_market_slug,
)
from pmbot.venue.rest import ClobRest

GAMMA = "http://gamma.test"
CLOB = "http://clob.test"
CID = "0x" + "ab" * 32


def _gamma_market(**over):
    m = {
        "id": "123",
        "conditionId": CID,
        "slug": "will-x-happen",
        "question": "Will X happen?",
        "outcomes": json.dumps(["Yes", "No"]),
        "clobTokenIds": json.dumps(["111", "222"]),
        "active": True,
        "closed": False,
        "acceptingOrders": True,
        "enableOrderBook": True,
        "negRisk": False,
        "orderMinSize": 5,
        "orderPriceMinTickSize": 0.01,
        "endDate": "2026-12-31T00:00:00Z",
        "feesEnabled": True,
        "feeSchedule": {"exponent": 1, "rate": 0.05, "takerOnly": True},
        "version": "v1",
    }
    m.update(over)
    return m


@responses.activate
def test_slug_resolves_tokens_from_json_encoded_strings():
    responses.get(GAMMA + "/markets/slug/will-x-happen", json=_gamma_market())
    info = resolve_market_slug(GAMMA, "will-x-happen")
    assert (info.condition_id, info.yes_token, info.no_token) == (CID, "111", "222")
    assert (
        info.tick == Decimal("0.01")
        and info.min_size == Decimal(5)
        and info.fee_rate == Decimal("0.05")
    )
    assert info.end_date_ts == 1798675200.0


@responses.activate
def test_slug_with_no_listed_first_still_maps_yes_correctly():
    responses.get(GAMMA + "/markets/slug/s", json=_gamma_market(outcomes='["No","Yes"]'))
    info = resolve_market_slug(GAMMA, "s")
    assert (info.yes_token, info.no_token) == ("222", "111")


@pytest.mark.parametrize(
    "over",
    [
        {"closed": True},
        {"acceptingOrders": False},
        {"enableOrderBook": False},
        {"version": "v2"},
        {"clobTokenIds": '["1"]'},
    ],
)
@responses.activate
def test_untradeable_or_unsupported_markets_are_fatal(over):
    responses.get(GAMMA + "/markets/slug/s", json=_gamma_market(**over))
    with pytest.raises(FatalError):
        resolve_market_slug(GAMMA, "s")


@responses.activate
def test_unknown_slug_is_fatal_and_5xx_is_transient():
    responses.get(GAMMA + "/markets/slug/nope", status=404, json={"error": "not found"})
    responses.get(GAMMA + "/markets/slug/busy", status=502)
    with pytest.raises(FatalError):
        resolve_market_slug(GAMMA, "nope")
    with pytest.raises(TransientError):
        resolve_market_slug(GAMMA, "busy")


@responses.activate
def test_event_lists_its_outcome_markets_and_skips_closed_ones():
    markets = [
        _gamma_market(
            conditionId="0x01", clobTokenIds='["1","2"]', negRisk=True, groupItemTitle="Alice"
        ),
        _gamma_market(
            conditionId="0x02", clobTokenIds='["3","4"]', negRisk=True, groupItemTitle="Bob"
        ),
        _gamma_market(conditionId="0x03", clobTokenIds='["5","6"]', negRisk=True, closed=True),
    ]
    responses.get(
        GAMMA + "/events/slug/who-wins",
        json={"slug": "who-wins", "negRisk": True, "negRiskAugmented": True, "markets": markets},
    )
    event = resolve_event(GAMMA, "who-wins")
    assert [m.condition_id for m in event.markets] == ["0x01", "0x02"]
    assert [m.outcome_label for m in event.markets] == ["Alice", "Bob"]
    assert all(m.neg_risk and m.event_slug == "who-wins" for m in event.markets)
    assert event.neg_risk and event.neg_risk_augmented


@pytest.fixture
def rest():
    client = ClobRest(CLOB, creds=ApiCreds("k", "c2VjcmV0", "p"), address="0x1")
    yield client
    client.close()


def _compact(nr=None):
    body = {
        "t": [{"t": "111", "o": "Yes"}, {"t": "222", "o": "No"}],
        "mos": 5,
        "mts": 0.001,
        "fd": {"r": 0.02, "e": 1, "to": True},
    }
    if nr is not None:
        body["nr"] = nr
    return body


@responses.activate
def test_clob_compact_info_with_nr_omitted_means_not_neg_risk(rest):
    responses.get(CLOB + f"/clob-markets/{CID}", json=_compact())
    responses.get(
        CLOB + f"/markets/{CID}", json={"question": "Q?", "market_slug": "q", "end_date_iso": None}
    )
    info = market_info_from_clob(rest, CID)
    assert (
        info.neg_risk is False
        and info.tick == Decimal("0.001")
        and info.fee_rate == Decimal("0.02")
    )
    assert info.question == "Q?" and (info.yes_token, info.no_token) == ("111", "222")


@responses.activate
def test_token_pair_resolves_through_the_book_and_checks_the_pair(rest):
    responses.get(CLOB + "/book", json={"market": CID, "asset_id": "222", "bids": [], "asks": []})
    responses.get(CLOB + f"/clob-markets/{CID}", json=_compact(nr=True))
    responses.get(CLOB + f"/markets/{CID}", status=404, json={"error": "not found"})
    info = market_info_from_token(rest, "222", "111")  # the config may name either as YES
    assert (info.yes_token, info.no_token, info.neg_risk) == ("222", "111", True)
    with pytest.raises(FatalError):
        market_info_from_token(rest, "222", "999")


@responses.activate
def test_listing_skips_closed_markets_and_reads_fees(rest):
    rows = [
        {
            "condition_id": "0x01",
            "active": True,
            "closed": False,
            "accepting_orders": True,
            "neg_risk": False,
            "minimum_tick_size": 0.01,
            "minimum_order_size": 5,
            "question": "A",
            "tokens": [{"token_id": "1", "outcome": "Yes"}, {"token_id": "2", "outcome": "No"}],
        },
        {"condition_id": "0x02", "active": True, "closed": True, "tokens": []},
    ]
    responses.get(CLOB + "/markets", json={"data": rows, "next_cursor": "LTE="})
    responses.get(CLOB + "/clob-markets/0x01", json={"t": [], "fd": {"r": 0.05}})
    markets = list_clob_markets(rest)
    assert [(m.condition_id, m.yes_token, m.fee_rate) for m in markets] == [
        ("0x01", "1", Decimal("0.05"))
    ]
