"""Reading the answer of ``POST /orders`` into reports, one order at a time.

A batch can be HTTP 200 and fail per order: an order is accepted only if ``success && errorMsg == ""
&& orderID != ""`` and its status is live, matched, delayed or unmatched. A missing per-order
result, or "Duplicated" after an open-ended retry, is an unknown outcome (probably placed by an
earlier attempt): reported ``OrderUnknown`` under the order hash, never resent."""

from __future__ import annotations

import logging
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
        isinstance(result, dict)
        and result.get("success") is True
        and not result.get("errorMsg")
        and bool(result.get("orderID"))
        and str(result.get("status", "")).lower() in ACCEPTED_STATUSES
    )


def accepted_report(item: SignedItem, result: dict) -> OrderAccepted:
    order_id = str(result["orderID"])
    if order_id.lower() != item.order_id.lower():
        log.warning("venue order id %s differs from our hash %s", order_id, item.order_id)
    return OrderAccepted(
        client_id=item.order.client_id,
        order_id=order_id,
        status=str(result["status"]).lower(),
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
) -> None:
    """Report every order of ``chunk``. With ``deferred``, balance refusals are collected there
    instead (posted ahead of their cancels; retried once those freed the collateral)."""
    for index, item in enumerate(chunk):
        result = results[index] if index < len(results) else None
        if isinstance(result, dict) and is_accepted(result):
            reports.put(accepted_report(item, result))
            continue
        reason = _reason(result)
        if result is None or (retried and "duplicat" in reason.lower()):
            report_unknown(reports, [item], reason)
        elif deferred is not None and "balance" in reason.lower():
            deferred.append(item)
        else:
            reports.put(reject(item, reason, "rejected"))


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
