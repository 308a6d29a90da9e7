"""The executor's order signing (``pmbot.execution.ports.OrderSigning``): a NewOrder in, its venue
order id (the EIP-712 order hash) and the ``POST /orders`` payload out.

- GTC/GTD orders get limit-order amounts (``OrderSigner.build``); FAK/FOK orders get the venue's
  market-order amounts (``pmbot.venue.market_orders``, issue 13): a BUY spends ``size * price``
  pUSD to the cent (rounded up for arbitrage legs, tag ``arb``, so the signed taker is at least
  ``size`` shares), a SELL offers ``size`` shares.
- ``check_version``: ``GET /version``; a version the signer cannot sign stops with a clear
  ``FatalError`` (start-up, and after an ``order_version_mismatch``).
- ``explain_refusal``: a balance refusal is re-read against ``GET /balance-allowance`` and reported
  as ``not enough balance/allowance: <numbers>``.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

from pmbot.errors import PmbotError, TransientError
from pmbot.model import NewOrder, OrderType, Side
from pmbot.venue.market_orders import MarketAmounts, market_buy_for_shares, market_order_amounts
from pmbot.venue.signer import order_payload
from pmbot.venue.wire_clob import (
    BalanceAllowance,
    ClobWireError,
    balance_refusal_message,
    check_order_version,
    is_balance_refusal,
)

log = logging.getLogger(__name__)


class VenueAccount(Protocol):
    """What the signing needs from the REST client (``pmbot.venue.rest.ClobRest``)."""

    def order_version(self) -> int: ...

    def balance_allowance(
        self, signature_type: int, asset_type: str = "COLLATERAL", token_id: str = ""
    ) -> BalanceAllowance: ...

    def update_balance_allowance(
        self, signature_type: int, asset_type: str = "COLLATERAL", token_id: str = ""
    ) -> None: ...


def market_amounts(order: NewOrder) -> MarketAmounts:
    """The amounts of a FAK/FOK order (ValueError if they cannot be built)."""
    if order.side is Side.BUY:
        # A FAK arb leg rounds its spend up to get the whole set count; a FOK leg must not ask more
        # than the depth it was sized to, so it rounds down (pmbot.strategy.arb_sizing).
        at_least = order.tag == "arb" and order.order_type is not OrderType.FOK
        return market_buy_for_shares(order.size, order.price, order.tick, at_least=at_least)
    return market_order_amounts(Side.SELL, order.size, order.price, order.tick)


class OrderSigning:
    def __init__(self, signer: Any, api_key: str, rest: VenueAccount | None = None) -> None:
        self.signer = signer  # an OrderSigner (or a wrapper with its ``build``/``build_amounts``)
        self._api_key = api_key
        self.rest = rest  # None: no version check, refusals reported as the venue worded them

    def __repr__(self) -> str:
        return "OrderSigning(<api key hidden>)"

    def sign(self, order: NewOrder) -> tuple[str, dict]:
        """Raises ValueError if the order cannot be signed (e.g. a price off its tick)."""
        if order.order_type in (OrderType.FAK, OrderType.FOK):
            signed = self.signer.build_amounts(
                order.token_id,
                market_amounts(order),
                neg_risk=order.neg_risk,
                expiration=order.expiration,
            )
        else:
            signed = self.signer.build(
                order.token_id,
                order.side,
                order.price,
                order.size,
                neg_risk=order.neg_risk,
                tick=order.tick,
                expiration=order.expiration,
            )
        return signed.order_id, order_payload(
            signed, self._api_key, order.order_type, order.post_only
        )

    def check_version(self) -> None:
        """``GET /version``; FatalError (with the operator's message) for a version this bot
        cannot sign. Without a REST client there is nothing to check."""
        if self.rest is None:
            return
        try:
            version = self.rest.order_version()
        except ClobWireError as exc:
            raise TransientError(f"GET /version: {exc}") from None
        check_order_version(version)
        log.info("the venue wants order version %d: signing it", version)

    def explain_refusal(self, order: NewOrder, reason: str) -> str:
        if self.rest is None or not is_balance_refusal(reason):
            return reason
        buy = order.side is Side.BUY
        needed = order.size * order.price if buy else order.size
        known = None
        try:
            # the venue's cached balance may predate a deposit or an approval: refresh it first
            self.rest.update_balance_allowance(int(getattr(self.signer, "signature_type", 0)))
            log.info("balance refusal: asked the venue to re-read the balance and allowance")
            known = self.rest.balance_allowance(
                int(getattr(self.signer, "signature_type", 0)),
                "COLLATERAL" if buy else "CONDITIONAL",
                "" if buy else order.token_id,
            )
        except (PmbotError, ClobWireError) as exc:
            log.warning("balance re-read after a refusal failed: %s", exc)
        return balance_refusal_message(needed, "pUSD" if buy else "shares", known)
