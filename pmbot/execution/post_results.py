"""Reading the answer of ``POST /orders`` into reports, one order at a time.

A batch can be HTTP 200 and fail per order. The REST client reads each result by the venue's rules
(``pmbot.venue.rest.post_results``): ``success`` with an ``orderID`` is accepted whatever else it
says, with a missing or unfamiliar status read as ``live`` (an order the venue holds must never be
forgotten); a FAK/FOK answered ``live``/``delayed`` is reported with that status, so the tracker
keeps it until the user channel or a poll settles it. A missing or unreadable per-order result, or
"Duplicated" after an open-ended retry, is an unknown outcome (probably placed by an earlier
attempt): reported ``OrderUnknown`` under the order hash, never resent."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pmbot.execution.ports import ReportQueue
from pmbot.model import NewOrder, OrderAccepted, OrderRejected, OrderUnknown

log = logging.getLogger(__name__)

ACCEPTED_STATUSES = frozenset({"live", "matched", "delayed", "unmatched"})


@dataclass(frozen=True, slots=True)
class SignedItem:
    """One order signed once: every retry sends the same payload (same hash)."""

    order: NewOrder
    order_id: str
    payload: dict


def is_accepted(result: Any) -> bool:
    return (
        isinstance(result, dict) and result.get("success") is True and bool(result.get("orderID"))
    )


def accepted_status(result: dict) -> str:
    status = str(result.get("status") or "").lower()
    return status if status in ACCEPTED_STATUSES else "live"


def accepted_report(item: SignedItem, result: dict) -> OrderAccepted:
    order_id = str(result["orderID"])
    if order_id.lower() != item.order_id.lower():
        log.warning("venue order id %s differs from our hash %s", order_id, item.order_id)
    return OrderAccepted(
        client_id=item.order.client_id,
        order_id=order_id,
        status=accepted_status(result),
        order=item.order,
        taking_amount=str(result.get("takingAmount", "") or ""),
        making_amount=str(result.get("makingAmount", "") or ""),
        trade_ids=tuple(str(t) for t in (result.get("tradeIDs") or ())),
    )


def _reason(result: Any) -> str:
    if not isinstance(result, dict):
        return "no per-order result"
    return str(result.get("errorMsg") or result.get("error") or result.get("status") or "rejected")


def read_results(
    reports: ReportQueue,
    chunk: list[SignedItem],
    results: list,
    *,
    retried: bool,
    deferred: list[SignedItem] | None = None,
    explain: Callable[[NewOrder, str], str] = lambda order, reason: reason,
) -> None:
    """Report every order of ``chunk``. With ``deferred``, balance refusals are collected there
    instead (posted beside their cancels; retried once those freed the collateral). ``explain``
    turns a refusal into the operator's line (a balance refusal gets the balance re-read)."""
    for index, item in enumerate(chunk):
        result = results[index] if index < len(results) else None
        if isinstance(result, dict) and is_accepted(result):
            if result.get("settled") is False or result.get("odd"):
                log.info("order %s answered %r: tracked until settled", item.order_id, result)
            reports.put(accepted_report(item, result))
            continue
        reason = _reason(result)
        if result is None or (retried and "duplicat" in reason.lower()):
            report_unknown(reports, [item], reason)
        elif deferred is not None and "balance" in reason.lower():
            deferred.append(item)
        else:
            reports.put(reject(item, explain(item.order, reason), "rejected"))


def reject(item: SignedItem, reason: str, kind: str) -> OrderRejected:
    return OrderRejected(
        item.order.client_id, item.order, reason, kind=kind, order_id=item.order_id
    )


def report_unknown(reports: ReportQueue, chunk: list[SignedItem], reason: str) -> None:
    for item in chunk:
        log.warning(
            "order %s outcome unknown (%s): counted as live until reconciled", item.order_id, reason
        )
        reports.put(
            OrderUnknown(
                client_id=item.order.client_id,
                order_id=item.order_id,
                order=item.order,
                reason=reason,
            )
        )


def give_up(reports: ReportQueue, chunk: list[SignedItem], reason: str, uncertain: bool) -> None:
    """Retries over: rejected (kind ``transient``), or unknown if an attempt may have placed
    them."""
    if uncertain:
        report_unknown(reports, chunk, f"retries exhausted after an open-ended answer: {reason}")
        return
    for item in chunk:
        reports.put(reject(item, f"retries exhausted: {reason}", "transient"))
