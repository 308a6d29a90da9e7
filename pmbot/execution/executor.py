"""Executor: the only thread that places and cancels orders, plus the dead-man heartbeat and reconcile.

It turns the strategy's ``BotCommand``s into CLOB requests and reports back on ``reports``. The rules
that keep it from ever losing track of an order:

- **Cancels first.** Everything queued is drained before acting; cancels (``Cancel``, the cancel half of
  ``Replace``, ``CancelAll``) go before creates, and a create waiting for rate budget yields to a cancel
  that arrives meanwhile. Creates queued *before* a ``CancelAll`` are dropped (they would otherwise
  survive the cancel-all they preceded).
- **Per-order results are read one by one.** A batch can be HTTP 200 and fail per order: an order is
  accepted only if ``success && errorMsg == "" && orderID != ""`` and its status is live, matched,
  delayed or unmatched ("unmatched" = marketable, delay failed, so it was *placed*: it rests).
- **Transient errors are retried with the same signed orders** (same hash), with capped exponential
  backoff and full jitter, honouring ``Retry-After``. Resending the same hash can never create a second
  order: at worst the venue answers "Duplicated", which is reported as unknown (it is probably ours).
  If retries run out after an answer that leaves the outcome open (5xx), the orders are reported
  ``OrderUnknown``, not rejected.
- **Unknown outcome** (timeout/reset after send): ``OrderUnknown`` under the order hash; never resent.
  The order counts as open until the user channel or a reconcile (``GET /data/orders``) says otherwise.
- **Venue modes.** 503 cancel-only / disabled: creates are refused locally (kind ``venue_mode``) and one
  create batch is let through every ``mode_probe_secs`` to find out whether the mode lifted. Post-only
  mode: only post-only orders go, until ``Retry-After`` passes.
- **Dead-man heartbeat.** ``POST /v1/heartbeats`` every ``heartbeat_secs`` from its own thread; if the bot
  dies, the venue cancels everything ~10-15 s later.
"""

from __future__ import annotations

import logging
import queue
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from pmbot import ratelimit
from pmbot.errors import (
    FatalError,
    PmbotError,
    RejectedError,
    TransientError,
    UnknownOutcomeError,
    VenueModeError,
)
from pmbot.model import (
    Cancel,
    CancelAll,
    CancelResult,
    Create,
    NewOrder,
    OpenOrder,
    OpenOrdersSnapshot,
    OrderAccepted,
    OrderRejected,
    OrderType,
    OrderUnknown,
    Replace,
    Shutdown,
    Side,
    VenueMode,
    VenueModeChanged,
    dec,
)
from pmbot.venue.rest import MAX_BATCH_ORDERS
from pmbot.venue.signer import order_payload

log = logging.getLogger(__name__)

ACCEPTED_STATUSES = frozenset({"live", "matched", "delayed", "unmatched"})
MAX_HONOURED_RETRY_AFTER = 30.0  # a longer Retry-After means "not now": give up instead of blocking
UNVERIFIED = "<unverified>"


@dataclass(slots=True)
class _Tracked:
    """What the executor believes is open on the venue. ``since`` is monotonic seconds."""

    order_id: str
    market: str
    token_id: str
    since: float
    unknown: bool = False
    client_id: str = ""


def parse_open_order(row: dict) -> OpenOrder:
    """One ``GET /data/orders`` row -> OpenOrder (KeyError/ValueError on a malformed row)."""
    return OpenOrder(
        order_id=str(row["id"]),
        market=str(row.get("market", "")),
        token_id=str(row.get("asset_id", "")),
        side=Side(str(row["side"]).upper()),
        price=dec(row["price"]),
        original_size=dec(row["original_size"]),
        size_matched=dec(row.get("size_matched", "0")),
        status=str(row.get("status", "LIVE")),
        order_type=str(row.get("order_type", "GTC")),
        owner=str(row.get("owner", "")),
    )


def is_accepted(result: Any) -> bool:
    return (
        isinstance(result, dict)
        and result.get("success") is True
        and not result.get("errorMsg")
        and bool(result.get("orderID"))
        and str(result.get("status", "")).lower() in ACCEPTED_STATUSES
    )


class Executor:
    def __init__(
        self,
        rest,
        signer,
        creds,
        commands: queue.Queue,
        reports: queue.Queue,
        *,
        stop: threading.Event,
        metrics: Any = None,
        heartbeat_enabled: bool = True,
        heartbeat_secs: float = 5.0,
        reconcile_secs: float = 10.0,
        max_retries: int = 4,
        backoff_initial: float = 0.25,
        backoff_max: float = 5.0,
        rng: random.Random | None = None,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        mode_probe_secs: float = 5.0,
    ) -> None:
        self.rest = rest
        self.signer = signer
        self.creds = creds
        self.commands = commands
        self.reports = reports
        self.stop = stop
        self.metrics = metrics
        self.heartbeat_enabled = heartbeat_enabled
        self.heartbeat_secs = heartbeat_secs
        self.reconcile_secs = reconcile_secs
        self.max_retries = max_retries
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.rng = rng or random.Random()
        self.clock = clock
        self.monotonic = monotonic
        self.mode_probe_secs = mode_probe_secs

        self._halt = threading.Event()  # set on stop or Shutdown; every thread of ours waits on it
        self._lock = threading.Lock()  # guards _open
        self._open: dict[str, _Tracked] = {}
        self._pending: deque = deque()
        self._mode = VenueMode.NORMAL
        self._mode_until = 0.0  # monotonic: post-only mode lifts / next probe in cancel-only
        self._hb_last_ok: float | None = None
        self._hb_started = monotonic()
        self._threads: list[threading.Thread] = []

    def __repr__(self) -> str:
        return f"Executor(open={len(self._open)}, mode={self._mode.value})"

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        """Start the named threads: ``executor``, ``heartbeat`` (if enabled), ``reconcile`` (if > 0 s)."""
        specs = [("executor", self._run)]
        if self.heartbeat_enabled:
            specs.append(("heartbeat", self._heartbeat_loop))
        if self.reconcile_secs > 0:
            specs.append(("reconcile", self._reconcile_loop))
        for name, target in specs:
            thread = threading.Thread(target=target, name=name, daemon=False)
            thread.start()
            self._threads.append(thread)

    def join(self, timeout: float | None = None) -> bool:
        """Wait for every thread (after ``stop`` is set or a ``Shutdown`` was processed); True if all ended."""
        deadline = None if timeout is None else self.monotonic() + timeout
        for thread in self._threads:
            left = None if deadline is None else max(0.0, deadline - self.monotonic())
            thread.join(left)
        return not any(t.is_alive() for t in self._threads)

    def alive(self) -> bool:
        return bool(self._threads) and self._threads[0].is_alive() and not self._halt.is_set()

    def heartbeat_age(self) -> float:
        """Seconds since the last successful heartbeat (since start if none yet)."""
        last = self._hb_last_ok if self._hb_last_ok is not None else self._hb_started
        return max(0.0, self.monotonic() - last)

    def open_order_ids(self) -> set[str]:
        """The orders this executor believes open (accepted, adopted or of unknown outcome)."""
        with self._lock:
            return set(self._open)

    def unknown_order_ids(self) -> set[str]:
        with self._lock:
            return {oid for oid, t in self._open.items() if t.unknown}

    @property
    def mode(self) -> VenueMode:
        return self._mode

    def _halted(self) -> bool:
        if self.stop.is_set():
            self._halt.set()
        return self._halt.is_set()

    # ------------------------------------------------------------------ command loop

    def _run(self) -> None:
        try:
            while not self._halted():
                try:
                    cmd = self.commands.get(timeout=0.2)
                except queue.Empty:
                    self._idle()
                    continue
                self._pending.append(cmd)
                self._drain_queue()
                try:
                    while self._pending and not self._halt.is_set():
                        self._process_pending()  # may leave commands that arrived while a create waited
                except Exception:  # a bug must not kill the only thread that can cancel
                    log.exception("executor: unexpected error while processing commands")
        finally:
            self._halt.set()
            log.info("executor thread stopped (%d order(s) believed open)", len(self._open))

    def _drain_queue(self) -> None:
        while True:
            try:
                self._pending.append(self.commands.get_nowait())
            except queue.Empty:
                return

    def _idle(self) -> None:
        self._probe_mode_when_due()
        budget = getattr(self.rest, "rate_budget", None)
        if self.metrics is not None and budget is not None:
            for family in ratelimit.FAMILIES:
                self.metrics.rate_budget_remaining.labels(family=family).set(
                    budget.available(family)
                )

    def _probe_mode_when_due(self) -> None:
        """Cancel-only / disabled: the strategy pauses and sends no creates, so the create-batch probe
        alone would never run and the bot would stay paused after the venue recovered. Once a probe is
        due, report the venue as possibly normal: the strategy's next creates are the probe, and a 503
        puts the mode straight back."""
        if (
            self._mode in (VenueMode.CANCEL_ONLY, VenueMode.DISABLED)
            and self.monotonic() >= self._mode_until
        ):
            self._set_mode(
                VenueMode.NORMAL, f"probing whether {self._mode.value} mode lifted", None
            )

    def _process_pending(self) -> None:
        batch = list(self._pending)
        self._pending.clear()
        cancel_ids: list[str] = []
        creates: list[NewOrder] = []
        early: list[NewOrder] = []  # Replace(post_first=True) creates: sent before the cancels
        cancel_all = False
        shutdown = False
        for cmd in batch:
            if isinstance(cmd, Cancel):
                cancel_ids.extend(cmd.order_ids)
            elif isinstance(cmd, Replace):
                # Post-first creates may overtake their own cancels, never a cancel queued before them:
                # the strategy counted that order as gone and may be quoting the same terms again.
                post_first = cmd.post_first and not cancel_ids
                cancel_ids.extend(cmd.cancel_ids)
                (early if post_first else creates).extend(cmd.creates)
            elif isinstance(cmd, Create):
                creates.extend(cmd.orders)
            elif isinstance(cmd, CancelAll):
                cancel_all = True
                self._reject_local(early + creates, "superseded by cancel-all")
                creates, early = [], []
            elif isinstance(cmd, Shutdown):
                shutdown = True
            else:
                log.warning("executor: ignoring unknown command %s", type(cmd).__name__)
        if early and not cancel_all and not shutdown:
            creates = self._submit(early, defer_balance=True) + creates
        else:
            creates = early + creates
        if cancel_all:
            self._cancel_all()
        if cancel_ids:
            self._cancel(list(dict.fromkeys(cancel_ids)))
        if shutdown:
            self._reject_local(creates, "shutting down")
            log.info("executor: shutdown requested")
            self._halt.set()
            return
        if creates:
            self._submit(creates)

    # ------------------------------------------------------------------ retries

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        ceiling = min(self.backoff_max, self.backoff_initial * (2**attempt))
        delay = self.rng.uniform(0.0, ceiling)  # full jitter
        if retry_after is not None:
            delay = max(delay, retry_after)
        return delay

    def _with_retries(
        self, fn: Callable[[], Any], endpoint: str, wait: Callable[[float], bool]
    ) -> Any:
        """Call an idempotent request, retrying TransientError; re-raises the last error when out of tries."""
        attempt = 0
        while True:
            try:
                return fn()
            except TransientError as exc:
                self._count_error("transient")
                delay = self._backoff(attempt, exc.retry_after)
                if attempt >= self.max_retries or delay > MAX_HONOURED_RETRY_AFTER:
                    raise
                self._count_retry(endpoint, exc)
                log.info("%s: %s; retry %d in %.2f s", endpoint, exc, attempt + 1, delay)
                if wait(delay):
                    raise
                attempt += 1

    def _count_retry(self, endpoint: str, exc: TransientError) -> None:
        if self.metrics is not None:
            reason = str(exc.status) if exc.status else "network"
            self.metrics.exec_retries_total.labels(endpoint=endpoint, reason=reason).inc()

    def _count_error(self, kind: str) -> None:
        if self.metrics is not None:
            self.metrics.exec_errors_total.labels(kind=kind).inc()

    # ------------------------------------------------------------------ cancels

    def _forget(self, order_ids: Iterable[str]) -> None:
        with self._lock:
            for oid in order_ids:
                self._open.pop(oid, None)
        self._publish_unknown()

    def _cancel(self, order_ids: list[str]) -> None:
        try:
            result = self._with_retries(
                lambda: self.rest.cancel_orders(order_ids), "cancel_orders", self._halt.wait
            )
        except PmbotError as exc:
            log.warning(
                "cancel of %d order(s) failed: %s (reconcile will tell)", len(order_ids), exc
            )
            self._count_error(_kind_of(exc))
            self.reports.put(CancelResult(canceled=(), failed=tuple(order_ids)))
            return
        canceled = tuple(str(i) for i in result.get("canceled", ()))
        not_canceled = tuple(
            (str(k), str(v)) for k, v in (result.get("not_canceled") or {}).items()
        )
        # "not canceled" means matched or gone: either way it no longer rests.
        self._forget(list(canceled) + [oid for oid, _ in not_canceled])
        self.reports.put(CancelResult(canceled=canceled, not_canceled=not_canceled))

    def _cancel_all(self) -> None:
        try:
            result = self._with_retries(self.rest.cancel_all, "cancel_all", self._halt.wait)
        except PmbotError as exc:
            log.warning("cancel-all failed: %s", exc)
            self._count_error(_kind_of(exc))
            with self._lock:
                ids = tuple(self._open)
            self.reports.put(CancelResult(canceled=(), failed=ids))
            return
        with self._lock:
            self._open.clear()  # cancel-all leaves nothing of this key resting
        self._publish_unknown()
        not_canceled = tuple(
            (str(k), str(v)) for k, v in (result.get("not_canceled") or {}).items()
        )
        self.reports.put(
            CancelResult(canceled=tuple(result.get("canceled", ())), not_canceled=not_canceled)
        )

    def _run_urgent(self) -> bool:
        """While a create waits: run queued cancels now. True if a CancelAll ran (the waiting creates,
        queued before it, must then be dropped)."""
        self._drain_queue()
        if not any(isinstance(c, (Cancel, CancelAll, Replace, Shutdown)) for c in self._pending):
            return False
        keep: deque = deque()
        cancel_ids: list[str] = []
        cancel_all = False
        for cmd in self._pending:
            if isinstance(cmd, Cancel):
                cancel_ids.extend(cmd.order_ids)
            elif isinstance(cmd, Replace):
                cancel_ids.extend(cmd.cancel_ids)
                if cmd.creates:
                    keep.append(Create(cmd.creates))
            elif isinstance(cmd, CancelAll):
                cancel_all = True
                for kept in keep:  # creates queued before the cancel-all die with it
                    self._reject_local(list(kept.orders), "superseded by cancel-all")
                keep.clear()
                cancel_ids = []
            else:
                keep.append(cmd)
        self._pending = keep
        if cancel_all:
            self._cancel_all()
        if cancel_ids:
            self._cancel(list(dict.fromkeys(cancel_ids)))
        return cancel_all or any(isinstance(c, Shutdown) for c in keep)

    # ------------------------------------------------------------------ creates

    def _reject_local(self, orders: Iterable[NewOrder], reason: str, kind: str = "local") -> None:
        for order in orders:
            self.reports.put(
                OrderRejected(client_id=order.client_id, order=order, reason=reason, kind=kind)
            )

    def _set_mode(self, mode: VenueMode, reason: str, retry_after: float | None) -> None:
        now = self.monotonic()
        if mode is VenueMode.POST_ONLY:
            self._mode_until = now + (retry_after if retry_after else self.mode_probe_secs)
        else:
            self._mode_until = now + self.mode_probe_secs
        if mode is not self._mode:
            log.warning("venue mode %s -> %s: %s", self._mode.value, mode.value, reason)
            self._mode = mode
            self.reports.put(VenueModeChanged(mode=mode, reason=reason))

    def _mode_filter(self, orders: list[NewOrder]) -> list[NewOrder]:
        """Apply the venue mode: returns the orders that may be sent now; rejects the others locally."""
        if self._mode is VenueMode.NORMAL:
            return orders
        now = self.monotonic()
        if self._mode is VenueMode.POST_ONLY:
            if now >= self._mode_until:
                self._set_mode(VenueMode.NORMAL, "post-only window over", None)
                return orders
            allowed = [o for o in orders if o.post_only]
            self._reject_local(
                [o for o in orders if not o.post_only], "venue in post-only mode", kind="venue_mode"
            )
            return allowed
        if (
            now >= self._mode_until
        ):  # cancel-only / disabled: let this batch probe whether it lifted
            self._mode_until = now + self.mode_probe_secs
            return orders
        self._reject_local(orders, f"venue in {self._mode.value} mode", kind="venue_mode")
        return []

    def _submit(self, orders: list[NewOrder], *, defer_balance: bool = False) -> list[NewOrder]:
        """Sign and post ``orders`` in batches. With ``defer_balance``, orders the venue refuses for
        balance are returned (not reported) so the caller can retry them once after its cancels."""
        deferred: list[NewOrder] = []
        orders = self._mode_filter(orders)
        signed_items = []
        for order in orders:
            try:
                signed = self.signer.build(
                    order.token_id,
                    order.side,
                    order.price,
                    order.size,
                    neg_risk=order.neg_risk,
                    tick=order.tick,
                    expiration=order.expiration,
                )
                payload = order_payload(
                    signed, self.creds.api_key, order.order_type, order.post_only
                )
            except ValueError as exc:
                self._reject_local([order], f"not signed: {exc}")
                continue
            signed_items.append((order, signed, payload))
        for start in range(0, len(signed_items), MAX_BATCH_ORDERS):
            chunk = signed_items[start : start + MAX_BATCH_ORDERS]
            if not self._await_order_budget(len(chunk)):
                self._reject_local(
                    [o for o, _, _ in signed_items[start:]], "superseded by cancel-all or shutdown"
                )
                return deferred
            self._post_chunk(chunk, deferred=deferred if defer_balance else None)
        return deferred

    def _await_order_budget(self, cost: int) -> bool:
        """Wait for order budget, running cancels that arrive meanwhile. False = drop the creates."""
        budget = getattr(self.rest, "rate_budget", None)
        while budget is not None:
            delay = budget.delay(ratelimit.ORDERS, cost)
            if delay <= 0:
                return True
            if self._run_urgent() or self._halted():
                return False
            try:
                self._pending.append(self.commands.get(timeout=delay))
            except queue.Empty:
                pass
        return not self._halted()

    def _post_chunk(
        self, chunk: list, *, mode_retry: bool = True, deferred: list | None = None
    ) -> None:
        payloads = [p for _, _, p in chunk]
        uncertain = False
        attempt = 0
        self._observe_tick_to_order(chunk)
        while True:
            try:
                results = self.rest.post_orders(payloads)
                break
            except TransientError as exc:
                self._count_error("transient")
                uncertain = uncertain or (exc.status is not None and exc.status >= 500)
                delay = self._backoff(attempt, exc.retry_after)
                if (
                    attempt >= self.max_retries
                    or delay > MAX_HONOURED_RETRY_AFTER
                    or self._halt.wait(delay)
                ):
                    self._give_up(chunk, str(exc), uncertain)
                    return
                self._count_retry("post_orders", exc)
                attempt += 1
            except UnknownOutcomeError as exc:
                self._count_error("unknown_outcome")
                self._mark_unknown(chunk, str(exc))
                return
            except VenueModeError as exc:
                self._count_error("venue_mode")
                self._set_mode(VenueMode(exc.mode), str(exc), exc.retry_after)
                if uncertain:  # an earlier attempt may have placed them: do not call them rejected
                    self._mark_unknown(chunk, f"venue mode after retry: {exc}")
                    return
                postable = (
                    [item for item in chunk if item[0].post_only] if exc.mode == "post_only" else []
                )
                rest_ = [item for item in chunk if item not in postable]
                self._reject_local([o for o, _, _ in rest_], str(exc), kind="venue_mode")
                if postable and mode_retry:
                    self._post_chunk(postable, mode_retry=False, deferred=deferred)
                elif postable:
                    self._reject_local([o for o, _, _ in postable], str(exc), kind="venue_mode")
                return
            except (RejectedError, FatalError) as exc:
                self._count_error(_kind_of(exc))
                if uncertain:
                    self._mark_unknown(chunk, f"rejected after an open-ended retry: {exc}")
                    return
                log.warning("order batch of %d rejected: %s", len(chunk), exc)
                for order, signed, _ in chunk:
                    self.reports.put(
                        OrderRejected(
                            order.client_id,
                            order,
                            str(exc),
                            kind="rejected",
                            order_id=signed.order_id,
                        )
                    )
                return
        proves_normal = self._mode is not VenueMode.POST_ONLY or any(
            not o.post_only for o, _, _ in chunk
        )
        if self._mode is not VenueMode.NORMAL and proves_normal:
            self._set_mode(VenueMode.NORMAL, "orders accepted again", None)
        self._read_results(chunk, results, retried=uncertain, deferred=deferred)

    def _observe_tick_to_order(self, chunk: list) -> None:
        """Tick-to-order: from the market-data frame that caused an order coming off the socket to
        the request that carries it being written (signing and batching included)."""
        if self.metrics is None:
            return
        now_ns = time.monotonic_ns()
        for order, _, _ in chunk:
            if order.origin_ns:
                self.metrics.tick_to_order_seconds.observe((now_ns - order.origin_ns) / 1e9)

    def _read_results(
        self, chunk: list, results: list, *, retried: bool, deferred: list | None = None
    ) -> None:
        now = self.monotonic()
        for index, (order, signed, _) in enumerate(chunk):
            result = results[index] if index < len(results) else None
            if is_accepted(result):
                order_id = str(result["orderID"])
                if order_id.lower() != signed.order_id.lower():
                    log.warning(
                        "venue order id %s differs from our hash %s", order_id, signed.order_id
                    )
                status = str(result["status"]).lower()
                rests = (
                    order.order_type not in (OrderType.FOK, OrderType.FAK) or status == "delayed"
                )
                if (
                    rests
                ):  # an immediate order that was answered matched/unmatched never rests on the book
                    with self._lock:
                        self._open[order_id] = _Tracked(
                            order_id, order.market, order.token_id, now, client_id=order.client_id
                        )
                self.reports.put(
                    OrderAccepted(
                        client_id=order.client_id,
                        order_id=order_id,
                        status=str(result["status"]).lower(),
                        order=order,
                        taking_amount=str(result.get("takingAmount", "") or ""),
                        making_amount=str(result.get("makingAmount", "") or ""),
                        trade_ids=tuple(str(t) for t in (result.get("tradeIDs") or ())),
                    )
                )
                continue
            reason = (
                str(
                    result.get("errorMsg")
                    or result.get("error")
                    or result.get("status")
                    or "rejected"
                )
                if isinstance(result, dict)
                else "no per-order result"
            )
            if result is None or (retried and "duplicat" in reason.lower()):
                self._mark_unknown(
                    [(order, signed, None)], reason
                )  # probably placed by an earlier attempt
                continue
            if deferred is not None and "balance" in reason.lower():
                deferred.append(
                    order
                )  # posted ahead of its cancels; retried once they freed collateral
                continue
            self.reports.put(
                OrderRejected(
                    order.client_id, order, reason, kind="rejected", order_id=signed.order_id
                )
            )

    def _give_up(self, chunk: list, reason: str, uncertain: bool) -> None:
        if uncertain:
            self._mark_unknown(chunk, f"retries exhausted after an open-ended answer: {reason}")
            return
        for order, signed, _ in chunk:
            self.reports.put(
                OrderRejected(
                    order.client_id,
                    order,
                    f"retries exhausted: {reason}",
                    kind="transient",
                    order_id=signed.order_id,
                )
            )

    def _mark_unknown(self, chunk: list, reason: str) -> None:
        now = self.monotonic()
        for order, signed, _ in chunk:
            with self._lock:
                self._open[signed.order_id] = _Tracked(
                    signed.order_id,
                    order.market,
                    order.token_id,
                    now,
                    unknown=True,
                    client_id=order.client_id,
                )
            log.warning(
                "order %s outcome unknown (%s): counted as live until reconciled",
                signed.order_id,
                reason,
            )
            self.reports.put(
                OrderUnknown(
                    client_id=order.client_id, order_id=signed.order_id, order=order, reason=reason
                )
            )
        self._publish_unknown()

    def _publish_unknown(self) -> None:
        if self.metrics is not None:
            with self._lock:
                count = sum(1 for t in self._open.values() if t.unknown)
            self.metrics.unknown_outcome_orders.set(count)

    # ------------------------------------------------------------------ heartbeat

    def _heartbeat_loop(self) -> None:
        heartbeat_id = ""
        delay = 0.0
        while not self._halt.wait(delay):
            if self.stop.is_set():
                self._halt.set()
                break
            try:
                heartbeat_id = self.rest.heartbeat(heartbeat_id)
                self._hb_last_ok = self.monotonic()
                if self.metrics is not None:
                    self.metrics.mark_heartbeat()
                delay = self.heartbeat_secs
            except PmbotError as exc:
                log.warning("heartbeat failed: %s", exc)
                if self.metrics is not None:
                    self.metrics.heartbeats_missed_total.inc()
                delay = min(1.0, self.heartbeat_secs)  # try again soon: the venue's window is ~10 s
        log.info("heartbeat thread stopped")

    # ------------------------------------------------------------------ reconcile

    def _reconcile_loop(self) -> None:
        while not self._halt.wait(self.reconcile_secs):
            if self.stop.is_set():
                self._halt.set()
                break
            try:
                self.reconcile_now()
            except PmbotError as exc:
                log.warning("reconcile failed: %s", exc)
            except Exception:
                log.exception("reconcile: unexpected error")
        log.info("reconcile thread stopped")

    def _list_open(self, wait: Callable[[float], bool]) -> list[OpenOrder]:
        rows = self._with_retries(self.rest.open_orders, "open_orders", wait)
        orders = []
        for row in rows:
            try:
                orders.append(parse_open_order(row))
            except (KeyError, ValueError, TypeError, ArithmeticError) as exc:
                log.warning("skipping malformed open order row: %s", exc)
                if self.metrics is not None:
                    self.metrics.feed_parse_errors_total.labels(kind="schema").inc()
        return orders

    def reconcile_now(self) -> OpenOrdersSnapshot:
        """``GET /data/orders`` and make the local open set equal to it (orders accepted after the
        listing started are kept). Every difference is logged with its cause; the snapshot goes on
        ``reports`` for the strategy (which counts the differences against its own tracker)."""
        started = self.monotonic()
        orders = self._list_open(self._halt.wait)
        venue = {o.order_id: o for o in orders}
        with self._lock:
            for oid, tracked in list(self._open.items()):
                if oid in venue or tracked.since >= started:
                    if oid in venue and tracked.unknown:
                        tracked.unknown = False
                        log.info("reconcile: order %s of unknown outcome is live on the venue", oid)
                    continue
                del self._open[oid]
                cause = (
                    "unknown outcome resolved: not on the venue"
                    if tracked.unknown
                    else "filled or cancelled"
                )
                log.info("reconcile: order %s no longer open (%s)", oid, cause)
            for oid, o in venue.items():
                if oid not in self._open:
                    log.warning(
                        "reconcile: venue has order %s this executor did not know; tracking it", oid
                    )
                    self._open[oid] = _Tracked(oid, o.market, o.token_id, started)
        self._publish_unknown()
        snapshot = OpenOrdersSnapshot(orders=tuple(orders), taken_ns=time.monotonic_ns())
        self.reports.put(snapshot)
        return snapshot

    # ------------------------------------------------------------------ start-up and kill switch

    def cleanup_orphans(self, known_ids: set[str], adopt: bool = False) -> list[OpenOrder]:
        """Start-up: list this key's open orders; cancel (or adopt) every one not in ``known_ids``.
        Returns the orphans found. Raises if the venue cannot be listed (starting blind is unsafe)."""
        pause = threading.Event().wait
        listed = self._list_open(pause)
        orphans = [o for o in listed if o.order_id not in known_ids]
        if not orphans:
            return []
        ids = [o.order_id for o in orphans]
        if adopt:
            now = self.monotonic()
            with self._lock:
                for o in orphans:
                    self._open[o.order_id] = _Tracked(o.order_id, o.market, o.token_id, now)
            log.info("adopted %d open order(s) found at start-up", len(ids))
            self.reports.put(OpenOrdersSnapshot(orders=tuple(listed), taken_ns=time.monotonic_ns()))
            return orphans
        result = self._with_retries(lambda: self.rest.cancel_orders(ids), "cancel_orders", pause)
        not_canceled = result.get("not_canceled") or {}
        log.info(
            "start-up: cancelled %d orphan order(s); not cancelled: %s",
            len(result.get("canceled", ())),
            not_canceled or "none",
        )
        return orphans

    def cancel_all_and_verify(self, deadline_secs: float = 10.0) -> list[str]:
        """Kill switch: cancel everything of this key, then ``GET /data/orders`` until nothing is left,
        retrying within the deadline (the venue may fail the first attempts). Returns the ids still open;
        empty means verified. If the venue could never be listed, returns the locally known ids, or
        ``["<unverified>"]`` when none are known, so an unverified kill switch never looks clean.
        Usable after ``stop`` is set (it does not wait on it)."""
        end = self.monotonic() + deadline_secs
        pause = threading.Event().wait
        left: list[str] | None = None
        attempt = 0
        while True:
            try:
                if (
                    left
                ):  # cancel-all answered but orders remain (or it failed): name them explicitly
                    self.rest.cancel_orders(left)
                else:
                    self.rest.cancel_all()
            except PmbotError as exc:
                log.warning("kill switch: cancel attempt %d failed: %s", attempt + 1, exc)
                if left:
                    try:
                        self.rest.cancel_all()
                    except PmbotError as exc2:
                        log.warning("kill switch: cancel-all also failed: %s", exc2)
            try:
                left = [o.order_id for o in self._list_open_once()]
                if not left:
                    with self._lock:
                        self._open.clear()
                    self._publish_unknown()
                    log.info("kill switch: verified, no open orders left")
                    return []
                log.warning(
                    "kill switch: %d order(s) still open after attempt %d", len(left), attempt + 1
                )
            except PmbotError as exc:
                log.warning("kill switch: listing open orders failed: %s", exc)
            remaining = end - self.monotonic()
            if remaining <= 0:
                break
            pause(min(self._backoff(attempt, None) + 0.05, remaining))
            attempt += 1
        if left is not None:
            return left
        with self._lock:
            known = sorted(self._open)
        return known or [UNVERIFIED]

    def _list_open_once(self) -> list[OpenOrder]:
        rows = self.rest.open_orders()
        return [parse_open_order(r) for r in rows if isinstance(r, dict) and "id" in r]


def _kind_of(exc: Exception) -> str:
    if isinstance(exc, VenueModeError):
        return "venue_mode"
    if isinstance(exc, UnknownOutcomeError):
        return "unknown_outcome"
    if isinstance(exc, RejectedError):
        return "rejected"
    if isinstance(exc, FatalError):
        return "fatal"
    return "transient"
