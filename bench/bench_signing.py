"""Order signing speed: pmbot's OrderSigner vs py_clob_client_v2's OrderBuilder, same run.

Prints JSON lines (one per measurement, then the ratios). Never asserts on timings.

- ``pmbot``: ``OrderSigner.build`` (exact amounts, struct hash, digest, coincurve signature, wire
  dict, order id) for signature type 0 and for type 3 (the 317-byte ERC-7739 wrapper).
- ``pmbot-verify``: what the simulator does per order: ``order_digest`` + ``recover_order_signer``.
- ``py_clob_client_v2``: ``OrderBuilder.build_order(...)`` with eth_keys' default backend (it picks
  ``CoinCurveECCBackend`` whenever coincurve is importable; the backend actually used is reported),
  then with ``NativeECCBackend`` forced through eth_keys' own ``ECC_BACKEND_CLASS`` switch.

Each figure is the median of several batches, in microseconds per order.

    /work/venv/bin/python bench/bench_signing.py [--orders 2000] [--batches 5]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from contextlib import contextmanager
from decimal import Decimal

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from eth_account import Account  # noqa: E402
from py_clob_client_v2.clob_types import CreateOrderOptions, OrderArgs  # noqa: E402
from py_clob_client_v2.order_builder.builder import OrderBuilder  # noqa: E402
from py_clob_client_v2.signer import Signer as SdkSigner  # noqa: E402

from pmbot import eip712  # noqa: E402
from pmbot.model import Side  # noqa: E402
from pmbot.venue.signer import OrderSigner  # noqa: E402

KEY = "0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"
WALLET = "0x8ba1f109551bD432803012645Ac136ddd64DBA72"
TOKEN = "71321045679252212594626385532706912750332728571942532289631379312455583992563"


def make_orders(n: int, seed: int = 7) -> list[tuple[Side, Decimal, Decimal, bool]]:
    rng = random.Random(seed)
    return [
        (
            rng.choice((Side.BUY, Side.SELL)),
            Decimal(rng.randint(1, 99)) / 100,
            Decimal(rng.randint(500, 1_000_000)) / 100,
            rng.random() < 0.3,
        )
        for _ in range(n)
    ]


def per_order_us(fn, items, batches: int) -> float:
    """Median over ``batches`` runs of the mean time per item, in microseconds."""
    results = []
    for _ in range(batches):
        t0 = time.perf_counter_ns()
        for item in items:
            fn(item)
        results.append((time.perf_counter_ns() - t0) / len(items) / 1000)
    return statistics.median(results)


@contextmanager
def eth_keys_backend(import_path: str):
    """eth_keys reads ECC_BACKEND_CLASS whenever no backend was pinned (eth_account's default)."""
    old = os.environ.get("ECC_BACKEND_CLASS")
    os.environ["ECC_BACKEND_CLASS"] = import_path
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("ECC_BACKEND_CLASS", None)
        else:
            os.environ["ECC_BACKEND_CLASS"] = old


def backend_in_use() -> str:
    return type(Account._parse_private_key(KEY).backend).__name__


def bench_pmbot(orders, batches: int, sig_type: int) -> float:
    signer = OrderSigner(KEY, signature_type=sig_type, funder=None if sig_type == 0 else WALLET)
    tick = Decimal("0.01")

    def one(o):
        side, price, size, neg_risk = o
        signer.build(TOKEN, side, price, size, neg_risk=neg_risk, tick=tick)

    return per_order_us(one, orders, batches)


def bench_pmbot_verify(orders, batches: int) -> float:
    signer = OrderSigner(KEY, signature_type=2, funder=WALLET)
    signed = [
        signer.build(TOKEN, s, p, q, neg_risk=nr, tick=Decimal("0.01")) for s, p, q, nr in orders
    ]

    def one(so):
        eip712.order_digest(so.order, neg_risk=so.neg_risk)
        eip712.recover_order_signer(so.order, neg_risk=so.neg_risk)

    return per_order_us(one, signed, batches)


def bench_sdk(orders, batches: int) -> float:
    builder = OrderBuilder(SdkSigner(KEY, 137), signature_type=0)

    def one(o):
        side, price, size, neg_risk = o
        builder.build_order(
            OrderArgs(token_id=TOKEN, price=float(price), size=float(size), side=side.value),
            CreateOrderOptions(tick_size="0.01", neg_risk=neg_risk),
            version=2,
        )

    return per_order_us(one, orders, batches)


def emit(**fields) -> None:
    print(json.dumps({"bench": "signing", **fields}), flush=True)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--orders", type=int, default=2000, help="orders per batch for pmbot")
    ap.add_argument(
        "--sdk-orders", type=int, default=300, help="orders per batch for the SDK with coincurve"
    )
    ap.add_argument(
        "--native-orders", type=int, default=30, help="orders per batch for the SDK, pure Python"
    )
    ap.add_argument("--batches", type=int, default=5)
    args = ap.parse_args(argv)

    orders = make_orders(args.orders)
    for sig_type in (0, 3):
        bench_pmbot(orders[:100], 1, sig_type)  # warm-up
    pm0 = bench_pmbot(orders, args.batches, 0)
    emit(
        impl="pmbot",
        sig_type=0,
        us_per_order=round(pm0, 2),
        orders=len(orders),
        batches=args.batches,
    )
    pm3 = bench_pmbot(orders, args.batches, 3)
    emit(
        impl="pmbot",
        sig_type=3,
        us_per_order=round(pm3, 2),
        orders=len(orders),
        batches=args.batches,
    )
    ver = bench_pmbot_verify(orders, args.batches)
    emit(
        impl="pmbot-verify",
        sig_type=2,
        us_per_order=round(ver, 2),
        orders=len(orders),
        batches=args.batches,
    )

    default_backend = backend_in_use()
    bench_sdk(orders[:20], 1)  # warm-up
    sdk_cc = bench_sdk(orders[: args.sdk_orders], args.batches)
    emit(
        impl="py_clob_client_v2",
        backend=default_backend,
        sig_type=0,
        us_per_order=round(sdk_cc, 2),
        orders=args.sdk_orders,
        batches=args.batches,
    )

    with eth_keys_backend("eth_keys.backends.NativeECCBackend"):
        native_backend = backend_in_use()
        sdk_native = bench_sdk(orders[: args.native_orders], max(1, min(args.batches, 3)))
    emit(
        impl="py_clob_client_v2",
        backend=native_backend,
        sig_type=0,
        us_per_order=round(sdk_native, 2),
        orders=args.native_orders,
        batches=max(1, min(args.batches, 3)),
    )

    emit(
        ratio_sdk_default_over_pmbot=round(sdk_cc / pm0, 1),
        ratio_sdk_native_over_pmbot=round(sdk_native / pm0, 1),
        sdk_default_backend=default_backend,
        target_us_per_order=100,
        pmbot_within_target=pm0 <= 100,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
