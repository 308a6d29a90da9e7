"""Which conditions are already resolved on chain, and for which outcome (start-up redemption).

``payoutDenominator(conditionId)`` is 0 until the oracle reports; then
``payoutNumerators(conditionId, i)`` gives each outcome's share (binary: [1, 0] YES won,
[0, 1] NO won, [1, 1] a 50/50 split).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from pmbot.onchain import abi
from pmbot.onchain.eoa import Rpc


@dataclass(frozen=True, slots=True)
class Resolution:
    condition_id: str
    payouts: tuple[int, int]  # YES, NO numerators

    @property
    def winner_index(self) -> int | None:
        """0 (YES) or 1 (NO) when one outcome takes all; None for a split."""
        yes, no = self.payouts
        if yes and not no:
            return 0
        if no and not yes:
            return 1
        return None


def _uint(rpc: Rpc, ctf: str, data: bytes) -> int:
    answer = rpc.call("eth_call", {"to": ctf, "data": "0x" + data.hex()}, "latest")
    if not isinstance(answer, str) or not answer.startswith("0x"):
        raise ValueError(f"malformed eth_call answer {answer!r}")
    return int(answer, 16) if answer != "0x" else 0


def resolved_conditions(rpc: Rpc, ctf: str, condition_ids: Iterable[str]) -> list[Resolution]:
    """The resolved ones among ``condition_ids`` (binary conditions)."""
    out = []
    for cid in condition_ids:
        if _uint(rpc, ctf, abi.payout_denominator(cid)) == 0:
            continue
        sig = "payoutNumerators(bytes32,uint256)"
        yes = _uint(rpc, ctf, abi.call_data(sig, abi.bytes32(cid), 0))
        no = _uint(rpc, ctf, abi.call_data(sig, abi.bytes32(cid), 1))
        out.append(Resolution(cid, (yes, no)))
    return out
