"""The bot's order signer: exact amounts, byte-identical V2 EIP-712 signatures, ~tens of us/order.

``OrderSigner.build`` turns (token, side, price, size) into the wire ``order`` object that
``POST /order(s)`` expects, with the same keys and value types as py_clob_client_v2's
``order_to_json_v2(...)["order"]`` and, for equal fields (salt, timestamp, amounts, maker, signer,
...), the same signature bytes, for signature types 0, 1, 2 and 3 (see ``pmbot.eip712``).

Differences from py_clob_client_v2, on purpose:

- Amounts are exact. The SDK computes ``floor(size*100)/100`` in floats, which drops a cent on
  ~7% of two-decimal sizes (8400.3 -> 8400.29). Here size is rounded DOWN to 2 dp in ``Decimal``,
  and ``size * price`` always fits in 6 decimals because prices have at most 4 decimals on every
  tick the venue uses, so no further rounding is ever needed.
- Prices must already be on the tick and inside ``[tick, 1 - tick]``; the SDK silently rounds
  the price instead (a strategy bug should be loud, not quietly re-priced).
- No network, no clock or randomness of its own: ``clock_ms`` and ``rng`` are injectable.

The private key is held only as a coincurve key object; it never appears in repr, logs or errors.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal
from typing import Any

import coincurve

from pmbot import eip712
from pmbot.eip712_primitives import bytes32
from pmbot.model import BASE_UNITS, OrderType, Side
from pmbot.venue.market_orders import MarketAmounts

log = logging.getLogger(__name__)

BYTES32_ZERO = "0x" + "00" * 32
SIZE_QUANTUM = Decimal(
    "0.01"
)  # the venue's size precision (ROUNDING_CONFIG size dp = 2 on every tick)
# The ticks the venue uses (ROUNDING_CONFIG in py_clob_client_v2). All have <= 4 price decimals, so
# size (2 dp) * price fits in 6 decimals = 1e-6 base units exactly.
SUPPORTED_TICKS = frozenset(
    Decimal(t) for t in ("0.1", "0.01", "0.005", "0.0025", "0.001", "0.0001")
)
_UINT256_LIMIT = 1 << 256
_SIDE_CODE = {Side.BUY: 0, Side.SELL: 1}


@dataclass(frozen=True, slots=True)
class SignedOrder:
    """A signed order ready to post. ``order`` is the wire object; ``order_id`` is the venue's id
    for it (the EIP-712 order hash). ``price``/``size`` are what the order really says (size after
    rounding down to 2 dp)."""

    order_id: str
    order: dict
    token_id: str
    side: Side
    price: Decimal
    size: Decimal
    neg_risk: bool = False


def exact_amounts(
    side: Side, price: Decimal, size: Decimal, tick: Decimal
) -> tuple[Decimal, int, int]:
    """(size rounded down to 2 dp, makerAmount, takerAmount) in 1e-6 base units, exactly.

    BUY: maker gives ``size*price`` pUSD, takes ``size`` shares. SELL: the reverse.
    Raises ValueError for an unsupported tick, a price off the tick or outside ``[tick, 1-tick]``,
    or a size that rounds down to zero.
    """
    if (
        not isinstance(price, Decimal)
        or not isinstance(size, Decimal)
        or not isinstance(tick, Decimal)
    ):
        raise ValueError("price, size and tick must be Decimal")
    if tick not in SUPPORTED_TICKS:
        raise ValueError(f"unsupported tick size {tick}")
    if not price.is_finite() or not size.is_finite():
        raise ValueError("price and size must be finite")
    if (price / tick) != (price / tick).to_integral_value():
        raise ValueError(f"price {price} is not on tick {tick}")
    if not tick <= price <= 1 - tick:
        raise ValueError(f"invalid price ({price}), min: {tick} - max: {1 - tick}")
    size2 = size.quantize(SIZE_QUANTUM, rounding=ROUND_FLOOR)
    if size2 <= 0:
        raise ValueError(f"size {size} rounds down to zero")
    shares = int(size2 * 100) * (BASE_UNITS // 100)
    notional_scaled = size2 * price * BASE_UNITS
    notional = int(notional_scaled)
    if notional != notional_scaled:  # cannot happen for supported ticks; guard the invariant anyway
        raise ValueError(f"{size2} * {price} is not a whole number of base units")
    if side is Side.BUY:
        return size2, notional, shares
    if side is Side.SELL:
        return size2, shares, notional
    raise ValueError(f"side must be Side.BUY or Side.SELL, got {side!r}")


def _default_clock_ms() -> int:
    return time.time_ns() // 1_000_000


class OrderSigner:
    """Builds and signs V2 orders for one wallet.

    ``signature_type``: 0 EOA, 1 Polymarket proxy, 2 Gnosis Safe, 3 deposit wallet (POLY_1271).
    ``funder`` is the order ``maker`` (the wallet holding pUSD and shares); it defaults to the EOA,
    which is only right for type 0. For type 3 the order ``signer`` is the funder too and the
    signature is the ERC-7739 wrapper; otherwise ``signer`` is the EOA.
    """

    __slots__ = (
        "_key",
        "address",
        "funder",
        "chain_id",
        "signature_type",
        "_rng",
        "_clock_ms",
        "_maker20",
        "_signer20",
        "_signer_str",
        "_metadata32",
        "_builder32",
        "_metadata",
        "_builder",
        "_domains",
        "deposit_signature",
    )

    def __init__(
        self,
        private_key: str,
        *,
        chain_id: int = 137,
        signature_type: int = 0,
        funder: str | None = None,
        rng: random.Random | None = None,
        clock_ms: Callable[[], int] | None = None,
        builder_code: str = BYTES32_ZERO,
        metadata: str = BYTES32_ZERO,
        deposit_signature: str = "erc7739",
    ) -> None:
        if isinstance(signature_type, bool) or signature_type not in eip712.SIGNATURE_TYPES:
            raise ValueError(f"signature_type must be one of {eip712.SIGNATURE_TYPES}")
        self._key = coincurve.PrivateKey(eip712.private_key_bytes(private_key))
        self.address = eip712.address_of(self._key)
        self.funder = eip712.checksum_address(funder) if funder is not None else self.address
        if signature_type == 0 and self.funder != self.address:
            raise ValueError(
                "signature type 0 (EOA) trades from the EOA itself: "
                "funder must be the signer address"
            )
        self.chain_id = int(chain_id)
        self.signature_type = int(signature_type)
        if deposit_signature not in ("plain", "erc7739"):
            raise ValueError("deposit_signature must be 'plain' or 'erc7739'")
        self.deposit_signature = deposit_signature  # type 3 only: see pmbot.venue.erc1271
        self._rng = rng if rng is not None else random.Random()
        self._clock_ms = clock_ms if clock_ms is not None else _default_clock_ms
        signer = self.funder if self.signature_type == eip712.POLY_1271 else self.address
        self._signer_str = signer
        self._maker20 = bytes.fromhex(self.funder[2:])
        self._signer20 = bytes.fromhex(signer[2:])
        self._metadata32 = bytes32(metadata, "metadata")
        self._builder32 = bytes32(builder_code, "builder_code")
        self._metadata = metadata
        self._builder = builder_code
        self._domains = {
            nr: eip712.exchange_domain_separator(neg_risk=nr, chain_id=self.chain_id)
            for nr in (False, True)
        }

    def __repr__(self) -> str:
        return (
            f"OrderSigner(address={self.address}, funder={self.funder}, "
            f"signature_type={self.signature_type}, chain_id={self.chain_id})"
        )

    __str__ = __repr__

    def __reduce__(self) -> Any:  # pickling would copy the key somewhere we do not control
        raise TypeError("OrderSigner cannot be pickled")

    def build(
        self,
        token_id: str,
        side: Side,
        price: Decimal,
        size: Decimal,
        *,
        neg_risk: bool,
        tick: Decimal,
        expiration: int = 0,
        salt: int | None = None,
        timestamp_ms: int | None = None,
    ) -> SignedOrder:
        """Sign one limit order. ``salt``/``timestamp_ms`` default to the injected rng/clock (the
        SDK's shape: salt in ``[1, now_ms)``, timestamp in ms). ``expiration`` (unix seconds, GTD
        only) is sent but, in V2, not signed."""
        size2, maker_amount, taker_amount = exact_amounts(side, price, size, tick)
        fields = (maker_amount, taker_amount, price, size2)
        return self._signed(token_id, side, fields, neg_risk, expiration, salt, timestamp_ms)

    def build_amounts(
        self,
        token_id: str,
        amounts: MarketAmounts,
        *,
        neg_risk: bool,
        expiration: int = 0,
        salt: int | None = None,
        timestamp_ms: int | None = None,
    ) -> SignedOrder:
        """Sign a FAK/FOK (market) order with the amounts ``pmbot.venue.market_orders`` computed:
        the same struct, domain and wire shape as ``build``, so the signature is byte-identical to
        the SDK's ``build_market_order`` for the same fields."""
        fields = (amounts.maker_amount, amounts.taker_amount, amounts.price, amounts.shares)
        return self._signed(
            token_id, amounts.side, fields, neg_risk, expiration, salt, timestamp_ms
        )

    def _signed(
        self,
        token_id: str,
        side: Side,
        fields: tuple[int, int, Decimal, Decimal],
        neg_risk: bool,
        expiration: int,
        salt: int | None,
        timestamp_ms: int | None,
    ) -> SignedOrder:
        """Sign (makerAmount, takerAmount, price, size) for ``token_id``: the wire order."""
        maker_amount, taker_amount, price, size = fields
        token_int, salt, ts = self._checked_fields(token_id, expiration, salt, timestamp_ms)
        side_code = _SIDE_CODE[side]
        neg_risk = bool(neg_risk)
        contents = eip712.order_struct_hash_from_fields(
            salt,
            self._maker20,
            self._signer20,
            token_int,
            maker_amount,
            taker_amount,
            side_code,
            self.signature_type,
            ts,
            self._metadata32,
            self._builder32,
        )
        digest, signature = self._sign(contents, neg_risk)
        order = {
            "salt": salt,
            "maker": self.funder,
            "signer": self._signer_str,
            "tokenId": token_id,
            "makerAmount": str(maker_amount),
            "takerAmount": str(taker_amount),
            "side": side.value,
            "expiration": str(expiration),
            "signatureType": self.signature_type,
            "timestamp": str(ts),
            "metadata": self._metadata,
            "builder": self._builder,
            "signature": signature,
        }
        return SignedOrder(
            order_id="0x" + digest.hex(),
            order=order,
            token_id=token_id,
            side=side,
            price=price,
            size=size,
            neg_risk=neg_risk,
        )

    def _checked_fields(
        self, token_id: str, expiration: int, salt: int | None, timestamp_ms: int | None
    ) -> tuple[int, int, int]:
        """(token id as int, salt, timestamp ms), each checked to fit its signed uint256 word."""
        if not (isinstance(token_id, str) and token_id.isascii() and token_id.isdigit()):
            raise ValueError("token_id must be a decimal string")
        token_int = int(token_id)
        if token_int >= _UINT256_LIMIT:
            raise ValueError("token_id out of uint256 range")
        if isinstance(expiration, bool) or not isinstance(expiration, int) or expiration < 0:
            raise ValueError("expiration must be a non-negative int (unix seconds)")
        ts = self._clock_ms() if timestamp_ms is None else timestamp_ms
        if salt is None:
            salt = self._rng.randrange(1, max(2, ts))
        if not (0 <= salt < _UINT256_LIMIT and 0 <= ts < _UINT256_LIMIT):
            raise ValueError("salt and timestamp must be uint256")
        return token_int, salt, ts

    def _sign(self, contents: bytes, neg_risk: bool) -> tuple[bytes, str]:
        """(EIP-712 digest, signature) for an order struct hash; type 3 signs it plainly or wraps
        it (ERC-7739), as ``wallet.deposit_signature`` says."""
        digest = eip712.eip712_digest(self._domains[neg_risk], contents)
        if self.signature_type == eip712.POLY_1271 and self.deposit_signature == "erc7739":
            signature = eip712.poly_1271_wrap(
                self._key, contents, self._signer20, neg_risk=neg_risk, chain_id=self.chain_id
            )
        else:
            signature = eip712.sign_digest(self._key, digest)
        return digest, signature


def order_payload(
    signed: SignedOrder,
    owner: str,
    order_type: OrderType,
    post_only: bool,
    defer_exec: bool = False,
) -> dict:
    """One element of a ``POST /order(s)`` body, shaped exactly like ``order_to_json_v2``.
    ``owner`` is the API key (not the address). Post-only is refused with FOK/FAK, as the SDK
    does."""
    order_type = OrderType(order_type)
    if post_only and order_type in (OrderType.FOK, OrderType.FAK):
        raise ValueError("post_only is not supported for FOK/FAK orders")
    return {
        "order": dict(signed.order),
        "owner": owner,
        "orderType": order_type.value,
        "deferExec": bool(defer_exec),
        "postOnly": bool(post_only),
    }
