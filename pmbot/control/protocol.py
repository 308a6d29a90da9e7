"""The control protocol: one JSON request and one JSON answer per connection.

The client writes one UTF-8 JSON object and shuts its sending side; the server answers with one
JSON object and closes. Requests are tiny and bounded (``MAX_REQUEST_BYTES``); anything malformed
gets a clear refusal and changes nothing. Money travels as decimal strings, never floats.

Request::  {"v": 1, "cmd": "pause", "market": "will-it-rain", "max_slippage": "0.05"}
Answer::   {"ok": true, "message": "paused will-it-rain", "data": {...}}
"""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

VERSION = 1
MAX_REQUEST_BYTES = 4096
MAX_ANSWER_BYTES = 4 * 1024 * 1024
DEFAULT_MAX_SLIPPAGE = Decimal("0.05")


class ProtocolError(ValueError):
    """A request or answer that does not follow the protocol (the message says what is wrong)."""


class Command(str, enum.Enum):
    STATUS = "status"
    PAUSE = "pause"
    RESUME = "resume"
    CANCEL_ALL = "cancel-all"
    FLATTEN = "flatten"
    RELOAD = "reload"


NEEDS_MARKET = frozenset({Command.FLATTEN})
TAKES_MARKET = frozenset({Command.PAUSE, Command.RESUME, Command.FLATTEN})


@dataclass(frozen=True, slots=True)
class ControlRequest:
    command: Command
    market: str = ""  # slug or condition id; "" = the whole bot (pause/resume)
    max_slippage: Decimal = DEFAULT_MAX_SLIPPAGE  # flatten only: price distance from the best bid

    def __post_init__(self) -> None:
        if self.command in NEEDS_MARKET and not self.market:
            raise ProtocolError(f"{self.command.value} needs a market (slug or condition id)")
        if self.market and self.command not in TAKES_MARKET:
            raise ProtocolError(f"{self.command.value} takes no market")
        if not (Decimal(0) <= self.max_slippage < Decimal(1)):
            raise ProtocolError(f"max_slippage must be in [0, 1); got {self.max_slippage}")


@dataclass(frozen=True, slots=True)
class Peer:
    """Who asked: the connecting process's credentials (SO_PEERCRED), or a signal."""

    uid: int
    pid: int = 0
    via: str = "socket"

    def __str__(self) -> str:
        if self.via != "socket":
            return self.via
        return f"uid {self.uid} (pid {self.pid})"


@dataclass(frozen=True, slots=True)
class ControlAnswer:
    ok: bool
    message: str
    data: Mapping[str, Any] = field(default_factory=dict)  # JSON-ready values only


def encode_request(req: ControlRequest) -> bytes:
    body: dict[str, Any] = {"v": VERSION, "cmd": req.command.value}
    if req.market:
        body["market"] = req.market
    if req.command is Command.FLATTEN:
        body["max_slippage"] = str(req.max_slippage)
    return json.dumps(body).encode()


def _object(raw: bytes, what: str, limit: int) -> dict[str, Any]:
    if len(raw) > limit:
        raise ProtocolError(f"{what} over {limit} bytes")
    try:
        obj = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ProtocolError(f"{what} is not valid JSON: {exc}") from None
    if not isinstance(obj, dict):
        raise ProtocolError(f"{what} must be a JSON object")
    return obj


def decode_request(raw: bytes) -> ControlRequest:
    obj = _object(raw, "request", MAX_REQUEST_BYTES)
    unknown = set(obj) - {"v", "cmd", "market", "max_slippage"}
    if unknown:
        raise ProtocolError(f"unknown request field(s): {', '.join(sorted(unknown))}")
    if obj.get("v") != VERSION:
        raise ProtocolError(f"unsupported protocol version {obj.get('v')!r} (want {VERSION})")
    try:
        command = Command(obj.get("cmd"))
    except ValueError:
        raise ProtocolError(f"unknown command {obj.get('cmd')!r}") from None
    market = obj.get("market", "")
    if not isinstance(market, str) or len(market) > 200:
        raise ProtocolError("market must be a string of at most 200 characters")
    slippage = obj.get("max_slippage", str(DEFAULT_MAX_SLIPPAGE))
    if not isinstance(slippage, str):
        raise ProtocolError("max_slippage must be a decimal string")
    try:
        max_slippage = Decimal(slippage)
    except InvalidOperation:
        raise ProtocolError(f"max_slippage is not a number: {slippage!r}") from None
    if not max_slippage.is_finite():
        raise ProtocolError("max_slippage must be finite")
    return ControlRequest(command, market.strip(), max_slippage)


def encode_answer(ans: ControlAnswer) -> bytes:
    return json.dumps(
        {"ok": ans.ok, "message": ans.message, "data": dict(ans.data)}, default=str
    ).encode()


def decode_answer(raw: bytes) -> ControlAnswer:
    obj = _object(raw, "answer", MAX_ANSWER_BYTES)
    ok, message, data = obj.get("ok"), obj.get("message", ""), obj.get("data", {})
    if not isinstance(ok, bool) or not isinstance(message, str) or not isinstance(data, dict):
        raise ProtocolError("answer needs ok (bool), message (string) and data (object)")
    return ControlAnswer(ok, message, data)
