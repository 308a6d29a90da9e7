"""Real Polymarket market-channel captures (../shared/data/real-feed, see its SOURCES.md) through
the parser and local books.

The reader below unwraps each file's envelope and skips lines that are not market-channel frames
(other venues, REST /book payloads, recorder headers): that is the test's job, not the parser's.
Every frame handed to the parser must parse with zero errors; replaying book + price_change must
give tops equal to every entry's own best_bid/best_ask; and in the complete opentape capture, the
replayed full books must equal every later `book` snapshot.
"""

from __future__ import annotations

import json
import os

import pytest

from pmbot.venue.book import OrderBook
from pmbot.venue.wire_market import BookEvent, PriceChangeEvent, TickSizeChangeEvent, parse_frame
from tests.conftest import SHARED

FEED_DIR = os.path.join(SHARED, "data", "real-feed")
COMPLETE = {"andreruizloera__opentape__polymarket_ws.jsonl"}


def _is_market_frame(text: str) -> bool:
    """REST /book responses recorded next to WS frames have no event_type: not market-channel
    frames."""
    if not text.strip():
        return True  # keepalive
    data = json.loads(text)
    items = data if isinstance(data, list) else [data]
    return all(isinstance(i, dict) and "event_type" in i for i in items)


def read_frames(name: str) -> list[str]:
    """The wire text of each market-channel frame in a capture, in file order."""
    path = os.path.join(FEED_DIR, name)
    if name.endswith(".json"):
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
        if name.startswith("wespanko__tinli"):
            return [f if isinstance(f, str) else json.dumps(f) for f in data]  # array of frames
        return [json.dumps(data)]  # one pretty-printed message
    frames = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            line = line.rstrip("\n")
            if name.startswith("jonahgrigoryan__"):
                rec = json.loads(line)
                if rec.get("source") != "polymarket_clob":
                    continue  # binance / coinbase / chainlink lines
                text = rec["payload"]  # verbatim wire text
                if _is_market_frame(text):
                    frames.append(text)
            elif name.startswith("pranay123-stack__"):
                rec = json.loads(line)
                if "raw" in rec:  # header and lifecycle lines are the recorder's own
                    frames.append(json.dumps(rec["raw"]))
            else:
                frames.append(
                    line
                )  # opentape, polytrader: one frame per line (opentape keeps an empty keepalive)
    return frames


CAPTURES = sorted(n for n in os.listdir(FEED_DIR) if n.endswith((".json", ".jsonl")))


def test_all_captures_are_present():
    assert len(CAPTURES) == 12


@pytest.mark.parametrize("name", CAPTURES)
def test_every_frame_parses_without_error(name):
    errors: list = []
    events = []
    frames = read_frames(name)
    assert frames
    for text in frames:
        events.extend(parse_frame(text, errors))
    assert errors == []
    assert events
    # strict mode agrees (nothing hidden in the lenient path)
    for text in frames:
        parse_frame(text)


def replay(name: str):
    books: dict[str, OrderBook] = {}
    stats = {
        "checked": 0,
        "skipped": 0,
        "top_mismatch": [],
        "snap_top": 0,
        "snap_full": 0,
        "snap_full_miss": 0,
        "snap_top_miss": [],
        "ticks": 0,
    }
    for text in read_frames(name):
        for ev in parse_frame(text):
            if isinstance(ev, BookEvent):
                book = books.get(ev.asset_id)
                if book is not None:
                    fresh = OrderBook()
                    fresh.apply_snapshot(ev.bids, ev.asks)
                    if (book.best_bid, book.best_ask) == (fresh.best_bid, fresh.best_ask):
                        stats["snap_top"] += 1
                    else:
                        stats["snap_top_miss"].append(ev.asset_id)
                    if book.snapshot() == fresh.snapshot():
                        stats["snap_full"] += 1
                    else:
                        stats["snap_full_miss"] += 1
                else:
                    book = books[ev.asset_id] = OrderBook(ev.asset_id)
                book.apply_snapshot(ev.bids, ev.asks, ev.tick)
            elif isinstance(ev, PriceChangeEvent):
                last = {}
                for entry in ev.entries:
                    book = books.get(entry.asset_id)
                    if book is None:
                        stats["skipped"] += 1
                        continue
                    book.set_level(entry.side, entry.price, entry.size)
                    last[entry.asset_id] = entry
                for asset, entry in last.items():
                    if not entry.top_known:
                        continue
                    stats["checked"] += 1
                    if not books[asset].top_matches(entry.best_bid, entry.best_ask):
                        stats["top_mismatch"].append((asset, entry, books[asset]))
            elif isinstance(ev, TickSizeChangeEvent):
                stats["ticks"] += 1
    return books, stats


@pytest.mark.parametrize("name", CAPTURES)
def test_replay_tops_agree_with_every_entry(name):
    _, stats = replay(name)
    assert stats["top_mismatch"] == []
    assert stats["snap_top_miss"] == []


def test_replay_totals_match_sources_md():
    total_checked = total_skipped = total_snap_top = 0
    for name in CAPTURES:
        _, stats = replay(name)
        total_checked += stats["checked"]
        total_skipped += stats["skipped"]
        total_snap_top += stats["snap_top"]
    # SOURCES.md's independent stdlib replay: 409 checkable entries, 28 skipped because their token
    # had no snapshot yet, later snapshots agree on the top 265/265
    assert total_checked == 409
    assert total_skipped == 28
    assert total_snap_top == 265


def test_complete_capture_full_books_equal_later_snapshots():
    name = next(iter(COMPLETE))
    books, stats = replay(name)
    assert stats["snap_full"] == 4 and stats["snap_full_miss"] == 0
    assert stats["checked"] >= 100  # 57 frames x 2 entries
    assert len(books) == 2
