"""The on-chain worker thread: takes intents from the strategy thread, journals them, sends them
through an executor (EOA sender or relayer client), and reports the outcome back.

One thread, one intent at a time, so transactions of one wallet go out in nonce order. Open
intents found in the journal at start-up are resumed first (a restart between the send and the
receipt settles once). A transient failure is retried with capped exponential back-off, as the
same intent (same journal record, same nonce); a rejection is final and leaves positions as they
were. An intent id seen before is never acted on again.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from pmbot.errors import FatalError, RejectedError, TransientError
from pmbot.onchain import abi
from pmbot.onchain.eoa import Stopping
from pmbot.onchain.journal import IntentJournal
from pmbot.onchain.messages import (
    MergeIntent,
    OnchainFailed,
    OnchainIntent,
    OnchainSettled,
    from_units,
    kind_of,
    to_units,
)
from pmbot.onchain.receipts import Receipt, collateral_received

log = logging.getLogger(__name__)
WEI = Decimal(10**18)


class TxExecutor(Protocol):
    address: str

    def start(self) -> None: ...

    def execute(self, intent_id: str, to: str, data: bytes) -> Receipt: ...


@dataclass(frozen=True, slots=True)
class Targets:
    """Where the calls go: the CTF (or the pUSD CtfCollateralAdapter) for binary markets, the
    NegRiskCtfCollateralAdapter for neg-risk ones (same signatures), and the collateral token."""

    collateral: str
    binary: str
    neg_risk: str


def call_for(intent: OnchainIntent, targets: Targets) -> tuple[str, bytes]:
    to = targets.neg_risk if intent.neg_risk else targets.binary
    if isinstance(intent, MergeIntent):
        return to, abi.merge_positions(
            targets.collateral, intent.condition_id, to_units(intent.shares)
        )
    return to, abi.redeem_positions(targets.collateral, intent.condition_id)


class OnchainWorker:
    def __init__(
        self,
        executor: TxExecutor,
        journal: IntentJournal,
        targets: Targets,
        sink: Callable[[OnchainSettled | OnchainFailed], None],
        *,
        backoff_secs: float = 5.0,
        backoff_max_secs: float = 300.0,
    ) -> None:
        self._executor = executor
        self._journal = journal
        self._targets = targets
        self._sink = sink
        self._backoff = backoff_secs
        self._backoff_max = backoff_max_secs
        self.inbox: queue.Queue[OnchainIntent | None] = queue.Queue()
        self.stop_event = threading.Event()
        self._retry: dict[str, tuple[float, int]] = {}  # intent id -> (due monotonic, attempts)
        self._thread: threading.Thread | None = None
        self.settled = 0
        self.failed = 0

    def submit(self, intent: OnchainIntent) -> None:
        """Called from the strategy thread."""
        self.inbox.put(intent)

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run, name="onchain", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self.stop_event.set()
        self.inbox.put(None)
        if self._thread is not None:
            self._thread.join(timeout)

    def run(self) -> None:
        try:
            self._executor.start()
        except (TransientError, FatalError) as exc:
            log.error("onchain worker cannot start: %s", exc)
            return
        self._replay_settled()
        for pending in self._journal.open_intents():
            log.info(
                "onchain: resuming %s %s from the journal", kind_of(pending), pending.intent_id
            )
            self._retry[pending.intent_id] = (0.0, 0)
        while not self.stop_event.is_set():
            if self._run_due():
                return
            try:
                intent = self.inbox.get(timeout=self._next_due())
            except queue.Empty:
                continue
            if intent is None:
                return
            if not self._journal.add_intent(intent):
                log.warning("onchain: intent %s seen before; ignored", intent.intent_id)
                continue
            if self._process(intent, attempts=0):
                return

    def _replay_settled(self) -> None:
        """Report every settled intent again: a settlement the strategy thread had not booked
        before a crash is booked now; one it had booked is a duplicate fill it drops."""
        for rec in self._journal.records.values():
            if rec.settled is None:
                continue
            intent = rec.intent
            shares = intent.shares if isinstance(intent, MergeIntent) else Decimal(0)
            self._sink(
                OnchainSettled(
                    intent.intent_id,
                    kind_of(intent),
                    intent.condition_id,
                    shares,
                    from_units(int(rec.settled["collateral_units"])),
                    str(rec.settled["tx_hash"]),
                    Decimal(int(rec.settled["cost_wei"])) / WEI,
                )
            )

    def _next_due(self) -> float | None:
        if not self._retry:
            return None
        return max(0.0, min(due for due, _ in self._retry.values()) - time.monotonic())

    def _run_due(self) -> bool:
        now = time.monotonic()
        for intent_id, (due, attempts) in sorted(self._retry.items(), key=lambda kv: kv[1][0]):
            if due <= now:
                del self._retry[intent_id]
                if self._process(self._journal.records[intent_id].intent, attempts):
                    return True
        return False

    def _process(self, intent: OnchainIntent, attempts: int) -> bool:
        """Execute one intent; True when the worker must stop."""
        kind = kind_of(intent)
        to, data = call_for(intent, self._targets)
        try:
            receipt = self._executor.execute(intent.intent_id, to, data)
        except Stopping:
            return True
        except FatalError as exc:  # bad credentials or wrong chain: stop acting, change nothing
            log.error("onchain worker stops: %s", exc)
            self._fail(intent, str(exc), final=False)
            return True
        except RejectedError as exc:
            self._fail(intent, str(exc), final=True)
        except TransientError as exc:
            delay = min(self._backoff * 2**attempts, self._backoff_max)
            self._retry[intent.intent_id] = (time.monotonic() + delay, attempts + 1)
            log.warning("onchain %s %s: %s; retry in %.0fs", kind, intent.intent_id, exc, delay)
            self._fail(intent, str(exc), final=False)
        else:
            self._settle(intent, receipt)
        return False

    def _settle(self, intent: OnchainIntent, receipt: Receipt) -> None:
        units = collateral_received(receipt, self._targets.collateral, self._executor.address)
        self._journal.settle(intent.intent_id, receipt.tx_hash, units, receipt.cost_wei)
        shares = intent.shares if isinstance(intent, MergeIntent) else Decimal(0)
        self.settled += 1
        log.info(
            "onchain %s %s settled: tx %s, %s pUSD back, gas %d wei",
            kind_of(intent),
            intent.intent_id,
            receipt.tx_hash,
            from_units(units),
            receipt.cost_wei,
        )
        self._sink(
            OnchainSettled(
                intent.intent_id,
                kind_of(intent),
                intent.condition_id,
                shares,
                from_units(units),
                receipt.tx_hash,
                Decimal(receipt.cost_wei) / WEI,
            )
        )

    def _fail(self, intent: OnchainIntent, error: str, *, final: bool) -> None:
        self._journal.fail(intent.intent_id, error, final=final)
        if final:
            self.failed += 1
            log.error("onchain %s %s failed: %s", kind_of(intent), intent.intent_id, error)
        self._sink(
            OnchainFailed(intent.intent_id, kind_of(intent), intent.condition_id, error, final)
        )
