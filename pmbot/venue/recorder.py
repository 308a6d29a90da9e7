"""Feed recorder: every market-channel frame, unmodified, with its receive time, to gzip files.

Why: the backtester (``python -m pmbot.backtest``) replays exactly what the bot saw. Recording must
cost the hot path no more than a queue put and must never stop trading, so the WebSocket threads
only call :meth:`FeedRecorder.frame` (one ``put_nowait``) and a writer thread does the rest.

Format (gzip text, one record per line, one file per UTC hour and connection, appended across
restarts, which gzip readers treat as one stream): a small JSON header, a TAB, then the frame text
exactly as received (JSON escapes the TAB in the header, so the first TAB ends it)::

    {"t":1767225600123,"s":7,"c":"market-1","k":"ws"}<TAB><the frame text as received>
    {"t":1767225601456,"s":8,"c":"rest","k":"rest"}<TAB><a GET /book object applied as resync>

A frame containing a line break (the venue sends none) goes into the header instead, as a JSON
string: ``{"t":..,"s":..,"c":..,"k":..,"f":"<text>"}``. Keeping the frame out of the JSON header
spares the backtester a second JSON decode of every frame (see :func:`decode_line`).

``t`` is the wall-clock receive time in ms, ``s`` a sequence number in the order the feed handed the
records over (it orders records of the same millisecond across files; it restarts with the bot).
Files are ``market-<conn>-<YYYYMMDD-HH>.jsonl.gz`` under ``feed.record_dir``. The writer flushes
(Z_SYNC_FLUSH) at least once a second, so a crash loses at most the last second and leaves a
readable prefix. A full queue, a full disk or any write error is logged (first of each kind, then
every 1000th) and counted in ``pmbot_feed_record_errors_total{kind}``; the file is reopened after
a back-off; trading never notices.
"""

from __future__ import annotations

import gzip
import itertools
import json
import logging
import os
import queue
import threading
import time
from collections.abc import Callable
from typing import IO, Any

from pmbot.venue.wire_market import BookEvent

log = logging.getLogger(__name__)

REST_CONNECTION = "rest"
ERROR_KINDS = ("queue_full", "open", "write", "flush", "close")
_FLUSH_SECS = 1.0
_REOPEN_BACKOFF_SECS = 5.0
_STOP = object()

Item = tuple[str, str, int, int, Any]  # (kind, connection, receive ms, seq, text or BookEvent)


def record_file_name(connection: str, ms: int) -> str:
    hour = time.strftime("%Y%m%d-%H", time.gmtime(ms / 1000))
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in connection)
    return f"market-{safe}-{hour}.jsonl.gz"


def encode_line(ms: int, seq: int, conn: str, kind: str, text: str) -> str:
    """One record as a line (with its newline); see the module docstring."""
    head: dict[str, Any] = {"t": ms, "s": seq, "c": conn, "k": kind}
    if "\n" in text or "\r" in text:
        head["f"] = text
        return json.dumps(head, separators=(",", ":")) + "\n"
    return json.dumps(head, separators=(",", ":")) + "\t" + text + "\n"


_decode = json.JSONDecoder().decode


def decode_line(line: str) -> tuple[int, int, str, str, str]:
    """(ms, seq, connection, kind, frame text) from a line; raises ValueError/KeyError/TypeError."""
    head, tab, text = line.partition("\t")
    obj = _decode(head if tab else line)
    if tab:
        text = text[:-1] if text.endswith("\n") else text
    else:
        text = obj["f"]
    if type(text) is not str:
        raise TypeError("frame is not text")
    return int(obj["t"]), int(obj.get("s", 0)), str(obj["c"]), str(obj["k"]), text


def rest_book_json(ev: BookEvent) -> str:
    """A parsed REST book as a venue ``GET /book`` shape (exact: Decimal text round-trips)."""
    obj: dict[str, Any] = {
        "market": ev.market,
        "asset_id": ev.asset_id,
        "bids": [{"price": str(p), "size": str(s)} for p, s in ev.bids],
        "asks": [{"price": str(p), "size": str(s)} for p, s in ev.asks],
        "hash": ev.hash,
    }
    if ev.timestamp_ms is not None:
        obj["timestamp"] = str(ev.timestamp_ms)
    if ev.tick is not None:
        obj["tick_size"] = str(ev.tick)
    if ev.last_trade_price is not None:
        obj["last_trade_price"] = str(ev.last_trade_price)
    if ev.min_order_size is not None:
        obj["min_order_size"] = str(ev.min_order_size)
    return json.dumps(obj, separators=(",", ":"))


class FeedRecorder:
    """See the module docstring. ``frame``/``rest_book`` may be called from any thread."""

    def __init__(
        self,
        record_dir: str,
        *,
        metrics: Any = None,
        max_queue: int = 200_000,
        clock_ms: Callable[[], int] = lambda: time.time_ns() // 1_000_000,
    ) -> None:
        self.record_dir = record_dir
        self._clock_ms = clock_ms
        self._seq = itertools.count()  # next() is atomic under the GIL: safe from any thread
        self._q: queue.Queue[Item | object] = queue.Queue(max_queue)
        self._files: dict[str, tuple[str, IO[str]]] = {}  # connection -> (file name, handle)
        self._thread: threading.Thread | None = None
        self._retry_at = 0.0
        self._logged: dict[str, int] = {}
        self.errors: dict[str, int] = {k: 0 for k in ERROR_KINDS}  # also for tests
        self.written = 0
        self._errors_metric = self._written_metric = None
        if metrics is not None:
            self._errors_metric, self._written_metric = _make_metrics(metrics)

    # ------------------------------------------------------------------ producers (hot path)

    def frame(self, connection: str, text: str) -> None:
        """One received market-channel frame. Never blocks; a full queue drops and counts."""
        try:
            self._q.put_nowait(("ws", connection, self._clock_ms(), next(self._seq), text))
        except queue.Full:
            self._error("queue_full", None)

    def rest_book(self, ev: BookEvent) -> None:
        """A REST book the feed applied as a resync (serialised on the writer thread)."""
        try:
            self._q.put_nowait(("rest", REST_CONNECTION, self._clock_ms(), next(self._seq), ev))
        except queue.Full:
            self._error("queue_full", None)

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="feed-recorder", daemon=False)
        self._thread.start()

    def close(self, timeout: float = 10.0) -> None:
        """Write what is queued, flush and close every file, stop the thread."""
        if self._thread is None:
            return
        self._q.put(_STOP)
        self._thread.join(timeout)
        self._thread = None

    # ------------------------------------------------------------------ writer thread

    def _run(self) -> None:
        next_flush = time.monotonic() + _FLUSH_SECS
        while True:
            try:
                item = self._q.get(timeout=_FLUSH_SECS)
            except queue.Empty:
                item = None
            if item is _STOP:
                break
            if item is not None:
                self._write(item)  # type: ignore[arg-type]  # anything but _STOP is an Item
            if time.monotonic() >= next_flush:
                self._flush_all()
                next_flush = time.monotonic() + _FLUSH_SECS
        self._close_all()

    def _write(self, item: Item) -> None:
        kind, conn, ms, seq, payload = item
        text = rest_book_json(payload) if kind == "rest" else payload
        line = encode_line(ms, seq, conn, kind, text)
        fh = self._file_for(conn, ms)
        if fh is None:
            return
        try:
            fh.write(line)
        except (OSError, ValueError) as exc:  # e.g. ENOSPC: back off, then try a fresh file
            self._error("write", exc)
            self._drop(conn)
            self._retry_at = time.monotonic() + _REOPEN_BACKOFF_SECS
            return
        self.written += 1
        if self._written_metric is not None:
            self._written_metric.inc()

    def _file_for(self, conn: str, ms: int) -> IO[str] | None:
        name = record_file_name(conn, ms)
        cur = self._files.get(conn)
        if cur is not None and cur[0] == name:
            return cur[1]
        if cur is not None:
            self._drop(conn)  # the hour rolled over
        if time.monotonic() < self._retry_at:
            self._error("open", None)  # still backing off after a failure: this record is lost
            return None
        try:
            os.makedirs(self.record_dir, exist_ok=True)
            path = os.path.join(self.record_dir, name)
            fh = gzip.open(path, "at", encoding="utf-8")  # noqa: SIM115 - kept open across writes
        except OSError as exc:
            self._error("open", exc)
            self._retry_at = time.monotonic() + _REOPEN_BACKOFF_SECS
            return None
        self._files[conn] = (name, fh)
        return fh

    def _flush_all(self) -> None:
        for conn, (_name, fh) in list(self._files.items()):
            try:
                fh.flush()
                buf = getattr(fh, "buffer", None)  # the GzipFile under the text wrapper
                if buf is not None:
                    buf.flush()  # Z_SYNC_FLUSH: what is on disk decompresses
            except (OSError, ValueError) as exc:
                self._error("flush", exc)
                self._drop(conn)

    def _drop(self, conn: str) -> None:
        entry = self._files.pop(conn, None)
        if entry is None:
            return
        try:
            entry[1].close()
        except (OSError, ValueError) as exc:
            self._error("close", exc)

    def _close_all(self) -> None:
        for conn in list(self._files):
            self._drop(conn)

    def _error(self, kind: str, exc: BaseException | None) -> None:
        self.errors[kind] += 1
        if self._errors_metric is not None:
            self._errors_metric.labels(kind=kind).inc()
        n = self._logged.get(kind, 0) + 1
        self._logged[kind] = n
        if n == 1 or n % 1000 == 0:
            log.error("feed recorder: %s error #%d (%r); trading continues", kind, n, exc)


def _make_metrics(metrics: Any) -> tuple[Any, Any]:
    """The recorder's two counters, on the bot's registry (only created when recording is on)."""
    from prometheus_client import Counter

    from pmbot.metrics import NAMESPACE

    reg = metrics.registry
    errors = Counter(
        "feed_record_errors",
        "Feed recorder failures (queue_full, open, write, flush, close); trading is not affected.",
        ["kind"],
        namespace=NAMESPACE,
        registry=reg,
    )
    for kind in ERROR_KINDS:
        errors.labels(kind=kind)
    written = Counter(
        "feed_record_lines",
        "Frames and REST books written by the feed recorder.",
        namespace=NAMESPACE,
        registry=reg,
    )
    return errors, written
