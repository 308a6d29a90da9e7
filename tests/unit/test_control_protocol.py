"""The control wire format: one bounded JSON request, one JSON answer; bad input refused clearly."""

from __future__ import annotations

import json
import re
from decimal import Decimal

import pytest

from pmbot.control.protocol import (
    MAX_REQUEST_BYTES,
    Command,
    ControlAnswer,
    ControlRequest,
    ProtocolError,
    decode_answer,
    decode_request,
    encode_answer,
    encode_request,
)


@pytest.mark.parametrize(
    "req",
    [
        ControlRequest(Command.STATUS),
        ControlRequest(Command.PAUSE),
        ControlRequest(Command.PAUSE, "will-it-rain"),
        ControlRequest(Command.RESUME, "0xabc"),
        ControlRequest(Command.CANCEL_ALL),
        ControlRequest(Command.FLATTEN, "m", Decimal("0.03")),
        ControlRequest(Command.RELOAD),
    ],
)
def test_every_request_survives_the_wire(req: ControlRequest) -> None:
    assert decode_request(encode_request(req)) == req


def test_answers_survive_the_wire_with_decimals_as_strings() -> None:
    ans = ControlAnswer(True, "done", {"pnl": Decimal("1.25"), "rows": [1, 2]})
    back = decode_answer(encode_answer(ans))
    assert back.ok and back.message == "done"
    assert back.data == {"pnl": "1.25", "rows": [1, 2]}


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        (b"not json", "not valid JSON"),
        (b"[1]", "JSON object"),
        (b'{"v": 2, "cmd": "status"}', "version"),
        (b'{"v": 1, "cmd": "explode"}', "unknown command"),
        (b'{"v": 1, "cmd": "status", "extra": 1}', "unknown request field"),
        (b'{"v": 1, "cmd": "flatten"}', "needs a market"),
        (b'{"v": 1, "cmd": "status", "market": "m"}', "takes no market"),
        (b'{"v": 1, "cmd": "pause", "market": 5}', "market must be a string"),
        (b'{"v": 1, "cmd": "flatten", "market": "m", "max_slippage": 0.1}', "decimal string"),
        (b'{"v": 1, "cmd": "flatten", "market": "m", "max_slippage": "x"}', "not a number"),
        (b'{"v": 1, "cmd": "flatten", "market": "m", "max_slippage": "NaN"}', "finite"),
        (b'{"v": 1, "cmd": "flatten", "market": "m", "max_slippage": "1.5"}', "[0, 1)"),
        (b"\xff\xfe", "not valid JSON"),
    ],
)
def test_malformed_requests_are_refused_with_the_reason(raw: bytes, why: str) -> None:
    with pytest.raises(ProtocolError, match=re.escape(why)):
        decode_request(raw)


def test_oversized_request_is_refused_before_parsing() -> None:
    raw = json.dumps({"v": 1, "cmd": "pause", "market": "x" * MAX_REQUEST_BYTES}).encode()
    with pytest.raises(ProtocolError, match="over"):
        decode_request(raw)


def test_answer_without_ok_is_a_protocol_error() -> None:
    with pytest.raises(ProtocolError):
        decode_answer(b'{"message": "hi"}')
