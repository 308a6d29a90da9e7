"""Data adapters: other sources converted to the recorder's format (``records.Record`` lines).

* ``resolvedkit``: the CC BY 4.0 sample shipped in the ``resolvedkit`` package (Parquet, needs
  pyarrow from requirements-backtest.txt): top 20 levels per side about once a second for 18 real
  BTC 15-minute markets, with the settlement outcome, and **no trades**. Each snapshot becomes a
  ``book`` frame; trades are INFERRED on the UP (YES) book from depth removed at or through the
  touch between two snapshots (size that left the best level, and every level the touch moved
  through). Cancels at the touch therefore count as trades: fills are optimistic for the queue.
* ``real-feed``: the captures in ``../shared/data/real-feed/`` (``*.jsonl``): raw frames (receive
  time = the exchange timestamp inside), envelopes ``{"recv_wall_ts", "payload"}`` (REST books
  without ``event_type`` become ``rest`` records) and ``{"recv_ms", "raw"}``.
"""

from __future__ import annotations

import gzip
import json
import os
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from pmbot.model import MarketInfo
from pmbot.venue.recorder import encode_line

from .records import MARKETS_FILE, MarketMeta, Record, markets_to_json

RESOLVEDKIT_TICK = "0.01"


def _px(x: float) -> str:
    return str(Decimal(repr(x)))


def _levels(px: list, sz: list) -> list[dict[str, str]]:
    return [{"price": _px(p), "size": _px(s)} for p, s in zip(px, sz, strict=False)]


def _pairs(row: dict, key_px: str, key_sz: str) -> list[tuple[float, float]]:
    return list(zip(row[key_px], row[key_sz], strict=False))


def _inferred_trades(prev: dict | None, row: dict) -> list[tuple[str, Decimal, Decimal]]:
    """(taker side, price, size) removed at or through the touch between two snapshots."""
    if prev is None:
        return []
    out = []
    for key_px, key_sz, taker, better in (
        ("bid_px", "bid_sz", "SELL", lambda a, b: a > b),
        ("ask_px", "ask_sz", "BUY", lambda a, b: a < b),
    ):
        old = [(Decimal(repr(p)), Decimal(repr(s))) for p, s in _pairs(prev, key_px, key_sz)]
        new = {Decimal(repr(p)): Decimal(repr(s)) for p, s in _pairs(row, key_px, key_sz)}
        if not old or not row[key_px]:
            continue  # an empty side is a data gap, not a sweep of the whole book
        touch = Decimal(repr(row[key_px][0]))
        for p, s in old:
            if better(touch, p):
                break  # the new touch is better than this old level: nothing traded from here on
            left = new.get(p, Decimal(0))
            if better(p, touch):
                out.append((taker, p, s))  # the touch moved through this level
            elif p == touch and left < s:
                out.append((taker, p, s - left))  # the best level shrank
            if p == touch:
                break
    return out


def resolvedkit_records(folder: Any) -> tuple[list[MarketMeta], Iterator[Record]]:
    import pyarrow.parquet as pq  # type: ignore[import-untyped]  # optional, no stubs

    rows = pq.read_table(folder / "markets.parquet").to_pylist()
    metas = []
    for r in sorted(rows, key=lambda r: (r["end_ts"], r["market_id"])):
        cid = r["market_id"]
        payout = r["payout_up"]
        metas.append(
            MarketMeta(
                MarketInfo(
                    cid,
                    f"{cid}-UP",
                    f"{cid}-DOWN",
                    tick=Decimal(RESOLVEDKIT_TICK),
                    fee_rate=Decimal("0.07") if r["category"] == "crypto" else Decimal("0.05"),
                    slug=r["slug"],
                    question=r["question"],
                    end_date_ts=r["end_ts"] / 1000,
                ),
                None if payout is None else Decimal(repr(payout)),
            )
        )
    books = pq.read_table(folder / "books.parquet").to_pylist()
    books.sort(key=lambda b: (b["ts"], b["market_id"], b["side"]))
    return metas, _book_records(books)


def _book_records(books: list[dict]) -> Iterator[Record]:
    prev: dict[str, dict] = {}
    for b in books:
        tok = f"{b['market_id']}-{b['side']}"
        base = {"market": b["market_id"], "asset_id": tok, "timestamp": str(b["ts"])}
        if b["side"] == "UP":
            for side, p, s in _inferred_trades(prev.get(tok), b):
                frame = {
                    "event_type": "last_trade_price",
                    **base,
                    "price": str(p),
                    "size": str(s),
                    "side": side,
                }
                yield Record(b["ts"], "resolvedkit", "ws", json.dumps(frame))
        prev[tok] = b
        book = {
            "event_type": "book",
            **base,
            "bids": _levels(b["bid_px"], b["bid_sz"]),
            "asks": _levels(b["ask_px"], b["ask_sz"]),
            "tick_size": RESOLVEDKIT_TICK,
        }
        yield Record(b["ts"], "resolvedkit", "ws", json.dumps(book))


def resolvedkit_sample_dir() -> Any:
    from importlib.resources import files

    return files("resolvedkit") / "sample_data"


def write_recording(out_dir: str, metas: list[MarketMeta], records: Iterator[Record]) -> int:
    """Records to ``out_dir/data.jsonl.gz`` in the recorder's line format, plus markets.json."""
    os.makedirs(out_dir, exist_ok=True)
    n = 0
    with gzip.open(os.path.join(out_dir, "data.jsonl.gz"), "wt", encoding="utf-8") as fh:
        for r in records:
            fh.write(encode_line(r.t_ms, n, r.conn, r.kind, r.text))
            n += 1
    with open(os.path.join(out_dir, MARKETS_FILE), "w", encoding="utf-8") as fh:
        json.dump(markets_to_json(metas), fh, indent=1, sort_keys=True)
    return n


def real_feed_records(path: str) -> Iterator[Record]:
    """One capture file of ../shared/data/real-feed/ as records (see the module docstring)."""
    last_t = 0
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            line = line.strip()
            if not line:
                continue
            try:
                obj = json.loads(line)
            except ValueError:
                continue
            rec = _real_feed_line(obj, line, last_t)
            if rec is not None:
                last_t = rec.t_ms
                yield rec


def _real_feed_line(obj: Any, line: str, last_t: int) -> Record | None:
    if isinstance(obj, dict) and "payload" in obj:
        if obj.get("source") != "polymarket_clob":
            return None
        text = obj["payload"]
        t = int(obj.get("recv_wall_ts") or last_t)
        try:
            inner = json.loads(text)
        except ValueError:
            return Record(t, "capture", "ws", text)
        if isinstance(inner, dict) and "event_type" not in inner and "bids" in inner:
            return Record(t, "rest", "rest", text)
        return Record(t, "capture", "ws", text)
    if isinstance(obj, dict) and "raw" in obj:
        return Record(int(obj.get("recv_ms") or last_t), "capture", "ws", json.dumps(obj["raw"]))
    if isinstance(obj, dict) and obj.get("kind") in ("header", "lifecycle"):
        return None
    return Record(max(last_t, _max_ts(obj)), "capture", "ws", line)


def _max_ts(obj: Any) -> int:
    items = obj if isinstance(obj, list) else [obj]
    ts = [
        int(x["timestamp"])
        for x in items
        if isinstance(x, dict) and str(x.get("timestamp", "")).isdigit()
    ]
    return max(ts) if ts else 0
