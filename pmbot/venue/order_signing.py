"""The executor's order signing (``pmbot.execution.ports.OrderSigning``): a NewOrder in, its venue
order id (the EIP-712 order hash) and the ``POST /orders`` payload out."""

from __future__ import annotations

from typing import Any

from pmbot.model import NewOrder
from pmbot.venue.signer import order_payload


class OrderSigning:
    def __init__(self, signer: Any, api_key: str) -> None:
        self.signer = signer  # an OrderSigner (or a wrapper with its ``build``)
        self._api_key = api_key

    def __repr__(self) -> str:
        return "OrderSigning(<api key hidden>)"

    def sign(self, order: NewOrder) -> tuple[str, dict]:
        """Raises ValueError if the order cannot be signed (e.g. a price off its tick)."""
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
