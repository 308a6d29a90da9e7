"""The bot's EOA path against the real ConditionalTokens on the in-process chain."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from pmbot.errors import TransientError
from pmbot.onchain import abi
from pmbot.onchain.journal import IntentJournal
from pmbot.onchain.messages import MergeIntent, RedeemIntent
from pmbot.onchain.rpc import JsonRpc
from tests.integration.onchain_world import (
    SPLIT_UNITS,
    World,
    failed,
    make_world,
    settled,
    wait_for,
)


@pytest.fixture
def world() -> Any:
    w = make_world()
    yield w
    w.close()


def test_merge_frees_one_pusd_per_set(world: World, tmp_path: Path) -> None:
    pusd0, yes0, no0 = world.balances()
    sink: list[Any] = []
    w, _ = world.worker(tmp_path / "j.jsonl", sink)
    w.submit(MergeIntent("m1", world.condition_id, Decimal("4.5"), reason="arbitrage"))
    wait_for(lambda: settled(sink), "merge settled")
    (s,) = settled(sink)
    assert s.collateral == Decimal("4.5") and s.shares == Decimal("4.5") and s.kind == "merge"
    assert s.cost_native > 0
    assert world.balances() == (pusd0 + 4_500_000, yes0 - 4_500_000, no0 - 4_500_000)
    rec = IntentJournal(tmp_path / "j.jsonl").records["m1"]
    assert rec.settled is not None and rec.settled["collateral_units"] == 4_500_000
    assert rec.settled["tx_hash"] == s.tx_hash


def test_redeem_after_resolution_pays_the_winner(world: World, tmp_path: Path) -> None:
    world.chain.report_payouts(world.oracle, world.question_id, [1, 0])
    pusd0, _, _ = world.balances()
    sink: list[Any] = []
    w, _ = world.worker(tmp_path / "j.jsonl", sink)
    w.submit(RedeemIntent("r1", world.condition_id))
    wait_for(lambda: settled(sink), "redeem settled")
    assert settled(sink)[0].collateral == Decimal(SPLIT_UNITS) / 10**6
    assert world.balances() == (pusd0 + SPLIT_UNITS, 0, 0)


def test_dropped_tx_is_replaced_with_same_nonce_and_merge_happens_once(
    world: World, tmp_path: Path
) -> None:
    pusd0, yes0, _ = world.balances()
    world.chain.drop_next(1)
    sink: list[Any] = []
    w, sender = world.worker(tmp_path / "j.jsonl", sink, receipt_timeout_secs=0.5)
    w.submit(MergeIntent("m1", world.condition_id, Decimal(3)))
    wait_for(lambda: settled(sink), "merge settled")
    sends = IntentJournal(tmp_path / "j.jsonl").records["m1"].sends
    assert len(sends) == 2 and sends[0].nonce == sends[1].nonce
    assert sends[1].max_fee > sends[0].max_fee and sends[1].tip > sends[0].tip
    assert settled(sink)[0].tx_hash == sends[1].tx_hash
    assert sender.replacements == 1
    assert world.balances()[:2] == (pusd0 + 3_000_000, yes0 - 3_000_000)
    assert len(settled(sink)) == 1


def test_underpriced_tx_is_bumped_until_mined(world: World, tmp_path: Path) -> None:
    world.chain.min_tip_wei = 3 * 10**9  # the node suggests 2 gwei: the first tx stays pending
    pusd0, _, _ = world.balances()
    sink: list[Any] = []
    w, _ = world.worker(tmp_path / "j.jsonl", sink, receipt_timeout_secs=0.3)
    w.submit(MergeIntent("m1", world.condition_id, Decimal(2)))
    wait_for(lambda: settled(sink), "merge settled")
    sends = IntentJournal(tmp_path / "j.jsonl").records["m1"].sends
    assert len(sends) >= 2 and len({s.nonce for s in sends}) == 1
    assert sends[-1].tip >= 3 * 10**9
    assert world.balances()[0] == pusd0 + 2_000_000


def test_restart_between_send_and_receipt_settles_once(world: World, tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    world.chain.auto_mine = False
    pusd0, _, _ = world.balances()
    sink1: list[Any] = []
    w1, _ = world.worker(path, sink1, receipt_timeout_secs=30.0)
    w1.submit(MergeIntent("m1", world.condition_id, Decimal(5)))
    wait_for(
        lambda: (
            IntentJournal(path).records.get("m1") is not None
            and IntentJournal(path).records["m1"].sends != []
        ),
        "tx sent",
    )
    wait_for(lambda: world.chain.accepted != [], "tx in the mempool")
    w1.stop()  # the bot dies with the tx in flight
    assert not settled(sink1)
    world.chain.auto_mine = True
    assert world.chain.mine() == 1  # mined while the bot was down
    sink2: list[Any] = []
    world.worker(path, sink2)
    wait_for(lambda: settled(sink2), "resumed merge settled")
    assert len(settled(sink2)) == 1 and settled(sink2)[0].intent_id == "m1"
    assert world.balances()[0] == pusd0 + 5_000_000
    assert len(world.chain.accepted) == 1  # nothing sent a second time
    assert IntentJournal(path).open_intents() == []


def test_restart_before_mined_rebroadcasts_same_tx(world: World, tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    world.chain.auto_mine = False
    pusd0, _, _ = world.balances()
    w1, _ = world.worker(path, [], receipt_timeout_secs=30.0)
    w1.submit(MergeIntent("m1", world.condition_id, Decimal(1)))
    wait_for(lambda: world.chain.accepted != [], "tx in the mempool")
    w1.stop()
    world.chain.auto_mine = True
    sink2: list[Any] = []
    world.worker(path, sink2)  # re-broadcast: "already known", then mined by the next block
    wait_for(lambda: world.chain.mine() >= 0 and bool(settled(sink2)), "settled")
    assert world.balances()[0] == pusd0 + 1_000_000
    assert len(IntentJournal(path).records["m1"].sends) == 1


def test_merge_that_would_revert_fails_final_and_changes_nothing(
    world: World, tmp_path: Path
) -> None:
    before = world.balances()
    sink: list[Any] = []
    w, _ = world.worker(tmp_path / "j.jsonl", sink)
    w.submit(MergeIntent("m1", world.condition_id, Decimal(11)))  # holds 10
    wait_for(lambda: failed(sink), "failure reported")
    assert failed(sink)[0].final
    assert world.balances() == before and world.chain.accepted == []


class FlakyRpc:
    """Fails the first call of ``method`` as a transient error."""

    def __init__(self, inner: JsonRpc, method: str) -> None:
        self.inner, self.method, self.tripped = inner, method, False

    def call(self, method: str, *params: Any) -> Any:
        if method == self.method and not self.tripped:
            self.tripped = True
            raise TransientError(f"{method}: connection failed (injected)")
        return self.inner.call(method, *params)


def test_transient_failure_is_retried_as_the_same_intent(world: World, tmp_path: Path) -> None:
    pusd0, _, _ = world.balances()
    sink: list[Any] = []
    rpc = FlakyRpc(JsonRpc(world.server.url), "eth_estimateGas")
    w, _ = world.worker(tmp_path / "j.jsonl", sink, rpc=rpc)
    w.submit(MergeIntent("m1", world.condition_id, Decimal(2)))
    wait_for(lambda: settled(sink), "settled after retry")
    assert [f.final for f in failed(sink)] == [False]
    assert world.balances()[0] == pusd0 + 2_000_000 and len(world.chain.accepted) == 1


def test_lost_broadcast_is_resent_with_same_nonce(world: World, tmp_path: Path) -> None:
    pusd0, _, _ = world.balances()
    sink: list[Any] = []
    rpc = FlakyRpc(JsonRpc(world.server.url), "eth_sendRawTransaction")
    w, _ = world.worker(tmp_path / "j.jsonl", sink, rpc=rpc, receipt_timeout_secs=0.3)
    w.submit(MergeIntent("m1", world.condition_id, Decimal(2)))
    wait_for(lambda: settled(sink), "settled")
    assert world.balances()[0] == pusd0 + 2_000_000 and len(settled(sink)) == 1


def test_same_intent_id_is_never_acted_on_twice(world: World, tmp_path: Path) -> None:
    pusd0, _, _ = world.balances()
    sink: list[Any] = []
    w, _ = world.worker(tmp_path / "j.jsonl", sink)
    w.submit(MergeIntent("m1", world.condition_id, Decimal(1)))
    w.submit(MergeIntent("m1", world.condition_id, Decimal(1)))
    w.submit(MergeIntent("m2", world.condition_id, Decimal(1)))
    wait_for(lambda: len(settled(sink)) == 2, "two settled")
    assert [s.intent_id for s in settled(sink)] == ["m1", "m2"]
    assert world.balances()[0] == pusd0 + 2_000_000


def test_doctor_checks_the_rpc_endpoint(world: World) -> None:
    from pmbot.config import parse_config
    from pmbot.onchain.setup import doctor

    def cfg(url: str, adapter: str | None = None) -> Any:
        ctf = world.chain.ctf
        oc = {"enabled": True, "rpc_url": url, "ctf_address": ctf}
        oc.update(ctf_target=adapter or ctf, neg_risk_target=ctf)
        return parse_config({"mode": "sim", "onchain": oc})

    assert doctor(cfg(world.server.url), world.bot) == []
    assert doctor(cfg(world.server.url), "0x" + "77" * 20) == [
        f"wallet {'0x' + '77' * 20} has no native token to pay gas"
    ]
    (problem,) = doctor(cfg("http://127.0.0.1:9/"), world.bot)
    assert problem.startswith("onchain.rpc_url: eth_chainId: connection failed")
    assert doctor(parse_config({}), world.bot) == []  # off by default: nothing checked
    adapter = "0x" + "ad" * 20
    (problem,) = doctor(cfg(world.server.url, adapter), world.bot)
    assert "has not approved onchain.ctf_target" in problem
    approve = abi.set_approval_for_all(adapter)
    world.chain.transact(world.bot, world.chain.ctf, approve)
    assert doctor(cfg(world.server.url, adapter), world.bot) == []


def test_restart_replays_settlements_without_sending(world: World, tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    sink1: list[Any] = []
    w1, _ = world.worker(path, sink1)
    w1.submit(MergeIntent("m1", world.condition_id, Decimal(2)))
    wait_for(lambda: settled(sink1), "settled")
    w1.stop()
    sink2: list[Any] = []
    w2, _ = world.worker(path, sink2)
    wait_for(lambda: settled(sink2), "replayed")
    w2.stop()
    assert settled(sink2) == settled(sink1)  # same intent, tx, amounts: the fill dedupe drops it
    assert len(world.chain.accepted) == 1


def test_startup_finds_resolved_conditions_and_redeems(world: World, tmp_path: Path) -> None:
    from pmbot.onchain.resolution import resolved_conditions

    rpc = JsonRpc(world.server.url)
    other = world.chain.prepare_condition(world.oracle, b"\x07" * 32)
    conditions = [world.condition_id, other]
    assert resolved_conditions(rpc, world.chain.ctf, conditions) == []
    world.chain.report_payouts(world.oracle, world.question_id, [0, 1])
    (res,) = resolved_conditions(rpc, world.chain.ctf, conditions)
    assert res.condition_id == world.condition_id and res.winner_index == 1
    pusd0, _, _ = world.balances()
    sink: list[Any] = []
    w, _ = world.worker(tmp_path / "j.jsonl", sink)
    w.submit(RedeemIntent("r1", res.condition_id))
    wait_for(lambda: settled(sink), "redeemed")
    assert world.balances() == (pusd0 + SPLIT_UNITS, 0, 0)


def test_nonce_used_by_another_sender_is_skipped(world: World, tmp_path: Path) -> None:
    pusd0, _, _ = world.balances()
    sink: list[Any] = []
    w, sender = world.worker(tmp_path / "j.jsonl", sink)
    w.submit(MergeIntent("m1", world.condition_id, Decimal(1)))
    wait_for(lambda: len(settled(sink)) == 1, "first merge")
    approve = abi.set_approval_for_all("0x" + "ad" * 20)
    world.chain.transact(world.bot, world.chain.ctf, approve)  # by hand, same EOA
    w.submit(MergeIntent("m2", world.condition_id, Decimal(1)))
    wait_for(lambda: len(settled(sink)) == 2 or failed(sink), "second merge")
    assert not failed(sink) and world.balances()[0] == pusd0 + 2_000_000
