"""MARKET on the command line: slug, condition id, or an unambiguous condition-id prefix."""

from __future__ import annotations

import pytest

from pmbot.control.resolve import UnknownMarket, resolve_market
from pmbot.model import MarketInfo

A = MarketInfo(condition_id="0xaaaa1111" + "0" * 56, yes_token="1", no_token="2", slug="rain")
B = MarketInfo(condition_id="0xaaaa2222" + "0" * 56, yes_token="3", no_token="4", slug="snow")
C = MarketInfo(condition_id="0xbbbb0000" + "0" * 56, yes_token="5", no_token="6")
MARKETS = (A, B, C)


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("rain", A),
        ("snow", B),
        (C.condition_id, C),
        (C.condition_id.upper().replace("0X", "0x"), C),
        ("0xaaaa1111", A),
        ("  snow ", B),
    ],
)
def test_resolves_slug_condition_id_and_unique_prefix(text: str, want: MarketInfo) -> None:
    assert resolve_market(text, MARKETS) is want


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("hail", "no market 'hail'"),
        ("0xaaaa", "no market"),  # too short to be a prefix
        ("0xaaaa1", "no market"),
        ("0xaaaa", "rain"),  # the message lists the markets
        ("", "no market given"),
    ],
)
def test_unknown_names_say_what_exists(text: str, why: str) -> None:
    with pytest.raises(UnknownMarket, match=why):
        resolve_market(text, MARKETS)


def test_ambiguous_prefix_is_refused() -> None:
    with pytest.raises(UnknownMarket, match="matches 2 markets"):
        resolve_market("0xaaaa111", (A, B, MarketInfo(A.condition_id[:-1] + "1", "7", "8")))
