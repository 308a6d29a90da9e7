"""Issue 18, first Verified-by, with the bot as a process: ``python bot.py`` in sim mode with
``onchain.enabled`` runs the in-process chain (pmbot.sim.chain_bridge: the sim's markets are
prepared conditions of the real ConditionalTokens, the bot's wallet mirrors its sim ledger). The
sets the bot completes are merged on chain by its own worker; each merge's receipt moves pUSD from
the CTF to the wallet by exactly the set count, each intent settles once, the on-chain metrics are
on the bot's registry, and the wallet's tokens agree on chain, in the sim's ledger (Data API) and
in the bot's inventory (metrics).
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from pmbot.onchain import abi
from pmbot.onchain.rpc import JsonRpc
from tests.conftest import ROOT
from tests.integration.botproc import stop_process
from tests.waiting import wait_for

FAMILIES = (
    "pmbot_onchain_settled_total",
    "pmbot_onchain_capital_freed_usd_total",
    "pmbot_onchain_gas_cost_native_total",
    "pmbot_onchain_failures_total",
    "pmbot_onchain_pending_intents",
)
CHAIN_LINE = re.compile(r"sim chain on (\S+) \(pUSD (0x\w+), CTF (0x\w+)\): wallet (0x\w+)")
SIM_LINE = re.compile(r"sim exchange on (\S+)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def transfer_topic() -> str:
    from eth_utils import keccak

    return "0x" + keccak(text="Transfer(address,address,uint256)").hex()


def word(address: str) -> str:
    return "0x" + address.lower().removeprefix("0x").rjust(64, "0")


def journal(state: Path) -> list[dict[str, Any]]:
    path = state / "onchain-journal.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def metric(text: str, name: str, **labels: str) -> float:
    total = 0.0
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        if all(f'{k}="{v}"' in line for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


@pytest.fixture
def bot(tmp_path: Path):
    port = free_port()
    cfg = {
        "mode": "sim",
        "metrics": {"host": "127.0.0.1", "port": port},
        "state_dir": str(tmp_path / "state"),
        "onchain": {"enabled": True, "merge_min_usd": 1},
    }
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(cfg), encoding="utf-8")
    log_path = tmp_path / "bot.log"
    env = {k: v for k, v in os.environ.items() if k not in ("NOTIFY_SOCKET", "WATCHDOG_USEC")}
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, os.path.join(ROOT, "bot.py"), "--config", str(path), "--mode", "sim"],
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
    handle = type("Bot", (), {})()
    handle.proc, handle.log_path, handle.state = proc, log_path, tmp_path / "state"
    handle.metrics_url = f"http://127.0.0.1:{port}/metrics"
    try:
        yield handle
    finally:
        stop_process(proc, timeout=30)


def log_text(bot: Any) -> str:
    return str(bot.log_path.read_text(errors="replace"))


def alive(bot: Any) -> None:
    if bot.proc.poll() is not None:
        pytest.fail(f"bot exited with {bot.proc.returncode}:\n{log_text(bot)[-3000:]}")


def settled_merges(bot: Any) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(intent, settled) journal records of the merges settled so far."""
    alive(bot)
    records = journal(bot.state)
    intents = {r["id"]: r for r in records if r["ev"] == "intent"}
    return [(intents[r["id"]], r) for r in records if r["ev"] == "settled"]


def check_receipts(rpc: JsonRpc, chain: dict[str, str], merges: list) -> None:
    """Each merge's receipt: mined, and pUSD moved CTF -> wallet by exactly the merged sets."""
    for intent, done in merges:
        units = int(Decimal(intent["shares"]) * 10**6)
        assert done["collateral_units"] == units
        receipt = rpc.call("eth_getTransactionReceipt", done["tx_hash"])
        assert int(receipt["status"], 16) == 1
        moved = [
            int(lg["data"], 16)
            for lg in receipt["logs"]
            if lg["address"].lower() == chain["pusd"].lower()
            and lg["topics"][0] == transfer_topic()
            and lg["topics"][1] == word(chain["ctf"])
            and lg["topics"][2] == word(chain["wallet"])
        ]
        assert moved == [units], (intent, receipt["logs"])
    ids = [d["id"] for _, d in merges]
    hashes = [d["tx_hash"] for _, d in merges]
    assert len(set(ids)) == len(ids) and len(set(hashes)) == len(hashes)


def balance(rpc: JsonRpc, ctf: str, pusd: str, wallet: str, cid: str, index_set: int) -> Decimal:
    coll = rpc.call(
        "eth_call",
        {
            "to": ctf,
            "data": "0x"
            + abi.call_data(
                "getCollectionId(bytes32,bytes32,uint256)", abi.ZERO32, abi.bytes32(cid), index_set
            ).hex(),
        },
        "latest",
    )
    pos_data = abi.call_data("getPositionId(address,bytes32)", pusd, bytes.fromhex(coll[2:66]))
    pid = int(rpc.call("eth_call", {"to": ctf, "data": "0x" + pos_data.hex()}, "latest"), 16)
    data = abi.erc1155_balance_of(wallet, pid)
    units = int(rpc.call("eth_call", {"to": ctf, "data": "0x" + data.hex()}, "latest"), 16)
    return Decimal(units) / 10**6


def three_views_agree(bot: Any, rpc: JsonRpc, chain: dict[str, str], sim: str, cids: set) -> bool:
    """Chain balance == sim ledger (Data API) == bot inventory, for both tokens of each market."""
    text = requests.get(bot.metrics_url, timeout=5).text
    rows = requests.get(
        f"{sim}/data-api/positions",
        params={"user": chain["wallet"], "sizeThreshold": "0"},
        timeout=5,
    ).json()
    for cid in cids | {r["conditionId"] for r in rows}:  # the merged markets and all held
        tokens = requests.get(f"{sim}/markets/{cid}", timeout=5).json()["tokens"]
        for index_set, tok in ((1, tokens[0]), (2, tokens[1])):
            on_chain = balance(rpc, chain["ctf"], chain["pusd"], chain["wallet"], cid, index_set)
            ledger = sum(r["size"] for r in rows if r["asset"] == tok["token_id"])
            inventory = metric(text, "pmbot_inventory_shares", token=tok["token_id"])
            if abs(float(on_chain) - ledger) > 1e-6 or abs(ledger - inventory) > 1e-6:
                return False
    return True


def test_bot_in_sim_merges_completed_sets_on_the_chain(bot: Any) -> None:
    merges = wait_for(lambda: settled_merges(bot), 180, "a merge settled on the sim chain")

    def counted() -> str | None:
        """The metrics once they count a merge: the worker journals the settlement first, then
        the strategy thread applies it (and counts it) a moment later."""
        text = requests.get(bot.metrics_url, timeout=5).text
        return text if metric(text, "pmbot_onchain_settled_total", kind="merge") >= 1 else None

    text = wait_for(counted, 30, "the settled merge counted in the metrics")
    for name in FAMILIES:  # the on-chain metrics are on the bot's own registry
        assert name in text, name
    assert metric(text, "pmbot_onchain_capital_freed_usd_total", kind="merge") > 0
    log = log_text(bot)
    m, s = CHAIN_LINE.search(log), SIM_LINE.search(log)
    assert m and s, log[-3000:]
    chain = {"url": m[1], "pusd": m[2], "ctf": m[3], "wallet": m[4]}
    rpc = JsonRpc(chain["url"], timeout_secs=10.0)
    try:
        check_receipts(rpc, chain, merges)
        cids = {intent["condition_id"] for intent, _ in merges}
        wait_for(
            lambda: three_views_agree(bot, rpc, chain, s[1], cids),
            60,
            "chain, sim ledger and inventory to agree",
            ignore=(requests.RequestException,),
        )
    finally:
        rpc.close()
    bot.proc.send_signal(signal.SIGTERM)
    assert bot.proc.wait(30) == 0, log_text(bot)[-3000:]
    # Every intent settled at most once, and none is left open after a clean stop.
    records = journal(bot.state)
    settled_ids = [r["id"] for r in records if r["ev"] == "settled"]
    assert len(settled_ids) == len(set(settled_ids))
    # The chain saw the sets the moment the bot asked: no merge attempt failed.
    assert [r for r in records if r["ev"] == "failed"] == []
