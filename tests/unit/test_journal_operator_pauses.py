"""The journal keeps the operator pauses (the control desk's ``PauseStore``) across a reopen, and a
newer record replaces the older one."""

from pmbot.control.pauses import OperatorPauses
from pmbot.trading.journal import Journal

VENUE, WALLET = "clob.example", "0x" + "ab" * 20


def test_operator_pauses_survive_a_reopen_and_the_last_write_wins(tmp_path) -> None:
    j = Journal(str(tmp_path), VENUE, WALLET)
    assert j.load_operator_pauses() is None
    first = OperatorPauses().pause("condA", "uid 1000 (pid 1)", 10.0)
    j.save_operator_pauses(first.to_json())
    both = first.pause("", "uid 1000 (pid 2)", 11.0)
    j.save_operator_pauses(both.to_json())
    j.close()
    again = Journal(str(tmp_path), VENUE, WALLET)
    kept = OperatorPauses.from_json(again.load_operator_pauses())
    assert kept == both
    assert kept.paused("condB") is not None and kept.paused("condB").who == "uid 1000 (pid 2)"
    again.save_operator_pauses(kept.resume("").resume("condA").to_json())
    assert OperatorPauses.from_json(again.load_operator_pauses()).by_scope == {}
    again.close()
