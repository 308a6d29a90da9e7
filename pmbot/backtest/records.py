"""Recorded frames: the recorder's files read back in time order, plus the markets sidecar.

A recording is one or more ``*.jsonl.gz`` (or plain ``*.jsonl``) files in the recorder's format
(``pmbot.venue.recorder``). Each file is in time order, so a k-way merge keeps memory bounded by the
number of files, not their length. A truncated gzip tail (a crash) ends that file's stream; bad
lines are counted and skipped.

``markets.json`` next to the data (written by the adapters, or by hand) names the markets: YES/NO
tokens, tick, minimum size, fee rate, end time and, when known, the settlement payout of YES.
Without it, markets are inferred from the frames (tokens grouped by condition id; the first token
seen is called YES: the unified book makes the choice immaterial for a market maker).
"""

from __future__ import annotations

import gzip
import heapq
import json
import os
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import IO, Any, NamedTuple

from pmbot.model import MarketInfo
from pmbot.venue.recorder import decode_line

MARKETS_FILE = "markets.json"


class Record(NamedTuple):
    """One recorded frame (a NamedTuple: built hundreds of thousands of times a second)."""

    t_ms: int
    conn: str
    kind: str  # ws | rest
    text: str
    seq: int = 0  # the recorder's hand-over order (ties within a millisecond)


@dataclass
class ReadStats:
    lines: int = 0
    bad_lines: int = 0
    truncated_files: int = 0
    files: list[str] = field(default_factory=list)


def data_files(paths: Iterable[str]) -> list[str]:
    """Every recording file under the given files/directories, sorted (deterministic order)."""
    out: list[str] = []
    for p in paths:
        if os.path.isdir(p):
            for root, _dirs, names in os.walk(p):
                out.extend(
                    os.path.join(root, n) for n in names if n.endswith((".jsonl.gz", ".jsonl"))
                )
        else:
            out.append(p)
    return sorted(set(out))


def _open(path: str) -> IO[str]:
    # newline="\n": frames are kept byte for byte (no universal-newline translation)
    if path.endswith(".gz"):
        return gzip.open(path, "rt", encoding="utf-8", newline="\n")
    return open(path, encoding="utf-8", newline="\n")  # noqa: SIM115 - closed by the generator below


def read_file(path: str, stats: ReadStats) -> Iterator[Record]:
    fh = _open(path)
    try:
        for line in fh:
            stats.lines += 1
            try:
                t, seq, conn, kind, text = decode_line(line)
            except (ValueError, KeyError, TypeError):
                stats.bad_lines += 1
                continue
            yield Record(t, conn, kind, text, seq)
    except (EOFError, zlib.error, gzip.BadGzipFile):
        stats.truncated_files += 1  # a crash mid-write: the readable prefix is replayed
    finally:
        fh.close()


def read_recording(paths: Iterable[str], stats: ReadStats | None = None) -> Iterator[Record]:
    """All records of all files, merged by receive time, then the recorder's sequence number."""
    stats = stats if stats is not None else ReadStats()
    files = data_files(paths)
    stats.files = files
    streams = [read_file(f, stats) for f in files]
    if len(streams) == 1:
        return streams[0]  # one file is already in order
    return heapq.merge(*streams, key=lambda r: (r.t_ms, r.seq))


@dataclass(frozen=True, slots=True)
class MarketMeta:
    info: MarketInfo
    payout_yes: Decimal | None = None  # 1 / 0 (or a split) once settled; None = unknown


def load_markets(paths: Iterable[str]) -> list[MarketMeta] | None:
    """The first ``markets.json`` found next to the data (directories or files' folders)."""
    for p in paths:
        folder = p if os.path.isdir(p) else os.path.dirname(p)
        candidate = os.path.join(folder, MARKETS_FILE)
        if os.path.exists(candidate):
            with open(candidate, encoding="utf-8") as fh:
                return markets_from_json(json.load(fh))
    return None


def markets_from_json(obj: Any) -> list[MarketMeta]:
    out = []
    for m in obj["markets"]:
        payout = m.get("payout_yes")
        out.append(
            MarketMeta(
                MarketInfo(
                    condition_id=m["condition_id"],
                    yes_token=m["yes_token"],
                    no_token=m["no_token"],
                    tick=Decimal(str(m.get("tick", "0.01"))),
                    min_size=Decimal(str(m.get("min_size", "5"))),
                    fee_rate=Decimal(str(m.get("fee_rate", "0"))),
                    slug=m.get("slug", ""),
                    question=m.get("question", ""),
                    end_date_ts=m.get("end_ts"),
                ),
                None if payout is None else Decimal(str(payout)),
            )
        )
    return out


def markets_to_json(metas: Iterable[MarketMeta]) -> dict:
    rows = []
    for meta in metas:
        m = meta.info
        rows.append(
            {
                "condition_id": m.condition_id,
                "yes_token": m.yes_token,
                "no_token": m.no_token,
                "tick": str(m.tick),
                "min_size": str(m.min_size),
                "fee_rate": str(m.fee_rate),
                "slug": m.slug,
                "question": m.question,
                "end_ts": m.end_date_ts,
                "payout_yes": None if meta.payout_yes is None else str(meta.payout_yes),
            }
        )
    return {"markets": rows}


def infer_markets(records: Iterable[Record]) -> list[MarketMeta]:
    """Markets from the frames themselves (one pass): tokens grouped by their condition id."""
    tokens: dict[str, list[str]] = {}
    ticks: dict[str, Decimal] = {}
    for rec in records:
        try:
            data = json.loads(rec.text) if rec.text.strip() else []
        except ValueError:
            continue
        for ev in data if isinstance(data, list) else [data]:
            if not isinstance(ev, dict):
                continue
            entries = ev.get("price_changes") or [ev]
            for e in entries if isinstance(entries, list) else []:
                if not isinstance(e, dict):
                    continue
                market, asset = ev.get("market") or e.get("market"), e.get("asset_id")
                if isinstance(market, str) and market and isinstance(asset, str) and asset:
                    toks = tokens.setdefault(market, [])
                    if asset not in toks:
                        toks.append(asset)
                    if ev.get("tick_size") and market not in ticks:
                        ticks[market] = Decimal(str(ev["tick_size"]))
    out = []
    for market, toks in sorted(tokens.items()):
        if len(toks) == 2:
            info = MarketInfo(market, toks[0], toks[1], tick=ticks.get(market, Decimal("0.01")))
            out.append(MarketMeta(info))
    return out
