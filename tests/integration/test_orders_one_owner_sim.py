"""Issue 12 against the bundled exchange, the bot in sim mode in this process (real threads, real
sockets on loopback): cancels are never held behind creates the exchange answers with 429 +
Retry-After: 5, and ``pmbot_orders_cancelled_total`` equals the exchange's own count of the bot's
cancels after many re-quotes. The exchange's side is recorded inside the exchange (every
cancellation it performs, with the monotonic time the request reached it)."""

from __future__ import annotations

import json
import threading
import time
from decimal import Decimal as D

import pytest

from pmbot.model import Cancel, CancelAll, Replace
from pmbot.sim.engine import Exchange
from tests.integration.botproc import wait_for
from tests.integration.test_bot_sim_mode import sim_runner


class CancelRecorder:
    """Wraps ``Exchange._cancel_ids`` (every cancel path of the exchange goes through it)."""

    def __init__(self, monkeypatch) -> None:
        self.lock = threading.Lock()
        self.arrivals: dict[str, float] = {}  # order id -> when its cancel reached the exchange
        self.cancelled: dict[str, list[str]] = {}  # owner -> ids the exchange cancelled
        original = Exchange._cancel_ids
        recorder = self

        def _cancel_ids(exchange, owner, order_ids, now):
            arrived = time.monotonic()
            result = original(exchange, owner, order_ids, now)
            with recorder.lock:
                for oid in order_ids:
                    recorder.arrivals.setdefault(oid, arrived)
                recorder.cancelled.setdefault(owner, []).extend(result["canceled"])
            return result

        monkeypatch.setattr(Exchange, "_cancel_ids", _cancel_ids)

    def count(self, owner: str) -> int:
        with self.lock:
            return len(self.cancelled.get(owner, []))


class DecisionRecorder:
    """Wraps the strategy thread's command queue: when each cancel was decided."""

    def __init__(self, commands) -> None:
        self.decided: dict[str, float] = {}
        self.lock = threading.Lock()
        put = commands.put

        def recording_put(cmd, *a, **kw):
            ids = ()
            if isinstance(cmd, Cancel):
                ids = cmd.order_ids
            elif isinstance(cmd, Replace):
                ids = cmd.cancel_ids
            now = time.monotonic()
            with self.lock:
                for oid in ids:
                    self.decided.setdefault(oid, now)
            if isinstance(cmd, CancelAll):
                with self.lock:
                    self.decided.setdefault("<all>", now)
            return put(cmd, *a, **kw)

        commands.put = recording_put


def bot_quotes(r, market):
    return [o for o in r.sim.exchange.open_orders(r.engine.api_key) if o["market"] == market]


def cancelled_metric(r) -> float:
    return sum(
        r.metrics.value("pmbot_orders_cancelled_total", {"market": cid}) or 0.0
        for cid in r.engine.market_by_cid
    )


@pytest.mark.parametrize("pulls", [False, True], ids=["strategy-cancels", "feed-pulls"])
def test_old_quotes_are_cancelled_at_once_while_creates_get_429_retry_after_5(
    tmp_path, monkeypatch, pulls
):
    """Without pulls the strategy cancels the old quotes through the cancel lane, which must not
    wait behind the creates backing off. With pulls (issue 20) the feed thread takes both sides as
    their touches move, on its own connections, and the strategy has nothing left to cancel."""
    recorder = CancelRecorder(monkeypatch)
    with sim_runner(tmp_path, execution={"pull_stale_quotes": pulls}) as r:
        market = next(m for m in r.engine.markets if m.tick == D("0.01"))
        faults = r.sim.faults
        faults.set_book(market.yes_token, [("0.50", "200")], [("0.54", "200")])
        first = wait_for(
            lambda: (q := bot_quotes(r, market.condition_id)) and len(q) == 2 and q,
            20,
            what="two quotes on the frozen market",
        )
        decisions = DecisionRecorder(r.engine.commands)
        faults.http_429(0, retry_after_secs=5.0)  # Retry-After: 5 ...
        faults.error_probability(p_429=1.0)  # ... on every create; cancels are answered
        moved_at = time.monotonic()
        faults.set_book(market.yes_token, [("0.53", "200")], [("0.57", "200")])  # crosses none
        old = [o["id"] for o in first]
        wait_for(
            lambda: not any(o["id"] in old for o in bot_quotes(r, market.condition_id)),
            4.0,  # less than one Retry-After: a cancel held behind a create would miss it
            interval=0.02,
            what="the old quotes cancelled while creates back off",
        )
        latencies = [
            recorder.arrivals[oid] - decisions.decided[oid]
            for oid in old
            if oid in decisions.decided
        ]
        assert bot_quotes(r, market.condition_id) == []  # no create got through meanwhile
        retried = wait_for(
            lambda: r.metrics.value(
                "pmbot_exec_retries_total", {"endpoint": "post_orders", "reason": "rate_limited"}
            ),
            5,
            what="a create answered 429 and backing off",
        )
        pulled = r.metrics.value("pmbot_quote_pulls_total", {"kind": "written"}) or 0.0
        faults.reset()
    if pulls:
        assert pulled >= 1 and not set(old) & set(decisions.decided)  # cancelled once, by pulls
    else:
        assert latencies, "the old quotes were not cancelled by a decision of the strategy"
    assert all(oid in recorder.arrivals for oid in old)
    assert retried, "no create was answered 429: the scenario did not exercise the back-off"
    # The figure the issue asks for (target 100 ms); printed, and the bench reports it too.
    print(
        json.dumps(
            {
                "test": "cancel_latency_under_429",
                "decision_to_exchange_ms": [round(x * 1000, 2) for x in latencies],
                "book_move_to_exchange_ms": round(
                    (max(recorder.arrivals[o] for o in old) - moved_at) * 1000, 2
                ),
            }
        )
    )
    # never the create's Retry-After behind, from the decision (or, pulled, from the move)
    assert max(latencies, default=0.0) < 5.0
    assert max(recorder.arrivals[o] for o in old) - moved_at < 5.0


@pytest.mark.parametrize("requotes", [25])
def test_cancelled_counter_equals_the_exchange_count_after_many_requotes(
    tmp_path, monkeypatch, requotes
):
    recorder = CancelRecorder(monkeypatch)
    with sim_runner(tmp_path) as r:
        market = next(m for m in r.engine.markets if m.tick == D("0.01"))
        owner = r.engine.api_key
        faults = r.sim.faults
        wait_for(lambda: bot_quotes(r, market.condition_id), 20, what="the first quotes")
        step = 0
        while recorder.count(owner) < requotes:  # move the book: every move re-quotes
            step += 1
            bid = D("0.30") + D("0.02") * (step % 10)
            faults.set_book(market.yes_token, [(bid, "200")], [(bid + D("0.04"), "200")])
            before = recorder.count(owner)
            wait_for(
                lambda b=before: recorder.count(owner) > b, 10, interval=0.02, what="a re-quote"
            )
        for m in r.engine.markets:  # freeze every book: re-quoting stops, the counts settle
            faults.set_book(m.yes_token, [("0.40", "200")], [("0.60", "200")])

        def agree():
            got = (cancelled_metric(r), recorder.count(owner))
            return got if got[0] == got[1] else None

        wait_for(agree, 20, interval=0.1, what="the counter to equal the exchange's count")
        threading.Event().wait(1.0)  # let late CANCELLATION / CancelResult pairs arrive
        metric, exchange = wait_for(agree, 10, interval=0.1, what="agreement to hold")
    assert exchange >= requotes
    assert metric == exchange
