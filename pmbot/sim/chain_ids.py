"""Deterministic ids of the sim's markets (pure; from pmbot.sim.markets).

Token ids are 77-digit decimals like the venue's uint256 position ids. A condition id is what the
ConditionalTokens contract computes, ``keccak256(oracle ++ questionId ++ uint256(2))`` with the
sim's oracle ``SIM_ORACLE``, so the in-process chain (pmbot.sim.chain_bridge) can prepare the very
conditions the sim trades (issue 18).
"""

from __future__ import annotations

import hashlib

from pmbot.eip712_primitives import keccak256

# The address of chain_bridge.SIM_ORACLE_KEY (a unit test checks they match).
SIM_ORACLE = bytes.fromhex("C171033d5CBFf7175f29dfD3A63dDa3d6F8F385E")


def _digest(seed: int, slug: str, what: str) -> bytes:
    return hashlib.sha256(f"pmbot.sim:{seed}:{slug}:{what}".encode()).digest()


def token_id_for(seed: int, slug: str, outcome: str) -> str:
    """A 77-digit decimal string, like the venue's uint256 position ids."""
    n = int.from_bytes(_digest(seed, slug, outcome), "big")
    return str(10**76 + n % (9 * 10**76))


def question_id_for(seed: int, slug: str) -> bytes:
    return _digest(seed, slug, "condition")


def condition_id_for(seed: int, slug: str) -> str:
    """CTF ``getConditionId(SIM_ORACLE, question_id_for(seed, slug), 2)``."""
    packed = SIM_ORACLE + question_id_for(seed, slug) + (2).to_bytes(32, "big")
    return "0x" + keccak256(packed).hex()
