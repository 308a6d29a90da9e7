"""Pure parts of pmbot.onchain: fees, nonces, units, receipts, ABI, the journal."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from pmbot.onchain import abi, gas
from pmbot.onchain.journal import IntentJournal, SentTx
from pmbot.onchain.messages import MergeIntent, RedeemIntent, from_units, to_units
from pmbot.onchain.nonce import NonceManager
from pmbot.onchain.receipts import TRANSFER_TOPIC, Log, Receipt, collateral_received

WALLET = "0x" + "ab" * 20
PUSD = "0x" + "cd" * 20


def test_fees_priced_from_node_and_capped() -> None:
    assert gas.price(30, 2, cap=1000) == gas.Fees(62, 2)
    assert gas.price(600, 2, cap=1000) == gas.Fees(1000, 2)


def test_bump_raises_both_caps_and_respects_cap() -> None:
    new = gas.bump(gas.Fees(100, 10), gas.Fees(50, 5), cap=1000)
    assert new == gas.Fees(115, 12)  # ceil(11.5) = 12
    assert gas.bump(gas.Fees(100, 10), gas.Fees(300, 40), cap=1000) == gas.Fees(300, 40)
    assert gas.bump(gas.Fees(950, 10), gas.Fees(50, 5), cap=1000) is None


def test_nonce_manager_starts_past_the_journal() -> None:
    n = NonceManager()
    with pytest.raises(RuntimeError):
        n.allocate()
    n.sync(5, 7)
    assert [n.allocate(), n.allocate()] == [8, 9]
    n.sync(3, None)
    assert n.allocate() == 10
    n.reset(4)
    assert n.allocate() == 4


def test_units_round_down() -> None:
    assert to_units(Decimal("1.2345679")) == 1_234_567
    assert from_units(1_234_567) == Decimal("1.234567")


def test_collateral_received_sums_transfers_to_wallet_only() -> None:
    to_me = "0x" + "00" * 12 + WALLET[2:]
    other = "0x" + "00" * 12 + "ee" * 20
    logs = (
        Log(PUSD, (TRANSFER_TOPIC, other, to_me), hex(3_000_000)),
        Log(PUSD, (TRANSFER_TOPIC, to_me, other), hex(1)),
        Log("0x" + "99" * 20, (TRANSFER_TOPIC, other, to_me), hex(5)),
        Log(PUSD.upper().replace("0X", "0x"), (TRANSFER_TOPIC, other, to_me), hex(2)),
    )
    r = Receipt("0xh", 1, 7, 21000, 10, logs)
    assert collateral_received(r, PUSD, WALLET) == 3_000_002
    assert r.cost_wei == 210000


def test_abi_merge_encoding_round_trips() -> None:
    cid = "0x" + "12" * 32
    data = abi.merge_positions(PUSD, cid, 7)
    assert data[:4] == abi.selector("mergePositions(address,bytes32,bytes32,uint256[],uint256)")
    coll, parent, cond, part, amount = abi.decode_words(
        ["address", "bytes32", "bytes32", "uint256[]", "uint256"], data[4:]
    )
    assert (coll, parent, cond, part, amount) == (
        PUSD,
        abi.ZERO32,
        bytes.fromhex("12" * 32),
        (1, 2),
        7,
    )
    with pytest.raises(ValueError):
        abi.bytes32("0x1234")


def test_journal_survives_restart_and_a_torn_line(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    j = IntentJournal(path)
    assert j.add_intent(MergeIntent("m1", "0xc1", Decimal("2.5"), reason="arbitrage"))
    assert not j.add_intent(MergeIntent("m1", "0xc1", Decimal(1)))
    j.add_intent(RedeemIntent("r1", "0xc2", neg_risk=True))
    j.add_sent("m1", SentTx(4, "0xh1", "0xraw", 100, 10, 90000))
    j.settle("r1", "0xh2", 5_000_000, 123)
    j.close()
    with open(path, "a") as fh:
        fh.write('{"ev":"sent","id":"m1","nonce":')  # a crash mid-write
    j2 = IntentJournal(path)
    assert j2.malformed == 1
    assert j2.open_intents() == [MergeIntent("m1", "0xc1", Decimal("2.5"), False, "arbitrage")]
    assert j2.records["m1"].sends == [SentTx(4, "0xh1", "0xraw", 100, 10, 90000)]
    assert j2.pending_conditions() == {"0xc1"} and j2.max_nonce() == 4
    j2.fail("m1", "reverted", final=True)
    assert IntentJournal(path).open_intents() == []


def test_neg_risk_intents_go_to_the_neg_risk_adapter_with_ctf_signatures() -> None:
    from pmbot.onchain.worker import Targets, call_for

    t = Targets(collateral=PUSD, binary="0x" + "b1" * 20, neg_risk="0x" + "b2" * 20)
    cid = "0x" + "12" * 32
    to, data = call_for(MergeIntent("m", cid, Decimal("1.5"), neg_risk=True), t)
    assert to == t.neg_risk and data == abi.merge_positions(PUSD, cid, 1_500_000)
    to, data = call_for(RedeemIntent("r", cid), t)
    assert to == t.binary and data == abi.redeem_positions(PUSD, cid)
