"""Operator pauses: per market or bot-wide, kept across restarts through their journal record."""

from __future__ import annotations

from pmbot.control.pauses import BOT, OperatorPauses


def test_market_pause_and_resume() -> None:
    p = OperatorPauses().pause("0xa", "uid 1 (pid 2)", 100.0)
    assert p.paused("0xa") is not None and p.paused("0xa").who == "uid 1 (pid 2)"
    assert p.paused("0xb") is None
    assert p.resume("0xa").paused("0xa") is None


def test_bot_pause_covers_every_market_and_market_pauses_outlive_its_resume() -> None:
    p = OperatorPauses().pause("0xa", "alice", 1.0).pause(BOT, "bob", 2.0)
    assert p.paused("0xzzz") is not None and p.paused("0xzzz").who == "bob"
    p = p.resume(BOT)
    assert p.paused("0xzzz") is None
    assert p.paused("0xa") is not None


def test_pausing_twice_keeps_the_first_and_returns_the_same_value() -> None:
    p = OperatorPauses().pause("0xa", "alice", 1.0)
    assert p.pause("0xa", "bob", 2.0) is p
    assert OperatorPauses().resume("0xa") == OperatorPauses()


def test_journal_record_round_trips() -> None:
    p = OperatorPauses().pause("0xa", "alice", 1.5).pause(BOT, "bob", 2.0)
    back = OperatorPauses.from_json(p.to_json())
    assert dict(back.by_scope) == dict(p.by_scope)
    assert OperatorPauses.from_json(None) == OperatorPauses()
    assert OperatorPauses.from_json("") == OperatorPauses()


def test_an_unreadable_record_pauses_the_whole_bot() -> None:
    for text in ("{not json", '{"0xa": 3}', "[1]"):
        assert OperatorPauses.from_json(text).bot is not None, text
