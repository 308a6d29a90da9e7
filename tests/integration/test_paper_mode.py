"""Paper mode end to end: one ``python -m pmbot.sim`` process plays the real venue (its market WS
and REST are the live data; background traders move its unfrozen markets), and ``bot.py --mode
paper`` reads that live data while every order goes to the bot's own in-process local exchange.

Checked: the bot's quotes rest on the LOCAL exchange at the edge-rule prices; the venue's book and
the venue's ledger for the bot's wallet never see an order; the local book follows a moving venue
market; when the venue's book moves through a bot quote the bot is filled at its own price and its
inventory metric moves; SIGTERM cancels and verifies on the local exchange and exits 0.
"""

from __future__ import annotations

import json
import re
import signal
import urllib.request
from decimal import Decimal

import pytest

from tests.integration.botproc import BotProcess, SimProcess, wait_for

D = Decimal
FROZEN_BIDS = [["0.50", "200"], ["0.49", "300"]]
FROZEN_ASKS = [["0.54", "200"], ["0.55", "300"]]


@pytest.fixture
def venue():
    s = SimProcess()
    yield s
    s.stop()


def get(url: str):
    with urllib.request.urlopen(url, timeout=5) as resp:
        return json.loads(resp.read())


def post(url: str, body: dict) -> dict:
    req = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=5) as resp:
        return json.loads(resp.read())


def levels(book: dict, side: str) -> dict:
    return {D(lvl["price"]): D(lvl["size"]) for lvl in book[side]}


def top(book: dict):
    bids, asks = levels(book, "bids"), levels(book, "asks")
    return (max(bids) if bids else None, min(asks) if asks else None)


def from_log(bot: BotProcess, pattern: str, what: str) -> str:
    return wait_for(lambda: (re.search(pattern, bot.log()) or [None, None])[1], 20, what=what)


def test_paper_bot_quotes_and_fills_locally_and_nothing_reaches_the_venue(venue, tmp_path):
    markets = venue.binary_markets()
    target, moving = markets[0], markets[1]
    yes, no = target["yes_token"], target["no_token"]
    venue.control(
        set_book={"token_id": yes, "bids": FROZEN_BIDS, "asks": FROZEN_ASKS, "freeze": True}
    )
    bot = BotProcess(venue, tmp_path, extra={"mode": "paper", "markets": [target, moving]})
    try:
        local = from_log(
            bot, r"local exchange on (http://\S+)", "the local exchange URL in the log"
        )
        wallet = from_log(bot, r"wallet (0x[0-9a-fA-F]{40})", "the wallet in the log").lower()
        assert local != venue.urls["clob_url"]

        # The bot quotes on the LOCAL exchange: its book is the mirrored venue levels plus the bot's
        # bid 0.50 * 0.9 = 0.45 and its ask 0.54 + 0.1 * 0.46 -> 0.59 (a BUY NO at 0.41), 10 each.
        def local_book_with_quotes():
            book = get(f"{local}/book?token_id={yes}")
            want_bids = {D("0.50"): D(200), D("0.49"): D(300), D("0.45"): D(10)}
            want_asks = {D("0.54"): D(200), D("0.55"): D(300), D("0.59"): D(10)}
            return (
                book
                if (levels(book, "bids"), levels(book, "asks")) == (want_bids, want_asks)
                else None
            )

        try:
            wait_for(local_book_with_quotes, 30, what="the bot's quotes in the local book")
        except AssertionError:
            raise AssertionError("no quotes; bot log:\n" + bot.log()[-4000:]) from None

        # ... and nothing on the venue: its book is exactly what the test set, its ledger untouched.
        def venue_untouched():
            book = get(f"{venue.urls['clob_url']}/book?token_id={yes}")
            assert levels(book, "bids") == {D(p): D(s) for p, s in FROZEN_BIDS}
            assert levels(book, "asks") == {D(p): D(s) for p, s in FROZEN_ASKS}
            led = venue.ledger(wallet)
            assert (D(led["collateral"]), led["positions"], D(led["reserved"]["collateral"])) == (
                D(10000),
                {},
                0,
            )

        venue_untouched()
        local_ledger = get(f"{local}/_sim/ledger?user={wallet}")
        assert D(local_ledger["reserved"]["collateral"]) >= D(
            "8.6"
        )  # 10 x 0.45 + 10 x 0.41 on this market

        # The local book follows a venue market that background traders move.
        def same_top():
            v = top(get(f"{venue.urls['clob_url']}/book?token_id={moving['yes_token']}"))
            lo = top(get(f"{local}/book?token_id={moving['yes_token']}"))
            return v[0] is not None and v == lo

        wait_for(
            same_top,
            15,
            interval=0.1,
            what="the local top of the moving market to equal the venue's",
        )

        # The venue's book moves through the bot's 0.45 bid: the live best ask becomes 0.44. The
        # local exchange answers slowly for a moment, so the bot's reaction to the intermediate
        # frames of the venue's set_book (its ladder is cancelled, then re-placed) cannot pull the
        # quote first.
        post(f"{local}/_sim/control", {"delay_ms": 500})
        venue.control(
            set_book={
                "token_id": yes,
                "bids": [["0.40", "200"]],
                "asks": [["0.44", "200"], ["0.45", "300"]],
                "freeze": True,
            }
        )
        position = lambda: D(get(f"{local}/_sim/ledger?user={wallet}")["positions"].get(yes, "0"))  # noqa: E731
        wait_for(lambda: position() == 10, 10, what="the bot's 10 YES bought on the local exchange")
        post(f"{local}/_sim/control", {"delay_ms": 0})
        led = get(f"{local}/_sim/ledger?user={wallet}")
        assert D(led["positions"].get(no, "0")) == 0
        wait_for(
            lambda: bot.metric("pmbot_inventory_shares", token=yes) == 10.0,
            10,
            what="the inventory metric to show the fill",
        )
        assert (bot.metric("pmbot_fills_total") or 0) >= 1
        # Filled at the bot's own limit (0.45, not the venue's 0.44), as the maker: no fee. The
        # bot's collateral moved only by this fill unless the moving market filled it too.
        trades_on_target = 10 * D("0.45")
        if not any(t != yes and D(s) for t, s in led["positions"].items()):
            assert D(led["collateral"]) == D(10000) - trades_on_target

        # Still nothing on the venue for this wallet; its book is what the test set last.
        book = get(f"{venue.urls['clob_url']}/book?token_id={yes}")
        assert levels(book, "bids") == {D("0.40"): D(200)}
        assert levels(book, "asks") == {D("0.44"): D(200), D("0.45"): D(300)}
        led = venue.ledger(wallet)
        assert (D(led["collateral"]), led["positions"], D(led["reserved"]["collateral"])) == (
            D(10000),
            {},
            0,
        )

        code = bot.terminate(signal.SIGTERM, timeout=20)
    finally:
        bot.kill()
    # Exit 0 means the kill switch found no order of the bot left on the local exchange (GET
    # /data/orders).
    assert code == 0, bot.log()[-4000:]


def test_paper_arbitrage_legs_take_the_mirrored_venue_depth_on_the_local_exchange(venue, tmp_path):
    """A 3-outcome event whose YES asks sum to 0.94 on the venue: the bot's FOK/FAK legs fill
    against the live depth mirrored on the local exchange; the venue's books keep every share."""
    from pmbot.venue.markets import resolve_event

    slug = "next-fed-chair-2026"
    tokens = [m.yes_token for m in resolve_event(venue.urls["gamma_url"], slug).markets]
    books = [
        ([["0.27", 50]], [["0.30", 20], ["0.45", 50]]),
        ([["0.28", 50]], [["0.31", 20], ["0.46", 50]]),
        ([["0.30", 50]], [["0.33", 20], ["0.47", 50]]),
    ]
    for tok, (bids, asks) in zip(tokens, books, strict=True):
        venue.control(set_book={"token_id": tok, "bids": bids, "asks": asks, "freeze": True})
    bot = BotProcess(
        venue,
        tmp_path,
        extra={
            "mode": "paper",
            "markets": [],
            "arbitrage": {"enabled": True, "events": [{"slug": slug}], "binary_markets": False},
        },
    )
    try:
        local = from_log(
            bot, r"local exchange on (http://\S+)", "the local exchange URL in the log"
        )
        wallet = from_log(bot, r"wallet (0x[0-9a-fA-F]{40})", "the wallet in the log").lower()

        def held():
            pos = get(f"{local}/_sim/ledger?user={wallet}")["positions"]
            return [D(pos.get(t, "0")) for t in tokens]

        try:
            wait_for(
                lambda: held() == [D(20)] * 3,
                30,
                what="20 YES of each outcome on the local exchange",
            )
        except AssertionError:
            raise AssertionError("no basket; bot log:\n" + bot.log()[-4000:]) from None
        wait_for(
            lambda: all(bot.metric("pmbot_inventory_shares", token=t) == 20.0 for t in tokens),
            10,
            what="the inventory metrics",
        )
        # The taken levels are used up locally (not re-offered by the next live update) ...
        for tok, (_, asks) in zip(tokens, books, strict=True):
            assert levels(get(f"{local}/book?token_id={tok}"), "asks") == {
                D(asks[1][0]): D(asks[1][1])
            }
        # ... and untouched on the venue, whose ledger for the wallet is empty.
        for tok, (_, asks) in zip(tokens, books, strict=True):
            assert levels(get(f"{venue.urls['clob_url']}/book?token_id={tok}"), "asks") == {
                D(p): D(s) for p, s in asks
            }
        led = venue.ledger(wallet)
        assert (D(led["collateral"]), led["positions"]) == (D(10000), {})
        code = bot.terminate(signal.SIGTERM, timeout=20)
    finally:
        bot.kill()
    assert code == 0, bot.log()[-4000:]
