"""Journal: durable orders/fills/P&L, duplicates refused, crash-safe, exact recovery by replay."""

import os
import shutil
import sqlite3
import stat
import subprocess
import sys
import textwrap
from decimal import Decimal as D

import pytest

from pmbot.errors import FatalError
from pmbot.model import Fill, MarketInfo, NewOrder, OrderEvent, OrderEventKind, Side, TradeStatus
from pmbot.trading.fills import FillTracker
from pmbot.trading.inventory import HedgedSet, Inventory
from pmbot.trading.journal import Journal, default_state_dir, journal_path, replay
from tests.conftest import ROOT

VENUE = "https://clob.polymarket.com"
WALLET = "0xAbCdEf0123456789aBCdEF0123456789abcDEF01"
M = MarketInfo("0xcid", "YES", "NO")


def fill(
    n, side=Side.BUY, size="10", price="0.40", token="YES", status=TradeStatus.MATCHED, fee="0.01"
):
    return Fill(
        f"trade-{n}",
        f"0xorder{n}",
        M.condition_id,
        token,
        side,
        D(price),
        D(size),
        D(fee),
        n % 2 == 0,
        status,
        1767000000.0 + n,
        notional=D(size) * D(price),
    )


@pytest.fixture
def journal(tmp_path):
    j = Journal(str(tmp_path / "state"), VENUE, WALLET)
    yield j
    j.close()


def test_path_is_per_venue_host_and_lowercased_wallet(tmp_path):
    assert (
        journal_path("/s", VENUE, WALLET)
        == f"/s/journal-clob.polymarket.com-{WALLET.lower()}.sqlite3"
    )
    assert (
        journal_path("/s", "http://127.0.0.1:8123", "0xA")
        == "/s/journal-127.0.0.1_8123-0xa.sqlite3"
    )
    assert journal_path("/s", VENUE, "0xa") != journal_path("/s", VENUE, "0xb")


def test_state_dir_precedence():
    assert default_state_dir("/cfg", {"STATE_DIRECTORY": "/sd"}) == "/cfg"
    assert default_state_dir(None, {"STATE_DIRECTORY": "/var/lib/pmbot:/other"}) == "/var/lib/pmbot"
    assert default_state_dir(None, {}) == os.path.join(".", "state")


def test_creates_private_dir_and_file_in_wal_full_mode(journal, tmp_path):
    assert stat.S_IMODE(os.stat(tmp_path / "state").st_mode) == 0o700
    assert stat.S_IMODE(os.stat(journal.path).st_mode) == 0o600
    db = sqlite3.connect(journal.path)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    db.close()
    assert journal._db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


def test_duplicate_fill_is_rejected_also_after_reopen(tmp_path):
    j = Journal(str(tmp_path), VENUE, WALLET)
    assert j.record_fill(fill(1)) is True
    assert j.record_fill(fill(1)) is False
    j.close()
    j = Journal(str(tmp_path), VENUE, WALLET)
    assert j.record_fill(fill(1, status=TradeStatus.CONFIRMED)) is False
    assert j.record_fill(fill(2)) is True
    assert [f.trade_id for f in j.load().fills] == ["trade-1", "trade-2"]
    j.close()


def test_fill_round_trips_exactly(journal):
    f = Fill(
        "t",
        "o",
        "m",
        "YES",
        Side.SELL,
        D("0.503333333333333333"),
        D("15"),
        D("0.18748"),
        False,
        TradeStatus.MINED,
        1767000100.5,
        D("7.55"),
    )
    journal.record_fill(f)
    assert journal.load().fills == (f,)


def test_crash_without_close_loses_nothing_acknowledged(tmp_path):
    state = tmp_path / "state"
    code = textwrap.dedent(f"""
        import os, sys
        sys.path.insert(0, {ROOT!r})
        from decimal import Decimal as D
        from pmbot.trading.journal import Journal
        from pmbot.model import Fill, Side, TradeStatus
        j = Journal({str(state)!r}, {VENUE!r}, {WALLET!r})
        for n in range(50):
            assert j.record_fill(Fill(f"t{{n}}", "o", "m", "YES", Side.BUY, D("0.5"), D(n + 1),
                                      D(0), True, TradeStatus.MATCHED, float(n)))
        j.record_pnl(D("1.5"), D("-0.25"), D("0.1"), ts=99.0)
        print("acked", flush=True)
        os._exit(9)  # no close, no checkpoint: a crash
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    assert "acked" in out.stdout, out.stderr
    assert out.returncode == 9
    j = Journal(str(state), VENUE, WALLET)
    st = j.load()
    assert len(st.fills) == 50 and sum(f.size for f in st.fills) == D(50 * 51 // 2)
    assert st.realized_pnl == D("1.5") and st.fees == D("0.1") and st.last_trade_ts == 49.0
    j.close()


def test_replay_rebuilds_inventory_pnl_and_dedupe_exactly(tmp_path):
    j = Journal(str(tmp_path), VENUE, WALLET)
    live_inv, tracker = Inventory(), FillTracker("key")
    seed = {"YES": (D("4"), D("0.35")), "NO": (D("2"), D("0.6"))}
    j.record_seed(seed, ts=1.0)
    live_inv.seed(seed)
    fills = [
        fill(1),
        fill(2, price="0.60"),
        fill(3, side=Side.SELL, size="5", price="0.70"),
        fill(4, token="NO", price="0.30"),
        fill(5, side=Side.SELL, size="3", price="0.45"),
    ]
    for f in fills:
        assert j.record_fill(f)
        live_inv.apply_fill(f)
    j.record_adoption("NO", D("11"), ts=2.0)
    live_inv.set_position("NO", D("11"))
    failed = fills[1]
    j.update_fill_status(failed.trade_id, failed.order_id, TradeStatus.FAILED)
    live_inv.reverse_fill(failed)
    hs = HedgedSet("set-1", "complete_set", (("NO", D(2)), ("YES", D(2))), D("1.9"), D(2), 3.0)
    j.record_hedged_set(hs)
    live_inv.restore_hedged_set(hs)
    j.record_hedged_set(HedgedSet("set-0", "yes_basket", (("YES", D(1)),), D("0.9"), D(1), 2.5))
    j.release_hedged_set("set-0")
    j.close()

    j = Journal(str(tmp_path), VENUE, WALLET)
    state = j.load()
    recovered, tracker = Inventory(), FillTracker("key")
    replay(state, recovered, tracker)
    assert recovered.snapshot() == live_inv.snapshot()
    assert recovered.pnl({"YES": D("0.5")}) == live_inv.pnl({"YES": D("0.5")})
    assert [h.set_id for h in state.hedged_sets] == ["set-1"]
    assert tracker.get(failed.trade_id, failed.order_id).status is TradeStatus.FAILED
    assert len(tracker) == 5
    j.close()


def test_empty_seed_flattens_on_replay(journal):
    journal.record_fill(fill(1))
    journal.record_seed({})
    inv = Inventory()
    replay(journal.load(), inv)
    assert inv.shares("YES") == 0


def test_orders_and_order_events(journal):
    order = NewOrder("c1", "m", "YES", Side.BUY, D("0.41"), D("10"))
    journal.record_order("0xabc", order, ts=5.0)
    journal.record_order_event(
        OrderEvent(
            "0xabc",
            "m",
            "YES",
            Side.BUY,
            D("0.41"),
            D("10"),
            D("4"),
            OrderEventKind.UPDATE,
            "LIVE",
            ts=6.0,
        )
    )
    journal.record_order_event(
        OrderEvent(
            "0xdef",
            "m",
            "NO",
            Side.SELL,
            D("0.7"),
            D("5"),
            D("0"),
            OrderEventKind.CANCELLATION,
            ts=7.0,
        )
    )
    orders = {o.order_id: o for o in journal.load().orders}
    assert orders["0xabc"].size_matched == D(4) and orders["0xabc"].client_id == "c1"
    assert orders["0xdef"].status == "CANCELED"


def test_journal_refuses_to_open_under_another_wallet(tmp_path):
    j = Journal(str(tmp_path), VENUE, WALLET)
    j.close()
    other = journal_path(str(tmp_path), VENUE, "0xother")
    shutil.copy(j.path, other)
    with pytest.raises(FatalError):
        Journal(str(tmp_path), VENUE, "0xother")


def test_wallet_required(tmp_path):
    with pytest.raises(FatalError):
        Journal(str(tmp_path), VENUE, "")
