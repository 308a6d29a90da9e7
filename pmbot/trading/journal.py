"""Durable journal of orders, fills, position adjustments, hedged sets and P&L (SQLite, stdlib).

Write-ahead discipline: the strategy thread records a fill here *before* it changes the in-memory
inventory, and only applies it when ``record_fill`` returned True. Every write is its own committed
transaction in WAL mode with ``synchronous=FULL``, so once a call returns, a crash (even power loss)
cannot lose it; a crash between the journal write and the in-memory change is repaired on restart
by replaying the journal.

One file per venue and wallet (``<state_dir>/journal-<venue-host>-<funder-lower>.sqlite3``), so two
wallets or two venues never mix; the file records both and refuses to open under another pair.

Restart recovery: ``load`` reads the records back and ``journal_records.replay`` rebuilds the
inventory from them in sequence order.

Money is stored as decimal TEXT, never REAL.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sqlite3
import threading
import time
from collections.abc import Mapping
from decimal import Decimal
from urllib.parse import urlparse

from pmbot.errors import FatalError
from pmbot.model import Fill, NewOrder, OrderEvent, TradeStatus
from pmbot.trading.inventory import HedgedSet
from pmbot.trading.journal_records import (
    LOAD_ADJUSTMENTS,
    LOAD_FILLS,
    LOAD_HEDGED_SETS,
    LOAD_LAST_PNL,
    LOAD_ORDERS,
    Adjustment,
    JournalOrder,
    JournalState,
    PnlRow,
    adjustment_from_row,
    fill_from_row,
    hedged_set_from_row,
    order_from_row,
    pnl_from_row,
    replay,
)

log = logging.getLogger(__name__)

SCHEMA_VERSION = "1"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS orders (
    order_id TEXT PRIMARY KEY, client_id TEXT NOT NULL DEFAULT '', market TEXT NOT NULL,
    token_id TEXT NOT NULL, side TEXT NOT NULL, price TEXT NOT NULL, size TEXT NOT NULL,
    size_matched TEXT NOT NULL DEFAULT '0', order_type TEXT NOT NULL DEFAULT 'GTC',
    tag TEXT NOT NULL DEFAULT '', status TEXT NOT NULL, created_ts REAL NOT NULL,
    updated_ts REAL NOT NULL);
CREATE TABLE IF NOT EXISTS fills (
    seq INTEGER NOT NULL, trade_id TEXT NOT NULL, order_id TEXT NOT NULL, market TEXT NOT NULL,
    token_id TEXT NOT NULL, side TEXT NOT NULL, price TEXT NOT NULL, size TEXT NOT NULL,
    notional TEXT, fee_usd TEXT NOT NULL, is_maker INTEGER NOT NULL, status TEXT NOT NULL,
    ts REAL NOT NULL, recorded_ts REAL NOT NULL, PRIMARY KEY (trade_id, order_id));
CREATE TABLE IF NOT EXISTS adjustments (
    seq INTEGER NOT NULL, kind TEXT NOT NULL, token_id TEXT NOT NULL, size TEXT NOT NULL,
    avg_price TEXT, ts REAL NOT NULL);
CREATE TABLE IF NOT EXISTS hedged_sets (
    set_id TEXT PRIMARY KEY, kind TEXT NOT NULL, legs TEXT NOT NULL, cost_usd TEXT NOT NULL,
    payout_usd TEXT NOT NULL, ts REAL NOT NULL, released_ts REAL);
CREATE TABLE IF NOT EXISTS pnl (
    id INTEGER PRIMARY KEY AUTOINCREMENT, ts REAL NOT NULL, realized TEXT NOT NULL,
    unrealized TEXT NOT NULL, fees TEXT NOT NULL);
"""
_INSERT_ADJUSTMENT = (
    "INSERT INTO adjustments (seq, kind, token_id, size, avg_price, ts) VALUES (?,?,?,?,?,?)"
)


# --------------------------------------------------------------------------- where it lives


def default_state_dir(configured: str | None = None, env: Mapping[str, str] = os.environ) -> str:
    """Config ``state_dir``, else ``$STATE_DIRECTORY`` (systemd ``StateDirectory=``; the first
    entry if it lists several), else ``./state``."""
    if configured:
        return configured
    systemd = env.get("STATE_DIRECTORY", "")
    if systemd:
        return systemd.split(":")[0]
    return os.path.join(".", "state")


def _safe(part: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", part)


def venue_host(venue: str) -> str:
    """``https://clob.polymarket.com`` -> ``clob.polymarket.com``; a port is kept
    (``127.0.0.1_8080``)."""
    parsed = urlparse(venue if "://" in venue else f"//{venue}")
    host = parsed.hostname or venue
    return _safe(f"{host}_{parsed.port}" if parsed.port else host)


def journal_path(state_dir: str, venue: str, wallet: str) -> str:
    return os.path.join(state_dir, f"journal-{venue_host(venue)}-{_safe(wallet.lower())}.sqlite3")


# --------------------------------------------------------------------------- the journal


class Journal:
    def __init__(self, state_dir: str, venue: str, wallet: str) -> None:
        if not wallet:
            raise FatalError("journal needs the funder wallet address")
        if not os.path.isdir(state_dir):
            os.makedirs(state_dir, mode=0o700, exist_ok=True)
        self.path = journal_path(state_dir, venue, wallet)
        if not os.path.exists(self.path):
            os.close(os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o600))
        self._lock = threading.Lock()
        self._db = sqlite3.connect(
            self.path, isolation_level=None, check_same_thread=False, timeout=5.0
        )
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)
        self._check_identity(venue_host(venue), wallet.lower())
        self._seq = self._max_seq()
        for suffix in ("-wal", "-shm"):
            try:
                os.chmod(self.path + suffix, 0o600)
            except OSError:
                pass
        log.info("journal open at %s (next seq %d)", self.path, self._seq + 1)

    # ------------------------------------------------------------------ plumbing

    class _Tx:
        def __init__(self, journal: Journal) -> None:
            self.j = journal

        def __enter__(self) -> sqlite3.Connection:
            self.j._lock.acquire()
            self.j._db.execute("BEGIN IMMEDIATE")
            return self.j._db

        def __exit__(self, exc_type, exc, tb) -> None:
            try:
                self.j._db.execute("COMMIT" if exc_type is None else "ROLLBACK")
            finally:
                self.j._lock.release()

    def _tx(self) -> Journal._Tx:
        return Journal._Tx(self)

    def _check_identity(self, host: str, wallet: str) -> None:
        with self._tx() as db:
            rows = dict(db.execute("SELECT key, value FROM meta").fetchall())
            if not rows:
                db.executemany(
                    "INSERT INTO meta (key, value) VALUES (?, ?)",
                    [("schema", SCHEMA_VERSION), ("venue", host), ("wallet", wallet)],
                )
                return
        if rows.get("venue") != host or rows.get("wallet") != wallet:
            self._db.close()
            raise FatalError(
                f"journal {self.path} belongs to {rows.get('venue')}/{rows.get('wallet')}, "
                f"not {host}/{wallet}"
            )

    def _max_seq(self) -> int:
        row = self._db.execute(
            "SELECT MAX(s) FROM (SELECT MAX(seq) AS s FROM fills"
            " UNION ALL SELECT MAX(seq) FROM adjustments)"
        ).fetchone()
        return int(row[0] or 0)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def load_operator_pauses(self) -> str | None:
        """The operator pauses kept across restarts (``pmbot.control.pauses``, as JSON)."""
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE key='operator_pauses'").fetchone()
        return None if row is None else str(row[0])

    def save_operator_pauses(self, text: str) -> None:
        with self._tx() as db:
            db.execute("INSERT OR REPLACE INTO meta VALUES ('operator_pauses', ?)", (text,))

    # ------------------------------------------------------------------ orders

    def record_order(
        self, order_id: str, order: NewOrder, *, status: str = "LIVE", ts: float | None = None
    ) -> None:
        """An order the venue accepted (or may have: unknown outcome) under ``order_id``."""
        now = time.time() if ts is None else ts
        with self._tx() as db:
            db.execute(
                "INSERT INTO orders (order_id, client_id, market, token_id, side, price, size,"
                " order_type, tag, status, created_ts, updated_ts) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)"
                " ON CONFLICT(order_id) DO UPDATE SET status=excluded.status,"
                " updated_ts=excluded.updated_ts",
                (
                    order_id,
                    order.client_id,
                    order.market,
                    order.token_id,
                    order.side.value,
                    str(order.price),
                    str(order.size),
                    order.order_type.value,
                    order.tag,
                    status,
                    now,
                    now,
                ),
            )

    def record_order_event(self, ev: OrderEvent) -> None:
        """User-channel order event: cumulative size_matched and status; unknown orders are
        added."""
        status = ev.status or {"CANCELLATION": "CANCELED", "PLACEMENT": "LIVE"}.get(
            ev.kind.value, "LIVE"
        )
        ts = ev.ts or time.time()
        with self._tx() as db:
            db.execute(
                "INSERT INTO orders (order_id, market, token_id, side, price, size, size_matched,"
                " status, created_ts, updated_ts) VALUES (?,?,?,?,?,?,?,?,?,?)"
                " ON CONFLICT(order_id) DO UPDATE SET size_matched=excluded.size_matched,"
                " status=excluded.status, updated_ts=excluded.updated_ts",
                (
                    ev.order_id,
                    ev.market,
                    ev.token_id,
                    ev.side.value,
                    str(ev.price),
                    str(ev.original_size),
                    str(ev.size_matched),
                    status,
                    ts,
                    ts,
                ),
            )

    # ------------------------------------------------------------------ fills

    def record_fill(self, fill: Fill) -> bool:
        """Durably record a new fill; False if (trade_id, order_id) is already journaled."""
        with self._tx() as db:
            seq = self._seq + 1
            cur = db.execute(
                "INSERT OR IGNORE INTO fills (seq, trade_id, order_id, market, token_id, side,"
                " price, size, notional, fee_usd, is_maker, status, ts, recorded_ts)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    seq,
                    fill.trade_id,
                    fill.order_id,
                    fill.market,
                    fill.token_id,
                    fill.side.value,
                    str(fill.price),
                    str(fill.size),
                    None if fill.notional is None else str(fill.notional),
                    str(fill.fee_usd),
                    int(fill.is_maker),
                    fill.status.value,
                    fill.ts,
                    time.time(),
                ),
            )
            inserted = cur.rowcount == 1
        if inserted:
            self._seq = seq
        return inserted

    def update_fill_status(self, trade_id: str, order_id: str, status: TradeStatus) -> bool:
        with self._tx() as db:
            cur = db.execute(
                "UPDATE fills SET status=? WHERE trade_id=? AND order_id=?",
                (status.value, trade_id, order_id),
            )
            return cur.rowcount == 1

    # -------------------------------------------------------------- positions set from the venue

    def record_seed(
        self, positions: Mapping[str, tuple[Decimal, Decimal]], ts: float | None = None
    ) -> None:
        """Positions seeded from the Data API (replaces every position when replayed)."""
        now = time.time() if ts is None else ts
        rows: list[tuple[str, str, str | None]] = [
            (t, str(size), str(avg)) for t, (size, avg) in positions.items()
        ] or [("", "0", None)]
        with self._tx() as db:
            seq = self._seq + 1
            db.executemany(
                _INSERT_ADJUSTMENT,
                [(seq, "seed", t, s, a, now) for t, s, a in rows],
            )
        self._seq = seq

    def record_adoption(
        self,
        token_id: str,
        size: Decimal,
        avg_price: Decimal | None = None,
        ts: float | None = None,
    ) -> None:
        """One token set to the venue's size after a reconcile mismatch outlived the settlement
        lag."""
        now = time.time() if ts is None else ts
        with self._tx() as db:
            seq = self._seq + 1
            db.execute(
                _INSERT_ADJUSTMENT,
                (
                    seq,
                    "adopt",
                    token_id,
                    str(size),
                    None if avg_price is None else str(avg_price),
                    now,
                ),
            )
        self._seq = seq

    # ------------------------------------------------------------------ hedged sets and P&L

    def record_hedged_set(self, hs: HedgedSet) -> None:
        legs = json.dumps([[t, str(s)] for t, s in hs.legs])
        with self._tx() as db:
            db.execute(
                "INSERT INTO hedged_sets (set_id, kind, legs, cost_usd, payout_usd, ts)"
                " VALUES (?,?,?,?,?,?)",
                (hs.set_id, hs.kind, legs, str(hs.cost_usd), str(hs.payout_usd), hs.ts),
            )

    def release_hedged_set(self, set_id: str, ts: float | None = None) -> None:
        with self._tx() as db:
            db.execute(
                "UPDATE hedged_sets SET released_ts=? WHERE set_id=?",
                (time.time() if ts is None else ts, set_id),
            )

    def record_pnl(
        self, realized: Decimal, unrealized: Decimal, fees: Decimal, ts: float | None = None
    ) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT INTO pnl (ts, realized, unrealized, fees) VALUES (?,?,?,?)",
                (time.time() if ts is None else ts, str(realized), str(unrealized), str(fees)),
            )

    # ------------------------------------------------------------------ recovery

    def load(self) -> JournalState:
        with self._lock:
            db = self._db
            orders = tuple(map(order_from_row, db.execute(LOAD_ORDERS)))
            fill_rows = db.execute(LOAD_FILLS).fetchall()
            adjustments = tuple(map(adjustment_from_row, db.execute(LOAD_ADJUSTMENTS)))
            hedged = tuple(map(hedged_set_from_row, db.execute(LOAD_HEDGED_SETS)))
            pnl_row = db.execute(LOAD_LAST_PNL).fetchone()
        fills = tuple(fill_from_row(r) for r in fill_rows)
        return JournalState(
            orders=orders,
            fills=fills,
            fill_seqs=tuple(r[0] for r in fill_rows),
            adjustments=adjustments,
            hedged_sets=hedged,
            last_trade_ts=max((f.ts for f in fills), default=0.0),
            last_pnl=None if pnl_row is None else pnl_from_row(pnl_row),
        )


__all__ = [
    "Adjustment",
    "Journal",
    "JournalOrder",
    "JournalState",
    "PnlRow",
    "default_state_dir",
    "journal_path",
    "replay",
    "venue_host",
]
