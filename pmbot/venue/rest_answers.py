"""How the CLOB's answers to order posts and cancels are shaped for the executor (the venue's rules
are in ``wire_clob``), and ``Begun``: a request written ahead whose answer is read later (issue 20).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pmbot.errors import TransientError, UnknownOutcomeError
from pmbot.model import OrderType
from pmbot.venue.rest_http import Pending
from pmbot.venue.wire_clob import ClobWireError, parse_cancel_answer, parse_post_result


def _order_type(payload: dict) -> OrderType | None:
    try:
        return OrderType(payload.get("orderType"))
    except ValueError:
        return None


def post_results(results: list, payloads: list[dict]) -> list[dict | None]:
    """Each ``POST /orders`` result read by the venue's rules (``wire_clob.parse_post_result``):
    ``success`` + ``orderID`` is accepted whatever else it says, a missing or unfamiliar status
    reads ``live`` (``odd``), and a FAK/FOK answered ``live``/``delayed`` is ``settled: False``
    (tracked until the user channel or a poll settles it). A result that cannot be read is None:
    an unknown outcome, never a rejection."""
    out: list[dict | None] = []
    for index, body in enumerate(results[: len(payloads)]):
        try:
            parsed = parse_post_result(body, _order_type(payloads[index]))
        except ClobWireError:
            out.append(None)
            continue
        out.append(
            {
                "success": parsed.accepted,
                "orderID": parsed.order_id,
                "status": parsed.status,
                "errorMsg": "" if parsed.accepted else parsed.error,
                "warning": parsed.error if parsed.accepted else "",
                "makingAmount": str(parsed.making) if parsed.making else "",
                "takingAmount": str(parsed.taking) if parsed.taking else "",
                "tradeIDs": list(parsed.trade_ids),
                "odd": parsed.odd,
                "settled": parsed.settled,
            }
        )
    return out


def cancel_answer(body: Any, endpoint: str) -> dict:
    """A cancel answer read by the venue's rule (``wire_clob.parse_cancel_answer``): ``canceled``
    and ``not_canceled`` as the venue sent them, plus ``gone`` (ids whose reason is ``already
    canceled or matched``), ``still_live`` ((id, reason) pairs: the cancel failed, the order
    rests) and ``reason_kinds`` (bounded label -> count, for metrics). A malformed answer is a
    transient error: cancels are idempotent and are retried."""
    try:
        answer = parse_cancel_answer(body)
    except ClobWireError as exc:
        raise TransientError(f"{endpoint}: {exc}") from None
    return {
        "canceled": list(answer.canceled),
        "not_canceled": dict(body.get("not_canceled") or {}),
        "gone": list(answer.gone),
        "still_live": [list(pair) for pair in answer.still_live],
        "reason_kinds": answer.reason_kinds(),
    }


MAX_BATCH_ORDERS = 15
MAX_BATCH_CANCELS = 1000


def check_batch(payloads: list[dict]) -> None:
    if len(payloads) > MAX_BATCH_ORDERS:
        raise ValueError(f"at most {MAX_BATCH_ORDERS} orders per batch, got {len(payloads)}")


def shape_posted(result: Any, payloads: list[dict]) -> list[dict | None]:
    if not isinstance(result, list):
        raise UnknownOutcomeError(f"post_orders: unexpected response shape {type(result).__name__}")
    return post_results(result, payloads)


def shape_cancel(result: Any) -> dict:
    return cancel_answer(result or {}, "cancel_orders")


class Begun:
    """A request written ahead (``ClobRest.begin_post`` / ``begin_cancel``): ``finish()`` reads its
    answer, shaped as the blocking call shapes it, or raises its classified error."""

    def __init__(self, pending: Pending, shape: Callable[[Any], Any]) -> None:
        self._pending, self._shape = pending, shape

    def finish(self) -> Any:
        return self._shape(self._pending.finish())
