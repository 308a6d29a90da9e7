"""The bot as a real process against the simulator in another process (live mode, loopback URLs):
the kill switch, the dead-man heartbeat, restarts, and inventory that equals the exchange's ledger.
"""

import signal
import threading
import time
from decimal import Decimal

import pytest

from tests.integration.botproc import (
    BotProcess,
    SimProcess,
    ledger_positions,
    venue_client,
    wait_for,
)


@pytest.fixture
def sim():
    s = SimProcess()
    yield s
    s.stop()


def open_orders(rest):
    return rest.open_orders()


def start_bot(sim, tmp_path, **kw):
    bot = BotProcess(sim, tmp_path, **kw)
    return bot


def wait_quoting(bot, rest, timeout=30):
    try:
        return wait_for(
            lambda: len(open_orders(rest)) >= 2, timeout, what="the bot's quotes on the exchange"
        )
    except AssertionError as exc:
        bot.kill()
        raise AssertionError("bot never quoted; log:\n" + bot.log()[-4000:]) from exc


def test_sigterm_cancels_every_order_verifies_and_exits_0(sim, tmp_path):
    rest, _ = venue_client(sim)
    bot = start_bot(sim, tmp_path)
    try:
        wait_quoting(bot, rest)
        t0 = time.monotonic()
        code = bot.terminate(signal.SIGTERM, timeout=15)
        elapsed = time.monotonic() - t0
    finally:
        bot.kill()
    assert code == 0, bot.log()[-3000:]
    assert elapsed < 10.0
    assert open_orders(rest) == []
    assert "every order cancelled and verified" in bot.log()


def test_sigterm_when_the_exchange_fails_the_first_cancel_attempts(sim, tmp_path):
    rest, _ = venue_client(sim)
    bot = start_bot(sim, tmp_path)
    try:
        wait_quoting(bot, rest)
        # The next 3 trading requests (cancels included) get 429 with Retry-After.
        sim.control(http_429={"count": 3, "retry_after_secs": 0.5})
        code = bot.terminate(signal.SIGINT, timeout=15)
    finally:
        bot.kill()
    assert code == 0, bot.log()[-3000:]
    assert open_orders(rest) == []


def test_sigkill_leaves_orders_that_the_heartbeat_switch_cancels_then_restart_finds_no_orphans(
    sim, tmp_path
):
    rest, _ = venue_client(sim)
    bot = start_bot(sim, tmp_path)
    try:
        wait_quoting(bot, rest)
        wait_for(
            lambda: (bot.metric("pmbot_heartbeat_age_seconds") or 99) < 6,
            10,
            what="heartbeats running (the dead-man switch is armed only after the first one)",
        )
        bot.kill()  # SIGKILL: no chance to cancel anything
        assert len(open_orders(rest)) >= 2
        t0 = time.monotonic()
        wait_for(
            lambda: open_orders(rest) == [], 15, interval=0.5, what="the dead-man switch to cancel"
        )
        assert time.monotonic() - t0 <= 15
    finally:
        bot.kill()
    again = start_bot(sim, tmp_path, name="bot2")
    try:
        wait_quoting(again, rest)
        assert "did not know" not in again.log()
    finally:
        code = again.terminate()
    assert code == 0
    assert open_orders(rest) == []


def _inventory_by_token(bot):
    return {
        labels["token"]: Decimal(str(v)) for labels, v in bot.samples("pmbot_inventory_shares") if v
    }


def test_inventory_equals_the_exchange_ledger_and_survives_a_restart(sim, tmp_path):
    rest, address = venue_client(sim)
    # Quote tight and small so background takers fill the bot quickly.
    extra = {"strategy": {"edge_fraction": 0.0, "order_size": 5}}
    bot = start_bot(sim, tmp_path, extra=extra)
    try:
        wait_for(
            lambda: (bot.metric("pmbot_fills_total") or 0) >= 2, 60, interval=0.5, what="fills"
        )
        code = bot.terminate()
    finally:
        bot.kill()
    assert code == 0, bot.log()[-3000:]
    ledger = ledger_positions(sim, address)
    assert ledger, "the exchange shows no position after fills"
    journal_before = [line for line in bot.log().splitlines() if "fill " in line]
    assert journal_before

    again = start_bot(sim, tmp_path, extra=extra, name="bot2")
    try:

        def agrees():
            inv = _inventory_by_token(again)
            return inv == ledger_positions(sim, address) and inv

        wait_for(agrees, 20, interval=0.5, what="restarted bot's inventory to equal the ledger")
        realized_after = again.metric("pmbot_pnl_usd", kind="realized")
        assert realized_after is not None
        assert "journal: restored" in again.log()
    finally:
        code = again.terminate()
    assert code == 0
    assert open_orders(rest) == []


def test_a_second_bot_for_the_same_wallet_exits_with_a_clear_message(sim, tmp_path):
    rest, _ = venue_client(sim)
    first = start_bot(sim, tmp_path)
    try:
        wait_quoting(first, rest)
        second = start_bot(sim, tmp_path, name="second")
        code = second.proc.wait(30)
        second.kill()
        assert code != 0
        assert "another pmbot is already running for wallet" in second.log()
        assert first.proc.poll() is None  # the first bot is unaffected
    finally:
        code = first.terminate()
    assert code == 0
    assert open_orders(rest) == []


def test_a_position_changed_outside_the_bot_is_adopted_from_the_venue_after_the_settlement_lag(
    sim, tmp_path
):
    rest, address = venue_client(sim)
    extra = {"feed": {"positions_reconcile_secs": 1, "settlement_lag_secs": 2}}
    bot = start_bot(sim, tmp_path, extra=extra)
    try:
        wait_quoting(bot, rest)
        token = sim.binary_markets()[0]["no_token"]
        sim.control(set_position={"address": address, "token_id": token, "size": "37"})

        def adopted():
            venue = ledger_positions(sim, address).get(token, Decimal(0))
            mine = {t: v for t, v in _inventory_by_token(bot).items()}.get(token, Decimal(0))
            return venue == mine and "set to the venue's" in bot.log()

        wait_for(adopted, 20, interval=0.5, what="the venue's position to be adopted")
        assert (bot.metric("pmbot_inventory_mismatch_total") or 0) >= 1
    finally:
        code = bot.terminate()
    assert code == 0


def _rest_an_order_before_start_up(sim, rest) -> tuple[str, str]:
    """An order of the bot's wallet resting on the exchange before the bot starts, far below the
    book so nobody fills it: (order id, condition id)."""
    from pmbot.model import NewOrder, Side
    from pmbot.venue.order_signing import OrderSigning
    from pmbot.venue.signer import OrderSigner
    from tests.integration.botproc import TEST_KEY

    entry = sim.binary_markets()[0]
    token = entry["yes_token"]
    tick = rest.tick_size(token)
    order = NewOrder("outside", "", token, Side.BUY, Decimal("0.01"), Decimal(100), tick=tick)
    order_id, payload = OrderSigning(OrderSigner(TEST_KEY), rest.creds.api_key).sign(order)
    [result] = rest.post_orders([payload])
    assert result["success"] and result["status"] == "live", result
    [row] = [o for o in open_orders(rest) if o["id"] == order_id]
    return order_id, row["market"]


def test_adopted_order_keeps_resting_through_30s_of_quoting_is_counted_and_sigterm_cancels_it(
    sim, tmp_path
):
    rest, _ = venue_client(sim)
    order_id, market = _rest_an_order_before_start_up(sim, rest)
    bot = start_bot(sim, tmp_path, extra={"execution": {"orphan_policy": "adopt"}})
    try:
        wait_quoting(bot, rest)

        def counted():
            on_venue = [o for o in open_orders(rest) if o["market"] == market]
            return bot.metric("pmbot_open_orders", market=market) == len(on_venue) >= 2

        wait_for(counted, 20, what="pmbot_open_orders to count the adopted order with the quotes")
        quoting_until = time.monotonic() + 30.0  # reconcile every 2 s: ~15 snapshots list it
        while time.monotonic() < quoting_until:
            assert order_id in {o["id"] for o in open_orders(rest)}, bot.log()[-4000:]
            threading.Event().wait(1.0)  # scenario pacing: one look a second for 30 s
        assert (bot.metric("pmbot_orders_created_total") or 0) >= 2
        assert "did not know" not in bot.log() and "unknown to the bot" not in bot.log()
        code = bot.terminate(signal.SIGTERM, timeout=20)
    finally:
        bot.kill()
    assert code == 0, bot.log()[-3000:]
    assert open_orders(rest) == []


def test_cancel_policy_cancels_a_resting_order_at_start_up(sim, tmp_path):
    rest, _ = venue_client(sim)
    order_id, _ = _rest_an_order_before_start_up(sim, rest)
    bot = start_bot(sim, tmp_path)  # orphan_policy: cancel (the default)
    try:
        wait_quoting(bot, rest)
        assert order_id not in {o["id"] for o in open_orders(rest)}
        log_text = bot.log()
        assert "start-up: cancelled 1 order(s)" in log_text
        assert log_text.index("start-up: cancelled") < log_text.index("strategy thread started")
    finally:
        code = bot.terminate()
    assert code == 0
    assert open_orders(rest) == []
