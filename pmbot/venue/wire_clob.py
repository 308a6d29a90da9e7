"""Pure parsers of the CLOB's REST answers that carry venue rules (protocol reference section 10).

No I/O, no logging, no state. A malformed answer raises ``ClobWireError`` (a ``ValueError``) with a
bounded ``kind`` for metrics; callers count and skip, or (for start-up reads) stop with the message.

- ``GET /clob-markets/{cid}``: tokens, tick (``mts``), minimum size (``mos``), neg-risk (``nr``,
  omitted when false), fees (``fd``, see ``pmbot.fees``), taker delay (``itode``).
- ``GET /tick-size`` and ``GET /book``: the tick the venue enforces now, not Gamma's listing value.
- ``GET /version``: the order version to sign; ``order_version_mismatch`` in an order answer.
- ``GET /balance-allowance`` (and ``/update``): balance and allowance(s) in 1e-6 units.
- ``DELETE /order(s)``: ``not_canceled`` is a map id -> reason; ``already canceled or matched``
  (and the sim's ``order not found``: the venue holds no such order) means gone, any other reason
  (e.g. the matching delay) means the cancel failed and the order is still live.
- ``POST /order(s)``: ``success`` + ``orderID`` with a missing or unfamiliar ``status`` is live; a
  FAK/FOK answered ``live``/``delayed`` is unsettled until the user channel or a reconcile says.
- Timestamps: numbers or numeric strings in s or ms, and RFC 3339 strings.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from pmbot.errors import FatalError
from pmbot.fees import FeeDataError, FeeSchedule, schedule_from_fd
from pmbot.model import BASE_UNITS, OrderType

SUPPORTED_TICKS = frozenset(
    Decimal(t) for t in ("0.1", "0.01", "0.005", "0.0025", "0.001", "0.0001")
)
_CANONICAL_TICK = {t: t for t in SUPPORTED_TICKS}
SIGNABLE_ORDER_VERSIONS = frozenset({2})  # pmbot.venue.signer signs the V2 exchange domain only
ORDER_VERSION_MISMATCH = "order_version_mismatch"
GONE_REASON = "already canceled or matched"
GONE_KINDS = frozenset({"gone", "not_found"})  # not_canceled kinds meaning "no such order rests"
BALANCE_REFUSAL = "not enough balance / allowance"
_MS_THRESHOLD = 100_000_000_000  # above this a number is milliseconds (1e11 s is the year 5138)


class ClobWireError(ValueError):
    """A CLOB REST answer could not be parsed. ``kind`` is a bounded label for metrics."""

    def __init__(self, message: str, kind: str = "clob_malformed") -> None:
        super().__init__(message)
        self.kind = kind


def _decimal(value: Any, name: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (str, int, float, Decimal)):
        raise ClobWireError(f"{name} is not a number: {value!r}")
    try:
        out = Decimal(repr(value)) if isinstance(value, float) else Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise ClobWireError(f"{name} is not a number: {value!r}") from None
    if not out.is_finite():
        raise ClobWireError(f"{name} is not finite: {value!r}")
    return out


# --------------------------------------------------------------------------- timestamps


def parse_timestamp(value: Any) -> float:
    """Unix seconds from seconds or milliseconds (number or numeric string) or an RFC 3339 string
    (``2026-08-04T12:00:00Z``, fractions and offsets allowed). Missing or empty gives 0.0."""
    if value is None or value == "":
        return 0.0
    if isinstance(value, bool):
        raise ClobWireError("timestamp is a boolean", "bad_timestamp")
    if isinstance(value, (int, float)) or (isinstance(value, str) and _numeric(value)):
        number = float(value)
        if number != number or number < 0 or number == float("inf"):
            raise ClobWireError(f"timestamp is not valid: {value!r}", "bad_timestamp")
        return number / 1000.0 if number >= _MS_THRESHOLD else number
    if not isinstance(value, str):
        raise ClobWireError(f"timestamp is not a number or string: {value!r}", "bad_timestamp")
    text = value.strip()
    if text[-1:] in ("Z", "z"):
        text = text[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ClobWireError(f"timestamp is not RFC 3339: {value!r}", "bad_timestamp") from None
    if moment.tzinfo is None:
        raise ClobWireError(f"timestamp has no UTC offset: {value!r}", "bad_timestamp")
    return moment.timestamp()


def _numeric(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return "-" not in text[1:] and ":" not in text


# --------------------------------------------------------------------------- ticks and market info


def parse_tick(value: Any) -> Decimal:
    """A tick size the venue uses (0.1, 0.01, 0.005, 0.0025, 0.001, 0.0001), as a Decimal."""
    tick = _decimal(value, "tick size")
    if tick not in SUPPORTED_TICKS:
        raise ClobWireError(f"unsupported tick size {value!r}", "bad_tick")
    return _CANONICAL_TICK[tick]  # "0.010" -> Decimal("0.01")


def parse_tick_size_answer(body: Any) -> Decimal:
    """``GET /tick-size`` -> ``{"minimum_tick_size": 0.01}``."""
    if not isinstance(body, dict) or body.get("minimum_tick_size") is None:
        raise ClobWireError("tick-size answer has no minimum_tick_size", "bad_tick")
    return parse_tick(body["minimum_tick_size"])


def parse_book_tick(book: Any) -> Decimal | None:
    """The ``tick_size`` of a ``GET /book`` object, or None when the book does not carry one."""
    if not isinstance(book, dict):
        raise ClobWireError("book is not an object")
    value = book.get("tick_size")
    return None if value in (None, "") else parse_tick(value)


@dataclass(frozen=True, slots=True)
class ClobMarketInfo:
    """``GET /clob-markets/{condition_id}``. ``fee`` is None when the answer has no ``fd``."""

    tokens: tuple[tuple[str, str], ...]  # (token id, outcome label), in the venue's order
    tick: Decimal
    min_size: Decimal
    neg_risk: bool
    fee: FeeSchedule | None
    taker_delay: bool = False
    game_start: str = ""


def parse_clob_market_info(body: Any) -> ClobMarketInfo:
    """Read the compact market info the SDK reads (``get_clob_market_info``)."""
    if not isinstance(body, dict):
        raise ClobWireError("clob market info is not an object")
    rows = body.get("t")
    if not isinstance(rows, list) or not rows:
        raise ClobWireError("clob market info has no tokens t")
    tokens = []
    for row in rows:
        if not row:  # the SDK skips null token slots
            continue
        if not isinstance(row, dict) or not isinstance(row.get("t"), str) or not row["t"]:
            raise ClobWireError(f"clob market token is malformed: {row!r}")
        tokens.append((row["t"], str(row.get("o", ""))))
    if body.get("mts") is None:
        raise ClobWireError("clob market info has no tick mts", "bad_tick")
    try:
        fee = schedule_from_fd(body.get("fd"))
    except FeeDataError as exc:
        raise ClobWireError(str(exc), "bad_fee") from None
    min_size = _decimal(body["mos"], "mos") if body.get("mos") is not None else Decimal(5)
    return ClobMarketInfo(
        tokens=tuple(tokens),
        tick=parse_tick(body["mts"]),
        min_size=min_size,
        neg_risk=bool(body.get("nr", False)),
        fee=fee,
        taker_delay=bool(body.get("itode", False)),
        game_start=str(body.get("gst") or ""),
    )


# --------------------------------------------------------------------------- order version


def parse_version(body: Any) -> int:
    """``GET /version`` -> ``{"version": 2}``; like the SDK, no ``version`` key means 2."""
    if not isinstance(body, dict):
        raise ClobWireError(f"version answer is not an object: {body!r}", "bad_version")
    value = body.get("version", 2)
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ClobWireError(f"version is not an integer: {value!r}", "bad_version")
    try:
        return int(value)
    except ValueError:
        raise ClobWireError(f"version is not an integer: {value!r}", "bad_version") from None


def check_order_version(version: int, signable: frozenset[int] = SIGNABLE_ORDER_VERSIONS) -> int:
    """Return ``version`` if the bot can sign it; else raise ``FatalError`` with a clear message."""
    if version not in signable:
        known = ", ".join(str(v) for v in sorted(signable))
        raise FatalError(
            f"the venue asks for order version {version}; this bot can sign version(s) {known} "
            "only: refusing to trade (update pmbot's signer for the new exchange/domain)"
        )
    return version


def is_order_version_mismatch(body: Any) -> bool:
    """True for an order answer whose ``error`` says ``order_version_mismatch`` (SDK's check)."""
    if not isinstance(body, dict):
        return False
    error = body.get("error")
    if not error:
        return False
    text = error if isinstance(error, str) else json.dumps(error, separators=(",", ":"))
    return ORDER_VERSION_MISMATCH in text


# --------------------------------------------------------------------------- balance and allowance


@dataclass(frozen=True, slots=True)
class BalanceAllowance:
    """``GET /balance-allowance``: ``balance`` and each spender's allowance, in pUSD or shares."""

    balance: Decimal
    allowances: tuple[tuple[str, Decimal], ...]  # (spender or "", amount); "" = single allowance

    @property
    def allowance(self) -> Decimal | None:
        """The smallest allowance (the binding one), or None when the answer gave none."""
        return min((a for _, a in self.allowances), default=None)

    @property
    def free(self) -> Decimal:
        """What an order may use: the balance, capped by the binding allowance."""
        binding = self.allowance
        return self.balance if binding is None else min(self.balance, binding)


def _units(value: Any, name: str) -> Decimal:
    amount = _decimal(value, name)
    if amount < 0 or amount != amount.to_integral_value():
        raise ClobWireError(f"{name} is not whole 1e-6 units: {value!r}", "bad_balance")
    return amount / BASE_UNITS


def parse_balance_allowance(body: Any) -> BalanceAllowance:
    """Both shapes: ``{"balance", "allowance"}`` and ``{"balance", "allowances": {spender: n}}``.
    Amounts are 1e-6 base units (strings or numbers)."""
    if not isinstance(body, dict) or body.get("balance") is None:
        raise ClobWireError("balance-allowance answer has no balance", "bad_balance")
    allowances: list[tuple[str, Decimal]] = []
    if isinstance(body.get("allowances"), dict):
        for spender, amount in sorted(body["allowances"].items()):
            allowances.append((str(spender), _units(amount, f"allowance of {spender}")))
    elif body.get("allowances") is not None:
        raise ClobWireError("allowances is not an object", "bad_balance")
    if body.get("allowance") is not None:
        allowances.append(("", _units(body["allowance"], "allowance")))
    return BalanceAllowance(_units(body["balance"], "balance"), tuple(allowances))


def is_balance_refusal(error: str) -> bool:
    """True for the venue's ``not enough balance / allowance`` refusal."""
    return BALANCE_REFUSAL in error.lower()


def balance_refusal_message(needed: Decimal, asset: str, known: BalanceAllowance | None) -> str:
    """The operator's line for a balance refusal: what the order needed and what the venue has."""
    if known is None:
        return f"not enough balance/allowance: need {needed} {asset}, balance unknown"
    allowance = "unlimited" if known.allowance is None else str(known.allowance)
    return (
        f"not enough balance/allowance: need {needed} {asset}, balance {known.balance}, "
        f"allowance {allowance}, free {known.free}"
    )


# --------------------------------------------------------------------------- cancels


@dataclass(frozen=True, slots=True)
class CancelAnswer:
    """A cancel answer, by what the bot must do: forget ``gone``, keep and retry ``still_live``."""

    canceled: tuple[str, ...]
    gone: tuple[str, ...]  # not_canceled whose reason's kind is in GONE_KINDS
    still_live: tuple[tuple[str, str], ...]  # (order id, reason): the cancel failed
    kinds: tuple[str, ...] = ()  # the kind of every not_canceled reason, in the venue's order

    def reason_kinds(self) -> dict[str, int]:
        """Counts of ``not_canceled`` reasons by bounded label, for metrics."""
        counts: dict[str, int] = {}
        for kind in self.kinds:
            counts[kind] = counts.get(kind, 0) + 1
        return counts


def not_canceled_kind(reason: str) -> str:
    """A bounded label for a ``not_canceled`` reason: gone / matching_delay / not_found / other."""
    text = reason.strip().lower()
    if GONE_REASON in text:  # also "order can't be found - already canceled or matched"
        return "gone"
    if "delay" in text:
        return "matching_delay"
    if "not found" in text:
        return "not_found"
    return "other"


def parse_cancel_answer(body: Any) -> CancelAnswer:
    """``{"canceled": [...], "not_canceled": {id: reason}}``; both keys optional."""
    if not isinstance(body, dict):
        raise ClobWireError("cancel answer is not an object", "bad_cancel")
    canceled = body.get("canceled") or []
    not_canceled = body.get("not_canceled") or {}
    if not isinstance(canceled, list) or not all(isinstance(i, str) for i in canceled):
        raise ClobWireError("canceled is not a list of ids", "bad_cancel")
    if not isinstance(not_canceled, dict):
        raise ClobWireError("not_canceled is not a map of id to reason", "bad_cancel")
    gone: list[str] = []
    live: list[tuple[str, str]] = []
    kinds: list[str] = []
    for order_id, reason in not_canceled.items():
        text = reason if isinstance(reason, str) else "" if reason is None else json.dumps(reason)
        kinds.append(not_canceled_kind(text))
        if kinds[-1] in GONE_KINDS:
            gone.append(order_id)
        else:
            live.append((order_id, text))
    return CancelAnswer(tuple(canceled), tuple(gone), tuple(live), tuple(kinds))


# --------------------------------------------------------------------------- order results


POST_STATUSES = frozenset({"live", "matched", "delayed", "unmatched"})


@dataclass(frozen=True, slots=True)
class PostResult:
    """One ``POST /order(s)`` element. ``accepted`` False means refused (``error`` says why).

    ``status`` is the venue's, lower-cased, or ``"live"`` when missing or unfamiliar (then ``odd``
    is True). ``settled`` is False for a FAK/FOK answered ``live``/``delayed``/``unmatched``: it
    must stay tracked until the user channel or a reconcile settles it.
    """

    accepted: bool
    order_id: str
    status: str
    error: str
    making: Decimal
    taking: Decimal
    trade_ids: tuple[str, ...]
    odd: bool = False
    settled: bool = True


def _amount(body: dict, key: str) -> Decimal:
    value = body.get(key)
    return Decimal(0) if value in (None, "") else _decimal(value, key)


def parse_post_result(body: Any, order_type: OrderType | None = None) -> PostResult:
    """Classify one order answer. An ``orderID`` with ``success`` is live whatever else it says
    (an order the venue holds must never be forgotten); no ``orderID`` or ``success: false`` is a
    refusal with ``errorMsg`` (or ``error``)."""
    if not isinstance(body, dict):
        raise ClobWireError("order answer is not an object", "bad_post")
    order_id = body.get("orderID") or body.get("orderId") or ""
    error = str(body.get("errorMsg") or body.get("error") or "")
    trade_ids = tuple(str(t) for t in (body.get("tradeIDs") or []))
    making, taking = _amount(body, "makingAmount"), _amount(body, "takingAmount")
    if body.get("success") is not True or not isinstance(order_id, str) or not order_id:
        return PostResult(
            False, "", "rejected", error or "refused without a reason", making, taking, trade_ids
        )
    raw = body.get("status")
    status = raw.lower() if isinstance(raw, str) else ""
    odd = status not in POST_STATUSES
    status = "live" if odd else status
    immediate = order_type in (OrderType.FAK, OrderType.FOK)
    settled = not (immediate and status in ("live", "delayed", "unmatched"))
    return PostResult(True, order_id, status, error, making, taking, trade_ids, odd, settled)


def parse_post_results(
    body: Any, order_types: list[OrderType | None] | None = None
) -> list[PostResult]:
    """A ``POST /orders`` answer: one result per order, in order (``None`` = type not known)."""
    if not isinstance(body, list):
        raise ClobWireError("batch order answer is not a list", "bad_post")
    types: list[OrderType | None] = order_types if order_types is not None else [None] * len(body)
    if len(types) != len(body):
        raise ClobWireError("batch answer length differs from the orders sent", "bad_post")
    return [parse_post_result(item, t) for item, t in zip(body, types, strict=True)]
