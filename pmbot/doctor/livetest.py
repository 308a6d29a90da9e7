"""``doctor --livetest``: one post-only GTC BUY at the market's minimum size at the lowest allowed
price (far from the touch), seen on the user channel and in ``GET /data/orders``, cancelled, and
verified gone. A refusal is printed verbatim with its fix."""

from __future__ import annotations

import time

from pmbot.config import Config
from pmbot.doctor.fixes import fix_for
from pmbot.doctor.report import Result, failed, passed
from pmbot.doctor.ws_probe import UserChannel
from pmbot.errors import PmbotError
from pmbot.model import MarketInfo, OrderType, Side
from pmbot.venue.auth import ApiCreds
from pmbot.venue.rest import ClobRest
from pmbot.venue.signer import OrderSigner, order_payload

WAIT_SECS = 10.0
NAME = "livetest"


def _post(rest: ClobRest, signer: OrderSigner, creds: ApiCreds, m: MarketInfo) -> str:
    """Place the probe order; its id, or PmbotError/ValueError with the venue's answer."""
    signed = signer.build(
        m.yes_token, Side.BUY, m.tick, m.min_size, neg_risk=m.neg_risk, tick=m.tick
    )
    answer = rest.post_order(order_payload(signed, creds.api_key, OrderType.GTC, post_only=True))
    if not answer.get("success", True) or answer.get("errorMsg"):
        raise ValueError(str(answer.get("errorMsg") or answer))
    return str(answer.get("orderID") or signed.order_id)


def _gone(rest: ClobRest, order_id: str, market: str) -> bool:
    deadline = time.monotonic() + WAIT_SECS
    while time.monotonic() < deadline:
        if all(o.get("id") != order_id for o in rest.open_orders(market=market)):
            return True
        time.sleep(0.3)  # polling the venue; the answer is the condition, not the delay
    return False


def _cancel_and_verify(rest: ClobRest, order_id: str, m: MarketInfo) -> Result | None:
    rest.cancel_order(order_id)
    if not _gone(rest, order_id, m.condition_id):
        return failed(
            NAME,
            f"order {order_id} still open after cancel",
            "cancel it on polymarket.com or with DELETE /order; then re-run",
        )
    return None


def run_livetest(
    cfg: Config, rest: ClobRest, signer: OrderSigner, creds: ApiCreds, m: MarketInfo
) -> Result:
    """Place, observe, cancel, verify. Always tries to cancel what it placed."""
    chan = UserChannel(cfg.venue.user_ws_url, creds, [m.condition_id], WAIT_SECS)
    order_id = ""
    try:
        # no ack exists for the user-channel subscription: give the venue a moment to register
        # it (a refused auth closes the connection) before the order whose event we wait for
        if not chan.still_open(1.0):
            return failed(NAME, "the user channel closed after auth", "re-derive the API key")
        try:
            order_id = _post(rest, signer, creds, m)
        except (PmbotError, ValueError) as exc:
            text = str(exc)
            return failed(NAME, f"the venue refused the probe order: {text}", fix_for(text))
        event = chan.wait_for(lambda e: e.get("id") == order_id, WAIT_SECS)
        listed = any(o.get("id") == order_id for o in rest.open_orders(market=m.condition_id))
        problem = _cancel_and_verify(rest, order_id, m)
        order_id = ""
        if problem is not None:
            return problem
        if event is None or not listed:
            where = "the user channel" if event is None else "GET /data/orders"
            return failed(
                NAME, f"the order was accepted but not seen on {where}", "check venue URLs"
            )
        return passed(
            NAME,
            f"BUY {m.min_size} @ {m.tick} on {m.slug or m.condition_id}: placed, seen on the user "
            "channel and GET /data/orders, cancelled, gone",
        )
    finally:
        if order_id:  # an exception after the post: do not leave it behind
            try:
                rest.cancel_order(order_id)
            except PmbotError:
                pass
        chan.close()
