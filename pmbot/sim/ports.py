"""What the simulator's REST surface needs of its collaborators, as ``typing.Protocol`` types.

The server wires the real ones (``Exchange``, ``KeyStore``, ``Faults``, ``Heartbeats``,
``BenchFeed``); tests may pass fakes that have these methods.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Protocol

from pmbot.sim.auth import ApiCredentials, KeyLookup
from pmbot.sim.deposit_wallet import SimAccounts
from pmbot.sim.faults import FaultReply
from pmbot.sim.markets import SimConfig, SimEvent, SimMarket
from pmbot.sim.records import RecordCounts
from pmbot.sim.venue_knobs import VenueKnobs


class ExchangeApi(Protocol):
    config: SimConfig
    markets: dict[str, SimMarket]
    events: dict[str, SimEvent]

    def market_of_token(self, token_id: str) -> SimMarket: ...
    def book_snapshot(self, token_id: str) -> dict: ...
    def place_order(
        self, owner: str, order: dict, *, order_type: str, post_only: bool, order_id: str
    ) -> dict: ...
    def cancel_orders(self, owner: str, order_ids: list[str]) -> dict: ...
    def cancel_all(self, owner: str) -> dict: ...
    def cancel_market_orders(
        self, owner: str, market: str | None = None, asset_id: str | None = None
    ) -> dict: ...
    def open_orders(
        self,
        owner: str,
        *,
        order_id: str | None = None,
        market: str | None = None,
        asset_id: str | None = None,
    ) -> list[dict]: ...
    def get_order(self, owner: str, order_id: str) -> dict | None: ...
    def trades(
        self,
        owner: str,
        *,
        trade_id: str | None = None,
        market: str | None = None,
        asset_id: str | None = None,
        after: int | None = None,
        before: int | None = None,
    ) -> list[dict]: ...
    def balance(self, address: str) -> Decimal: ...
    def ledger(self, address: str) -> dict: ...
    def positions(self, user: str) -> list[dict]: ...
    def record_counts(self) -> RecordCounts: ...
    def add_market(self, market: SimMarket, *, background: bool = False) -> SimMarket: ...


class KeyRegistry(KeyLookup, Protocol):
    accounts: SimAccounts  # deposit-wallet accounts and allowances (pmbot.sim.deposit_wallet)

    def derive(self, address: str, nonce: int) -> ApiCredentials: ...


class FaultGate(Protocol):
    venue: VenueKnobs

    def before_order(self, *, all_post_only: bool) -> FaultReply | None: ...
    def before_cancel(self) -> FaultReply | None: ...
    def take_hang_secs(self) -> float: ...
    def apply(self, knobs: dict) -> dict: ...


class HeartbeatRegistry(Protocol):
    def beat(self, api_key: str, heartbeat_id: str) -> tuple[bool, str]: ...


class BenchMarkets(Protocol):
    def has_token(self, token_id: str) -> bool: ...
    def book_snapshot(self, token_id: str) -> dict: ...
    def create_markets(self, count: int, levels: int, exchange: Any = None) -> list[dict]: ...
    def start_flood(self, *, rate: float, count: int) -> dict: ...
