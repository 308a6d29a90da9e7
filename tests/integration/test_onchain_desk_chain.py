"""Desk + worker + the real CTF: an arbitrage set is merged in the block after it completes, and
inventory, the intent journal and the chain's ledger agree afterwards."""

from __future__ import annotations

import queue
from decimal import Decimal
from pathlib import Path
from typing import Any

from pmbot.model import Fill, MarketInfo, Side, TradeStatus
from pmbot.onchain.desk import OnchainDesk
from pmbot.onchain.journal import IntentJournal
from pmbot.onchain.messages import OnchainSettled
from pmbot.onchain.planner import PlanLimits
from pmbot.trading.inventory import Inventory
from tests.integration.onchain_world import SPLIT_UNITS, make_world

D = Decimal


def test_arbitrage_set_merged_next_block_and_books_agree(tmp_path: Path) -> None:
    world = make_world()
    try:
        market = MarketInfo(world.condition_id, str(world.yes_id), str(world.no_id))
        inv = Inventory()
        # the bot's 10 YES + 10 NO, as bought by an arbitrage basket at 0.47 + 0.51
        for token, price in ((market.yes_token, "0.47"), (market.no_token, "0.51")):
            inv.apply_fill(
                Fill(
                    f"t-{token[-4:]}",
                    "o",
                    market.condition_id,
                    token,
                    Side.BUY,
                    D(price),
                    D(SPLIT_UNITS) / 10**6,
                    D(0),
                    False,
                    TradeStatus.CONFIRMED,
                )
            )
        inbound: queue.Queue[Any] = queue.Queue()  # stands for the engine's inbound queue
        worker, _ = world.worker(
            tmp_path / "j.jsonl",
            [],
        )
        worker._sink = inbound.put  # noqa: SLF001 - the engine passes inbound.put as the sink
        desk = OnchainDesk(worker, PlanLimits(merge_min_usd=D(1000)))
        pusd0 = world.chain.pusd_balance(world.bot)
        block0 = world.chain.tester.get_block_by_number("latest")["number"]

        desk.on_arbitrage_set(market.condition_id)  # the basket's last leg filled
        (intent,) = desk.tick([market], inv.shares, lambda t: D(0))
        ev = inbound.get(timeout=60)
        assert isinstance(ev, OnchainSettled) and ev.intent_id == intent.intent_id
        receipt = world.chain.receipt(ev.tx_hash)
        assert receipt is not None and receipt["block_number"] == block0 + 1

        for f in desk.on_settled(ev, market, inv.shares, inv.avg_cost):
            inv.apply_fill(f)
        held = D(SPLIT_UNITS) / 10**6
        assert ev.collateral == held
        assert world.chain.pusd_balance(world.bot) - pusd0 == SPLIT_UNITS  # ledger
        assert inv.shares(market.yes_token) == D(world.chain.token_balance(world.bot, world.yes_id))
        assert (
            inv.shares(market.no_token) == D(world.chain.token_balance(world.bot, world.no_id)) == 0
        )
        assert inv.pnl({}).realized == held * (1 - D("0.98"))
        rec = IntentJournal(tmp_path / "j.jsonl").records[intent.intent_id]
        assert rec.settled is not None and rec.settled["collateral_units"] == SPLIT_UNITS
        assert desk.pending_tokens([market]) == set()
    finally:
        world.close()
