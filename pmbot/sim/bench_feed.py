"""Benchmark feed: extra binary markets whose books are driven by a fast synthetic flood of
``price_change`` messages, to measure a market-data consumer (the bot, or bench/bench_sim.py)
rather than the simulator's matching engine.

The markets are registered with the engine (``add_market``: frozen, no background traders) so
metadata endpoints (``/tick-size``, ``/markets``, Gamma...) know them, but their BOOKS live here:
``/book`` and the WebSocket snapshot for these tokens come from this module, and every flood
message is applied to that book first, so snapshots and deltas always agree. They are feed-only
markets; orders sent to them meet an empty engine book.

Flood messages are consistent: each is a level-size change on one side of one market, with the
venue's mirrored pair of entries (YES level p, NO level 1-p, same size, opposite side) and correct
``best_bid``/``best_ask`` per token. Levels never cross: the flood only resizes existing levels
(never to 0 on the best level), so the top of book is stable and always valid.
"""

from __future__ import annotations

import hashlib
import logging
import random
import threading
import time
from decimal import Decimal

from pmbot.sim import wsproto

log = logging.getLogger(__name__)

ONE = Decimal(1)
TICK = Decimal("0.01")


class _BenchBook:
    """YES-terms levels of one bench market; NO is derived by mirroring."""

    __slots__ = ("condition_id", "yes", "no", "bids", "asks", "bid_prices", "ask_prices")

    def __init__(
        self, condition_id: str, yes: str, no: str, levels: int, rng: random.Random
    ) -> None:
        self.condition_id, self.yes, self.no = condition_id, yes, no
        self.bids = {
            Decimal("0.49") - TICK * i: Decimal(rng.randint(10, 5000)) for i in range(levels)
        }
        self.asks = {
            Decimal("0.51") + TICK * i: Decimal(rng.randint(10, 5000)) for i in range(levels)
        }
        self.bid_prices = sorted(self.bids)  # ascending
        self.ask_prices = sorted(self.asks)

    def snapshot(self, token: str, now_ms: str) -> dict:
        if token == self.yes:
            bids = [(p, self.bids[p]) for p in self.bid_prices]
            asks = [(p, self.asks[p]) for p in reversed(self.ask_prices)]
        else:
            bids = [(ONE - p, self.asks[p]) for p in reversed(self.ask_prices)]
            asks = [(ONE - p, self.bids[p]) for p in self.bid_prices]
        snap = {
            "market": self.condition_id,
            "asset_id": token,
            "timestamp": now_ms,
            "hash": "",
            "bids": [{"price": str(p), "size": str(s)} for p, s in bids],
            "asks": [{"price": str(p), "size": str(s)} for p, s in asks],
            "min_order_size": "5",
            "tick_size": str(TICK),
            "neg_risk": False,
            "last_trade_price": "",
        }
        snap["hash"] = hashlib.sha1(repr(sorted(snap.items())).encode()).hexdigest()
        return snap


class BenchFeed:
    """Owns benchmark markets and the flood thread. ``lock`` guards the books; the server takes it
    together with the exchange lock when snapshotting+subscribing."""

    def __init__(self, hub, *, seed: int = 0) -> None:
        self._hub = hub
        self._rng = random.Random(seed)
        self.lock = threading.RLock()
        self._create_lock = threading.Lock()
        self._books: dict[str, _BenchBook] = {}  # by token
        self._markets: list[_BenchBook] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.sent = 0
        self.last_flood: dict = {}
        self._seq = 0

    def has_token(self, token_id: str) -> bool:
        return token_id in self._books

    def book_snapshot(self, token_id: str) -> dict:
        with self.lock:
            return self._books[token_id].snapshot(token_id, str(int(time.time() * 1000)))

    def create_markets(self, count: int, levels: int, exchange=None) -> list[dict]:
        """Create ``count`` markets with ``levels`` levels a side; registers them with ``exchange``
        (if given) so metadata endpoints know them. Returns their ids."""
        with self._create_lock:
            return self._create(count, levels, exchange)

    def _create(self, count: int, levels: int, exchange) -> list[dict]:
        from pmbot.sim.markets import make_binary_market

        out: list[_BenchBook] = []
        for _ in range(count):
            n = len(self._markets) + len(out) + 1
            market = make_binary_market(991, f"bench-market-{n}", question=f"Benchmark market {n}?")
            if exchange is not None:  # outside our lock: lock order is always exchange, then bench
                exchange.add_market(market, background=False)
            book = _BenchBook(
                market.condition_id, market.yes_token, market.no_token, levels, self._rng
            )
            out.append(book)
        with self.lock:
            for book in out:
                self._markets.append(book)
                self._books[book.yes] = book
                self._books[book.no] = book
        log.info("created %d bench markets with %d levels a side", count, levels)
        return [{"condition_id": b.condition_id, "yes_token": b.yes, "no_token": b.no} for b in out]

    # ------------------------------------------------------------------ flood

    def start_flood(self, *, rate: float, count: int) -> dict:
        if not self._markets:
            raise RuntimeError("no bench markets: POST /_sim/bench_markets first")
        if self._thread is not None and self._thread.is_alive():
            raise RuntimeError("a flood is already running")
        self._thread = threading.Thread(
            target=self._flood, args=(rate, count), name="sim-bench-flood", daemon=False
        )
        self._thread.start()
        return {"started": True, "rate": rate, "count": count, "markets": len(self._markets)}

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5.0)

    def _next_message(self) -> tuple[str, str, str]:
        """Mutate one level and return (yes token, no token, message JSON text)."""
        rng = self._rng
        book = self._markets[self._seq % len(self._markets)]
        self._seq += 1
        if rng.random() < 0.5:
            price = book.bid_prices[rng.randrange(len(book.bid_prices))]
            size = Decimal(rng.randint(1, 5000))
            book.bids[price] = size
            yes_side, no_side, no_price = "BUY", "SELL", ONE - price
        else:
            price = book.ask_prices[rng.randrange(len(book.ask_prices))]
            size = Decimal(rng.randint(1, 5000))
            book.asks[price] = size
            yes_side, no_side, no_price = "SELL", "BUY", ONE - price
        bb, ba = book.bid_prices[-1], book.ask_prices[0]
        ts = str(int(time.time() * 1000))
        h1 = f"{rng.getrandbits(160):040x}"
        h2 = f"{rng.getrandbits(160):040x}"
        # Hand-built JSON: every value is a plain digit/dot/hex string, so no escaping is needed,
        # and this is several times faster than json.dumps at 20k messages/s.
        text = (
            f'{{"market":"{book.condition_id}","price_changes":['
            f'{{"asset_id":"{book.yes}","price":"{price}","size":"{size}","side":"{yes_side}",'
            f'"hash":"{h1}","best_bid":"{bb}","best_ask":"{ba}"}},'
            f'{{"asset_id":"{book.no}","price":"{no_price}","size":"{size}","side":"{no_side}",'
            f'"hash":"{h2}","best_bid":"{ONE - ba}","best_ask":"{ONE - bb}"}}],'
            f'"timestamp":"{ts}","event_type":"price_change"}}'
        )
        return book.yes, book.no, text

    def _flood(self, rate: float, count: int) -> None:
        started = time.monotonic()
        batch = max(1, min(200, int(rate / 100)))  # pace in ~10 ms slices
        sent = 0
        while sent < count and not self._stop.is_set():
            due = started + sent / rate
            ahead = due - time.monotonic()
            if ahead > 0 and self._stop.wait(ahead):
                break
            with self.lock:
                for _ in range(min(batch, count - sent)):
                    yes, no, text = self._next_message()
                    self._hub.publish_frame_to((yes, no), wsproto.encode_text(text))
                    sent += 1
        secs = time.monotonic() - started
        self.sent += sent
        self.last_flood = {"sent": sent, "secs": secs, "rate": sent / secs if secs > 0 else 0.0}
        log.info("bench flood done: %d messages in %.3f s", sent, secs)
