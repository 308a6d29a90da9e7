"""Legging repair: uneven leg fills are unwound or completed within the loss bound, else held and
reported."""

from decimal import Decimal as D

from pmbot.model import OrderType, Outcome, Side
from pmbot.strategy import BookView
from pmbot.strategy.arbitrage import ArbLeg, LegFill, plan_leg_repair


def leg(i, price, size=10, outcome=Outcome.YES, market=None, fee="0"):
    return ArbLeg(
        market or f"c{i}",
        f"T{i}",
        outcome,
        Side.BUY,
        D(price),
        D(size),
        fee_rate=D(fee),
        complement_token=f"U{i}",
    )


def book(bid, ask, size="100", live=True):
    return BookView(D(bid), D(ask), D(size), D(size), live=live)


LEGS = (leg(0, "0.30"), leg(1, "0.32"), leg(2, "0.32"))


def test_even_fills_need_nothing():
    plan = plan_leg_repair(LEGS, {"T0": D(10), "T1": D(10), "T2": D(10)}, {}, D(1))
    assert plan.action == "none" and plan.complete_sets == D(10) and plan.orders == ()


def test_completing_the_short_leg_when_it_is_cheaper_than_unwinding():
    books = {"T0": book("0.29", "0.31"), "T1": book("0.31", "0.33"), "T2": book("0.32", "0.33")}
    plan = plan_leg_repair(LEGS, {"T0": D(10), "T1": D(10), "T2": D(4)}, books, D(1))
    # complete: 6 * (0.30 + 0.32 + 0.33) = 5.70 for 6 sets paying 6 -> a gain of 0.30
    assert plan.action == "complete" and plan.complete_sets == D(10)
    assert plan.expected_loss_usd == D("-0.30")
    assert [
        (o.token_id, o.side, o.price, o.size, o.order_type, o.post_only) for o in plan.orders
    ] == [("T2", Side.BUY, D("0.33"), D(6), OrderType.FAK, False)]


def test_unwinding_the_excess_when_completing_costs_more():
    books = {"T0": book("0.29", "0.31"), "T1": book("0.31", "0.33"), "T2": book("0.40", "0.45")}
    plan = plan_leg_repair(LEGS, {"T0": D(10), "T1": D(10), "T2": D(4)}, books, D(1))
    # unwind: sell 6 T0 at 0.29 (paid 0.30) and 6 T1 at 0.31 (paid 0.32) -> loss 0.12
    # complete: 6 * (0.30 + 0.32 + 0.45) - 6 = 0.42
    assert plan.action == "unwind" and plan.complete_sets == D(4)
    assert plan.expected_loss_usd == D("0.12")
    assert [(o.token_id, o.side, o.price, o.size, o.tag) for o in plan.orders] == [
        ("T0", Side.SELL, D("0.29"), D(6), "unwind"),
        ("T1", Side.SELL, D("0.31"), D(6), "unwind"),
    ]


def test_actual_fill_prices_and_fees_enter_the_loss():
    legs = (leg(0, "0.30", fee="0.05"), leg(1, "0.32", fee="0.05"))
    books = {"T0": book("0.25", "0.90"), "T1": book("0.31", "0.90")}
    fills = {"T0": LegFill("T0", D(10), D("0.28")), "T1": LegFill("T1", D(0), None)}
    plan = plan_leg_repair(legs, fills, books, D(1))
    fee = D(10) * D("0.05") * D("0.25") * D("0.75")
    assert (
        plan.action == "unwind" and plan.expected_loss_usd == D(10) * (D("0.28") - D("0.25")) + fee
    )


def test_loss_above_the_bound_holds_and_reports_the_naked_exposure():
    books = {"T0": book("0.10", "0.31"), "T1": book("0.10", "0.33"), "T2": book("0.40", "0.90")}
    plan = plan_leg_repair(LEGS, {"T0": D(10), "T1": D(10), "T2": D(4)}, books, D("0.5"))
    assert plan.action == "hold" and plan.orders == () and plan.reason == "loss_above_bound"
    assert plan.naked == (("T0", D(6)), ("T1", D(6)))
    assert plan.complete_sets == D(4)


def test_pieces_below_the_minimum_size_cannot_be_repaired_and_are_held():
    books = {"T0": book("0.29", "0.31"), "T1": book("0.31", "0.33"), "T2": book("0.32", "0.33")}
    plan = plan_leg_repair(LEGS, {"T0": D(10), "T1": D(10), "T2": D(7)}, books, D(5))
    assert plan.action == "hold" and plan.naked == (("T0", D(3)), ("T1", D(3)))
    assert "below_min_size" in plan.reason


def test_dead_or_thin_books_block_a_repair():
    books = {
        "T0": book("0.29", "0.31", live=False),
        "T1": book("0.31", "0.33", size="2"),
        "T2": book("0.32", "0.33", live=False),
    }
    plan = plan_leg_repair(LEGS, {"T0": D(10), "T1": D(10), "T2": D(0)}, books, D(5))
    assert plan.action == "hold" and plan.naked == (("T0", D(10)), ("T1", D(10)))


def test_no_basket_completion_pays_n_minus_one_per_set():
    legs = tuple(leg(i, p, outcome=Outcome.NO) for i, p in enumerate(["0.60", "0.64", "0.70"]))
    books = {"T0": book("0.59", "0.61"), "T1": book("0.63", "0.65"), "T2": book("0.69", "0.71")}
    plan = plan_leg_repair(legs, {"T0": D(10), "T1": D(10), "T2": D(0)}, books, D(1))
    # complete: 10 * (0.60 + 0.64 + 0.71) = 19.50 for 10 sets paying 2 each -> a gain of 0.50
    assert plan.action == "complete" and plan.expected_loss_usd == D("-0.50")


def test_missing_token_book_is_mirrored_from_its_complement():
    legs = (leg(0, "0.30"), leg(1, "0.60"))
    books = {"U0": book("0.65", "0.72"), "T1": book("0.55", "0.75")}  # T0 bid = 1 - 0.72 = 0.28
    # unwind 10 * (0.30 - 0.28) = 0.20 beats completing at 10 * (0.30 + 0.75) - 10 = 0.50
    plan = plan_leg_repair(legs, {"T0": D(10), "T1": D(0)}, books, D(1))
    assert plan.action == "unwind" and plan.orders[0].price == D("0.28")
