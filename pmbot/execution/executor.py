"""Executor: a pipe from the strategy's commands to signed CLOB requests, and reports back.

It keeps no order set: the strategy thread's order tracker is the only record of the bot's orders.
Threads (all named, all joined): ``executor`` (the command loop), ``exec-cancels`` (cancel lane),
``exec-creates`` (create lane), ``exec-warm`` (keeps the lanes' connections open), ``heartbeat``
(if enabled) and ``reconcile`` (the one periodic ``GET /data/orders`` poller, if
``reconcile_secs`` > 0). The rules:

- **Cancels first, always.** Cancels and creates run on separate lanes with their own threads and
  connections, so a cancel is never delayed by a create's retry, back-off, rate-budget wait or
  answer; creates still waiting when a cancel of their market arrives are dropped (reported
  rejected, kind ``local``). A re-quote whose creates cannot cross the orders it cancels posts them
  alongside the cancel, right after the cancel was written (issue 20).
- **Per-order results are read one by one** (``post_results``); **transient errors are retried with
  the same signed orders**; **unknown outcomes** are reported ``OrderUnknown`` and never resent.
- **Venue modes** (``venue_mode``): cancel-only / disabled refuse creates locally and probe;
  post-only sends only post-only orders until ``Retry-After`` passes.

``pmbot.execution`` does not import ``pmbot.venue``: the REST client, the order signing and the
open-orders row parser are passed in (see ``ports``).
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from typing import Any

from pmbot.execution import killswitch
from pmbot.execution.cancel_lane import CancelLane
from pmbot.execution.commands import CommandLoop
from pmbot.execution.create_lane import CreateLane
from pmbot.execution.heartbeat import Heartbeat
from pmbot.execution.killswitch import UNVERIFIED
from pmbot.execution.open_orders import OpenOrdersPoller
from pmbot.execution.ports import (
    CommandQueue,
    OrderRest,
    OrderSigning,
    ParseOpenOrder,
    ReportQueue,
)
from pmbot.execution.presign import Presigner
from pmbot.execution.pulls import PullDesk
from pmbot.execution.retry import RetryPolicy
from pmbot.execution.venue_mode import ModeGate
from pmbot.execution.warm import keep_warm_loop
from pmbot.model import OpenOrdersSnapshot, VenueMode

__all__ = ["UNVERIFIED", "Executor"]

DEFAULT_MAX_BATCH = 15  # the venue's POST /orders limit (pmbot.venue.rest.MAX_BATCH_ORDERS)


class Executor:
    def __init__(
        self,
        rest: OrderRest,
        signing: OrderSigning,
        commands: CommandQueue,
        reports: ReportQueue,
        *,
        stop: threading.Event,
        parse_open_order: ParseOpenOrder,
        metrics: Any = None,
        heartbeat_enabled: bool = True,
        heartbeat_secs: float = 5.0,
        reconcile_secs: float = 10.0,
        max_retries: int = 4,
        backoff_initial: float = 0.25,
        backoff_max: float = 5.0,
        rng: random.Random | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        mode_probe_secs: float = 5.0,
        max_batch: int = DEFAULT_MAX_BATCH,
    ) -> None:
        self.rest = rest
        self.commands = commands
        self.reports = reports
        self.stop = stop
        self.monotonic = monotonic
        self.parse_open_order = parse_open_order
        self.heartbeat_enabled = heartbeat_enabled
        self.reconcile_secs = reconcile_secs
        self._halt = threading.Event()  # set on stop or Shutdown; every thread of ours waits on it
        self.retry = RetryPolicy(
            max_retries, backoff_initial, backoff_max, rng or random.Random(), metrics
        )
        self.gate = ModeGate(reports, monotonic, mode_probe_secs)
        self.cancels = CancelLane(rest, reports, self.retry, self._halt, metrics=metrics)
        lane_args = (rest, signing, reports, self.retry, self.gate, self._halt)
        self.creates = CreateLane(*lane_args, max_batch=max_batch, metrics=metrics)
        self.cancels.on_done = self.creates.wake
        self.pulls = PullDesk(rest, reports, self.cancels, self._halt, metrics, monotonic)
        self.presigner = Presigner(signing, monotonic=monotonic, metrics=metrics)
        self.loop = CommandLoop(commands, self.cancels, self.creates, self._halt, stop)
        self.heartbeat = Heartbeat(
            rest, self._halt, stop, interval=heartbeat_secs, monotonic=monotonic, metrics=metrics
        )
        self.poller = OpenOrdersPoller(
            lambda: rest.open_orders(),
            parse_open_order,
            reports,
            self._halt,
            interval=reconcile_secs,
            metrics=metrics,
        )
        self._threads: list[threading.Thread] = []

    def __repr__(self) -> str:
        return f"Executor(mode={self.gate.mode.value}, halted={self._halt.is_set()})"

    # ------------------------------------------------------------------ lifecycle

    def start(self, order_version: int | None = None) -> None:
        """Checks the order version first, then starts the threads. ``order_version``: the one the
        runner already read and checked at start-up (so ``GET /version`` is read once); without
        it, read here (transient errors retried; FatalError with the operator's message if the
        venue wants one the bot cannot sign)."""
        if order_version is None:
            self.retry.call(self.creates.signing.check_version, "version", threading.Event().wait)
        self.cancels.warmth.keep_warm(force=True)  # the first cancel and post find open connections
        self.creates.warmth.keep_warm(force=True)
        for warmth in self.pulls.warmths.values():
            warmth.keep_warm(force=True)
        specs: list[tuple[str, Callable[[], None]]] = [
            ("executor", self.loop.run),
            ("exec-cancels", self.cancels.run),
            ("exec-creates", self.creates.run),
            ("exec-pulls", self.pulls.run),
        ]
        lanes = [self.cancels.warmth, self.creates.warmth, *self.pulls.warmths.values()]
        specs.append(("exec-warm", lambda: keep_warm_loop(lanes, self._halt)))
        if self.heartbeat_enabled:
            specs.append(("heartbeat", self.heartbeat.run))
        if self.reconcile_secs > 0:
            specs.append(("reconcile", self.poller.run))
        for name, target in specs:
            thread = threading.Thread(target=target, name=name, daemon=False)
            thread.start()
            self._threads.append(thread)

    def join(self, timeout: float | None = None) -> bool:
        """Wait for every thread (after ``stop`` is set or a ``Shutdown`` was processed)."""
        if self.stop.is_set():
            self._halt.set()
            self.creates.wake()
        deadline = None if timeout is None else time.monotonic() + timeout
        for thread in self._threads:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            thread.join(left)
        return not any(t.is_alive() for t in self._threads)

    def alive(self) -> bool:
        return (
            len(self._threads) >= 3
            and all(t.is_alive() for t in self._threads[:3])
            and not self._halt.is_set()
            and self.creates.fatal is None  # a version the bot cannot sign: it must stop
        )

    def heartbeat_age(self) -> float:
        return self.heartbeat.age()

    @property
    def mode(self) -> VenueMode:
        return self.gate.mode

    # ------------------------------------------------------------------ start-up and kill switch

    def list_open_orders(self) -> OpenOrdersSnapshot:
        """Start-up: list this key's open orders, retrying transient errors. Raises if the venue
        cannot be listed (starting blind is unsafe)."""
        pause = threading.Event().wait
        return self.retry.call(self.poller.snapshot, "open_orders", pause)

    def poll_open_orders(self) -> OpenOrdersSnapshot | None:
        """One poll now, put on the reports queue like the periodic ones."""
        return self.poller.poll_once()

    def cancel_orphans(self, order_ids: list[str]) -> dict:
        return killswitch.cancel_orphans(self.rest, self.retry, order_ids)

    def cancel_all_and_verify(
        self, deadline_secs: float = 10.0, known_open: Callable[[], list[str]] = list
    ) -> list[str]:
        """Kill switch (see ``killswitch.cancel_all_and_verify``); usable after ``stop`` is set."""
        return killswitch.cancel_all_and_verify(
            self.rest,
            self.parse_open_order,
            self.retry,
            self.monotonic,
            known_open,
            deadline_secs,
        )
