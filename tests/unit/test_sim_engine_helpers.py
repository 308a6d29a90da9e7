"""Shared helpers for the simulator engine tests: a fake clock, a recording listener, a small
config without background traders, and wire-order construction in exact base units."""

from __future__ import annotations

import hashlib
from decimal import Decimal

from pmbot.sim.engine import Exchange
from pmbot.sim.markets import load_sim_config

T0 = 1_767_000_000.0
ALICE, BOB, CAROL = "0x" + "a1" * 20, "0x" + "b2" * 20, "0x" + "c3" * 20
KEYS = {ALICE: "key-alice", BOB: "key-bob", CAROL: "key-carol"}


class FakeClock:
    def __init__(self, t: float = T0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[str, str, dict]] = []

    def __call__(self, channel: str, key: str, message: dict) -> None:
        self.events.append((channel, key, message))

    def of(self, channel: str, event_type: str, key: str | None = None) -> list[dict]:
        return [
            m
            for c, k, m in self.events
            if c == channel and m.get("event_type") == event_type and (key is None or k == key)
        ]

    def clear(self) -> None:
        self.events.clear()


def small_config(**overrides):
    raw = {
        "seed": 3,
        "background": False,
        "settle_mined_secs": 0.3,
        "settle_confirmed_secs": 1.0,
        "markets": [
            {"slug": "coin-flip", "fair_value": 0.5, "tick": 0.01, "min_size": 5, "fee_rate": 0.04},
            {"slug": "free-market", "fair_value": 0.5, "tick": 0.01, "min_size": 5, "fee_rate": 0},
        ],
        "events": [
            {
                "slug": "three-way",
                "title": "Who wins?",
                "neg_risk_augmented": False,
                "fee_rate": 0,
                "outcomes": [
                    {"label": "A", "fair_value": 0.4},
                    {"label": "B", "fair_value": 0.3},
                    {"label": "C", "fair_value": 0.3},
                ],
            }
        ],
    }
    raw.update(overrides)
    return load_sim_config(raw)


def make_exchange(**overrides):
    clock = FakeClock()
    ex = Exchange(small_config(**overrides), clock=clock)
    rec = Recorder()
    ex.add_listener(rec)
    return ex, clock, rec


_counter = [0]


def wire(token: str, side: str, price, size, *, maker: str = ALICE, expiration: int = 0) -> dict:
    """A wire 'order' object with exact integer amounts, as py_clob_client_v2 builds them."""
    price, size = Decimal(str(price)), Decimal(str(size))
    shares = int(size * 1_000_000)
    cash = int(size * price * 1_000_000)
    maker_amount, taker_amount = (cash, shares) if side == "BUY" else (shares, cash)
    _counter[0] += 1
    return {
        "salt": _counter[0],
        "maker": maker,
        "signer": maker,
        "tokenId": token,
        "makerAmount": str(maker_amount),
        "takerAmount": str(taker_amount),
        "side": side,
        "expiration": str(expiration),
        "signatureType": 0,
        "timestamp": str(int(T0 * 1000)),
        "metadata": "0x" + "00" * 32,
        "builder": "0x" + "00" * 32,
        "signature": "0x",
    }


def oid(n=None) -> str:
    _counter[0] += 1
    return (
        "0x"
        + hashlib.sha256(f"test-order:{n if n is not None else _counter[0]}".encode()).hexdigest()
    )


def place(
    ex,
    token,
    side,
    price,
    size,
    *,
    maker=ALICE,
    order_type="GTC",
    post_only=False,
    expiration=0,
    order_id=None,
):
    return ex.place_order(
        KEYS.get(maker, "key-" + maker[-4:]),
        wire(token, side, price, size, maker=maker, expiration=expiration),
        order_type=order_type,
        post_only=post_only,
        order_id=order_id or oid(),
    )


def market(ex, slug="coin-flip"):
    return next(m for m in ex.markets.values() if m.slug == slug)
