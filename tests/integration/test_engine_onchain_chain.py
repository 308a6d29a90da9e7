"""The strategy thread and the on-chain worker together, on the simulated chain: the engine holds
pairs of a binary market, its desk plans a merge after a decision, the worker executes it on the
real CTF, and the settlement comes back on the inbound queue and is booked in the inventory."""

from __future__ import annotations

import queue
from decimal import Decimal
from pathlib import Path

from prometheus_client import CollectorRegistry

from pmbot.config import parse_config
from pmbot.metrics import Metrics
from pmbot.model import Fill, MarketInfo, Side, TradeStatus
from pmbot.onchain.metrics import OnchainMetrics
from pmbot.state import AppState
from pmbot.trading.engine import Engine
from pmbot.trading.journal import Journal
from tests.integration.onchain_world import SPLIT_UNITS, make_world, wait_for

D = Decimal
WALLET = "0x" + "cd" * 20


def test_engine_merges_its_pairs_on_chain_and_books_the_settlement(tmp_path: Path) -> None:
    world = make_world()
    journal = Journal(str(tmp_path), "https://clob.example", WALLET)
    engine = None
    try:
        market = MarketInfo(world.condition_id, str(world.yes_id), str(world.no_id))
        cfg = parse_config(
            {
                "mode": "live",
                "state_dir": str(tmp_path),
                "arbitrage": {"enabled": False},
                "onchain": {"merge_min_usd": 5},
            }
        )
        inbound: queue.Queue[object] = queue.Queue()
        worker, _ = world.worker(tmp_path / "intents.jsonl", inbound.put)
        registry = CollectorRegistry()
        state = AppState()
        engine = Engine(
            cfg=cfg,
            markets=(market,),
            events=(),
            inbound=inbound,
            commands=queue.Queue(),
            state=state,
            journal=journal,
            metrics=Metrics(registry, process_collector=False),
            api_key="key",
            funder=WALLET,
            onchain=worker,
            onchain_metrics=OnchainMetrics(registry),
        )
        sets = D(SPLIT_UNITS) / 10**6  # the 10 YES + 10 NO the world's wallet holds
        for token, price in ((market.yes_token, "0.47"), (market.no_token, "0.51")):
            fill = Fill(
                f"t-{token[-4:]}",
                "o",
                market.condition_id,
                token,
                Side.BUY,
                D(price),
                sets,
                D(0),
                True,
                TradeStatus.CONFIRMED,
            )
            assert engine.handlers.holdings.book(fill)
        pusd0 = world.chain.pusd_balance(world.bot)
        engine.start()  # its first decision (a tick without messages) plans the merge

        def merged() -> bool:
            inv = state.view().inventory
            return bool(inv) and inv.get(market.yes_token) == 0 and inv.get(market.no_token) == 0

        wait_for(merged, "the merge to be booked in the inventory")
        assert world.chain.pusd_balance(world.bot) - pusd0 == SPLIT_UNITS
        assert world.balances()[1:] == (0, 0)
        assert state.view().realized_pnl_usd == sets - sets * D("0.98")
        booked = [f for f in journal.load().fills if f.trade_id.startswith("onchain:")]
        assert {f.token_id for f in booked} == {market.yes_token, market.no_token}
        assert registry.get_sample_value("pmbot_onchain_settled_total", {"kind": "merge"}) == 1
    finally:
        if engine is not None:
            engine.request_stop()
            engine.join(10)
        world.close()
        journal.close()
