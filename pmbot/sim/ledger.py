"""The simulator's ledger: collateral, positions, reservations of resting orders, cost basis, fees.

Accounts are keyed by funder address (lower case) and created on first touch with the configured
initial balance. Every trade records its ledger deltas so a FAILED settlement can reverse them
exactly (reference: MATCHED -> MINED -> CONFIRMED, or FAILED). Money is exact ``Decimal``.
Not thread-safe on its own: the exchange's lock guards it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from pmbot.sim.orderbook import BUY, ZERO, SimOrder


@dataclass(slots=True, eq=False)
class Account:
    collateral: Decimal
    positions: dict = field(default_factory=dict)  # token -> Decimal
    reserved_collateral: Decimal = ZERO
    reserved_shares: dict = field(default_factory=dict)  # token -> Decimal
    cost: dict = field(default_factory=dict)  # token -> [cost basis, total bought, realized pnl]


Delta = tuple  # (address, d_collateral, token or None for a fee, d_shares)


class Ledger:
    """Every account plus the fee pot."""

    def __init__(self, initial_balance: Decimal) -> None:
        self.initial_balance = initial_balance
        self.accounts: dict[str, Account] = {}
        self.fees_collected = ZERO

    def account(self, address: str) -> Account:
        address = address.lower()
        acct = self.accounts.get(address)
        if acct is None:
            acct = self.accounts[address] = Account(collateral=self.initial_balance)
        return acct

    # ------------------------------------------------------------------ reservations

    def reserve(self, order: SimOrder) -> None:
        """A resting order locks what it could spend: collateral for a BUY, shares for a SELL."""
        acct = self.account(order.address)
        if order.side == BUY:
            acct.reserved_collateral += order.remaining * order.price
        else:
            acct.reserved_shares[order.token_id] = (
                acct.reserved_shares.get(order.token_id, ZERO) + order.remaining
            )

    def release(self, order: SimOrder, q: Decimal) -> None:
        """Give back the reservation of ``q`` shares of a resting order (filled or cancelled)."""
        acct = self.account(order.address)
        if order.side == BUY:
            acct.reserved_collateral -= q * order.price
        else:
            acct.reserved_shares[order.token_id] -= q

    # ------------------------------------------------------------------ movements

    def transfer(self, deltas: list, order: SimOrder, q: Decimal, cash: Decimal) -> None:
        """One side of a fill: a BUY pays ``cash`` for ``q`` shares, a SELL the reverse; the delta
        is appended to ``deltas`` for a possible FAILED reversal."""
        acct = self.account(order.address)
        d_cash, d_shares = (-cash, q) if order.side == BUY else (cash, -q)
        self.apply(acct, order.token_id, d_cash, d_shares)
        deltas.append((order.address, d_cash, order.token_id, d_shares))

    def charge_fee(self, deltas: list, address: str, fee: Decimal) -> None:
        self.account(address).collateral -= fee
        self.fees_collected += fee
        deltas.append((address, -fee, None, ZERO))

    def apply(self, acct: Account, token: str | None, d_cash: Decimal, d_shares: Decimal) -> None:
        acct.collateral += d_cash
        if token is None or d_shares == 0:
            return
        held = acct.positions.get(token, ZERO)
        basis = acct.cost.setdefault(token, [ZERO, ZERO, ZERO])
        if d_shares > 0:
            basis[0] += -d_cash
            basis[1] += d_shares
        elif held > 0:
            avg = basis[0] / held
            sold = min(-d_shares, held)
            basis[2] += d_cash - avg * sold
            basis[0] -= avg * sold
        acct.positions[token] = held + d_shares

    def reverse(self, deltas: Iterable[Delta]) -> None:
        """Undo a trade's deltas, last first; a fee goes back to the taker."""
        for address, d_cash, token, d_shares in reversed(list(deltas)):
            acct = self.account(address)
            if token is None:
                acct.collateral -= d_cash
                self.fees_collected += d_cash
            else:
                self.apply(acct, token, -d_cash, -d_shares)

    def redeem(self, tokens: Iterable[str], winner: str) -> None:
        """Market resolution: every position in ``tokens`` closes; the winner pays 1 per share."""
        tokens = list(tokens)
        for acct in self.accounts.values():
            for token in tokens:
                size = acct.positions.pop(token, ZERO)
                acct.reserved_shares.pop(token, None)
                if token == winner:
                    acct.collateral += size

    # ------------------------------------------------------------------ views

    def audit(self) -> dict:
        """Totals across every account, for conservation checks: collateral, fees, and per token."""
        shares: dict[str, Decimal] = {}
        for acct in self.accounts.values():
            for token, size in acct.positions.items():
                shares[token] = shares.get(token, ZERO) + size
        return {
            "collateral": sum((a.collateral for a in self.accounts.values()), ZERO),
            "fees": self.fees_collected,
            "shares": shares,
        }
