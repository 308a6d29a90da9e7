"""Append-only intent journal (JSON lines, fsynced): what was decided and sent, before it is sent.

Each on-chain intent goes through ``intent`` -> ``sent`` (one line per signed transaction: the
original and each same-nonce replacement, with its raw bytes so it can be re-broadcast) or
``relay_req`` (the signed relayer request, bound to the wallet's nonce so re-posting it can
never execute twice) and ``relayed`` (the relayer's transaction id) -> ``settled`` or
``failed``. After a restart, ``open_intents`` lists the intents neither settled nor finally
failed; the worker resumes them from their recorded transactions, so an intent is settled once
and never sent twice.
Nothing secret is written: raw transactions are public once broadcast.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from pmbot.onchain.messages import MergeIntent, OnchainIntent, RedeemIntent, kind_of

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SentTx:
    nonce: int
    tx_hash: str
    raw: str
    max_fee: int
    tip: int
    gas: int


@dataclass(slots=True)
class IntentRecord:
    intent: OnchainIntent
    sends: list[SentTx] = field(default_factory=list)
    relay_ids: list[str] = field(default_factory=list)
    relay_requests: list[dict[str, Any]] = field(default_factory=list)  # signed, nonce-bound
    settled: dict[str, Any] | None = None
    failed_final: bool = False

    @property
    def open(self) -> bool:
        return self.settled is None and not self.failed_final


def _intent_from(rec: dict[str, Any]) -> OnchainIntent:
    if rec["kind"] == "merge":
        return MergeIntent(
            rec["id"], rec["condition_id"], Decimal(rec["shares"]), rec["neg_risk"], rec["reason"]
        )
    return RedeemIntent(rec["id"], rec["condition_id"], rec["neg_risk"])


class IntentJournal:
    def __init__(self, path: str | Path) -> None:
        self._path = Path(path)
        self._lock = threading.Lock()
        self.records: dict[str, IntentRecord] = {}
        self.malformed = 0
        if self._path.exists():
            self._load()
        self._path.parent.mkdir(parents=True, exist_ok=True)
        self._fh = open(self._path, "a", encoding="utf-8")  # noqa: SIM115 - kept open
        if self._path.stat().st_size and not self._ends_with_newline():
            self._fh.write("\n")  # end a torn last line so the next record starts clean
            self._fh.flush()

    def _ends_with_newline(self) -> bool:
        with open(self._path, "rb") as fh:
            fh.seek(-1, os.SEEK_END)
            return fh.read(1) == b"\n"

    def _load(self) -> None:
        with open(self._path, encoding="utf-8") as fh:
            for line in fh:
                try:
                    self._apply(json.loads(line))
                except (ValueError, KeyError, TypeError):
                    self.malformed += 1  # a torn last line after a crash: skip, count
        if self.malformed:
            log.warning("onchain journal: %d malformed lines skipped", self.malformed)

    def _apply(self, rec: dict[str, Any]) -> None:
        ev, iid = rec["ev"], rec["id"]
        if ev == "intent":
            self.records.setdefault(iid, IntentRecord(_intent_from(rec)))
            return
        r = self.records[iid]
        if ev == "sent":
            r.sends.append(
                SentTx(
                    rec["nonce"], rec["tx_hash"], rec["raw"], rec["max_fee"], rec["tip"], rec["gas"]
                )
            )
        elif ev == "relay_req":
            r.relay_requests.append(rec["body"])
        elif ev == "relayed":
            r.relay_ids.append(rec["relay_id"])
        elif ev == "settled":
            r.settled = rec
        elif ev == "failed":
            r.failed_final = r.failed_final or bool(rec["final"])

    def _write(self, rec: dict[str, Any]) -> None:
        with self._lock:
            self._apply(rec)
            self._fh.write(json.dumps(rec, separators=(",", ":")) + "\n")
            self._fh.flush()
            os.fsync(self._fh.fileno())

    # --- writers ---------------------------------------------------------------------------------

    def add_intent(self, intent: OnchainIntent) -> bool:
        """Record a new intent; False if its id is already known (never act on it twice)."""
        if intent.intent_id in self.records:
            return False
        rec: dict[str, Any] = {
            "ev": "intent",
            "id": intent.intent_id,
            "kind": kind_of(intent),
            "condition_id": intent.condition_id,
            "neg_risk": intent.neg_risk,
        }
        if isinstance(intent, MergeIntent):
            rec.update(shares=str(intent.shares), reason=intent.reason)
        self._write(rec)
        return True

    def add_sent(self, intent_id: str, tx: SentTx) -> None:
        rec: dict[str, Any] = {
            "ev": "sent",
            "id": intent_id,
            "nonce": tx.nonce,
            "tx_hash": tx.tx_hash,
        }
        rec.update(raw=tx.raw, max_fee=tx.max_fee, tip=tx.tip, gas=tx.gas)
        self._write(rec)

    def add_relay_request(self, intent_id: str, body: dict[str, Any]) -> None:
        self._write({"ev": "relay_req", "id": intent_id, "body": body})

    def add_relayed(self, intent_id: str, relay_id: str) -> None:
        self._write({"ev": "relayed", "id": intent_id, "relay_id": relay_id})

    def settle(self, intent_id: str, tx_hash: str, collateral_units: int, cost_wei: int) -> None:
        rec: dict[str, Any] = {"ev": "settled", "id": intent_id, "tx_hash": tx_hash}
        rec.update(collateral_units=collateral_units, cost_wei=cost_wei)
        self._write(rec)

    def fail(self, intent_id: str, error: str, *, final: bool) -> None:
        self._write({"ev": "failed", "id": intent_id, "error": error[:300], "final": final})

    # --- readers ---------------------------------------------------------------------------------

    def open_intents(self) -> list[OnchainIntent]:
        return [r.intent for r in self.records.values() if r.open]

    def pending_conditions(self) -> set[str]:
        return {r.intent.condition_id for r in self.records.values() if r.open}

    def max_nonce(self) -> int | None:
        nonces = [s.nonce for r in self.records.values() for s in r.sends]
        return max(nonces) if nonces else None

    def close(self) -> None:
        with self._lock:
            self._fh.close()
