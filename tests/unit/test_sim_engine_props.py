"""Property tests of the simulator's matching engine over random order sequences: the book is
never crossed, collateral and shares are conserved (MINT creates one YES + one NO per unit of
collateral, MERGE the reverse), reservations match the open orders, makers fill exactly at their
limit and takers never worse than theirs, and size_matched only grows."""

from __future__ import annotations

import random
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pmbot.sim.engine import SimReject
from tests.unit.test_sim_engine_helpers import ALICE, BOB, CAROL, KEYS, T0, make_exchange, place

D = Decimal
ACCOUNTS = (ALICE, BOB, CAROL)
START = D(2000)

order_op = st.tuples(
    st.just("order"),
    st.sampled_from(ACCOUNTS),
    st.sampled_from(("coin-flip", "free-market")),
    st.booleans(),  # YES token?
    st.sampled_from(("BUY", "SELL")),
    st.integers(min_value=44, max_value=56),  # price in cents, near 0.5 so orders cross
    st.integers(min_value=5, max_value=60),  # size
    st.sampled_from(("GTC", "GTC", "GTC", "FAK", "FOK", "POST")),
)
cancel_op = st.tuples(
    st.just("cancel"), st.sampled_from(ACCOUNTS), st.integers(min_value=0, max_value=50)
)
ops = st.lists(st.one_of(order_op, order_op, cancel_op), min_size=5, max_size=60)


def _fresh(**overrides):
    ex, clock, rec = make_exchange(initial_balance=int(START), **overrides)
    markets = {m.slug: m for m in ex.markets.values()}
    return ex, clock, rec, markets


def _run(ex, markets, operations):
    accepted = []
    for op in operations:
        if op[0] == "cancel":
            _, who, k = op
            open_ids = [o["id"] for o in ex.open_orders(KEYS[who])]
            if open_ids:
                ex.cancel_orders(KEYS[who], [open_ids[k % len(open_ids)]])
            continue
        _, who, slug, yes, side, cents, size, kind = op
        m = markets[slug]
        token = m.yes_token if yes else m.no_token
        try:
            resp = place(
                ex,
                token,
                side,
                D(cents) / 100,
                size,
                maker=who,
                order_type="GTC" if kind == "POST" else kind,
                post_only=kind == "POST",
            )
            accepted.append((resp["orderID"], D(cents) / 100, side, token))
        except SimReject:
            pass
    return accepted


def _check_invariants(ex, markets):
    audit = ex.audit()
    minted = D(0)
    for m in markets.values():
        yes, no = audit["shares"].get(m.yes_token, D(0)), audit["shares"].get(m.no_token, D(0))
        assert yes == no, "every YES in existence has its NO twin (only MINT/MERGE create/destroy)"
        minted += yes
        bid, ask = ex.top_of_book(m.yes_token)
        assert bid is None or ask is None or bid < ask, "crossed book"
    background = 2 * ex.config.background_balance  # the internal maker and taker accounts
    assert audit["collateral"] + audit["fees"] + minted == START * len(ACCOUNTS) + background
    for who in ACCOUNTS:
        ledger = ex.ledger(who)
        assert D(ledger["collateral"]) >= 0
        assert all(D(v) >= 0 for v in ledger["positions"].values())
        want_collateral, want_shares = D(0), {}
        for o in ex.open_orders(KEYS[who]):
            left = D(o["original_size"]) - D(o["size_matched"])
            if o["side"] == "BUY":
                want_collateral += left * D(o["price"])
            else:
                want_shares[o["asset_id"]] = want_shares.get(o["asset_id"], D(0)) + left
        assert D(ledger["reserved"]["collateral"]) == want_collateral
        assert {t: D(v) for t, v in ledger["reserved"]["shares"].items()} == {
            t: v for t, v in want_shares.items() if v
        }
        assert want_collateral <= D(ledger["collateral"])
        for token, reserved in want_shares.items():
            assert reserved <= D(ledger["positions"].get(token, "0"))


def _seed_shares(ex, markets):
    """Give everybody shares the honest way: mint them by crossing BUY YES with BUY NO."""
    for m in markets.values():
        for who in ACCOUNTS:
            place(ex, m.yes_token, "BUY", "0.5", 200, maker=who, post_only=True)
            place(ex, m.no_token, "BUY", "0.5", 200, maker=CAROL if who != CAROL else ALICE)


def _snapshot(ex, markets):
    return {
        KEYS[who]: (
            ex.balance(who),
            {t: ex.position(who, t) for m in markets.values() for t in m.tokens},
        )
        for who in ACCOUNTS
    }


def _check_events(ex, rec, markets, start):
    """Replay the trade events into a ledger: every maker paid/received exactly its limit price,
    the taker the complement or the same price (MINT/MERGE vs NORMAL) plus its fee, and the
    exchange's ledger agrees to the last micro-dollar."""
    orders = {}
    trades = 0
    expected = {key: [cash, dict(pos)] for key, (cash, pos) in start.items()}

    def book(key, token, side, q, cash):
        if side == "BUY":
            expected[key][0] -= cash
            expected[key][1][token] += q
        else:
            expected[key][0] += cash
            expected[key][1][token] -= q

    def cash_legs(q, entry, same_token):
        """(maker cash, taker cash): each leg floored to 1e-6; in MINT/MERGE the YES leg is
        floored and the NO leg is the rest of ``q``, so collateral is conserved."""
        floor = lambda v: v.quantize(D("0.000001"), rounding="ROUND_DOWN")  # noqa: E731
        price = D(entry["price"])
        if same_token:
            return floor(q * price), floor(q * price)
        if entry["outcome_index"] == 0:  # the maker holds YES
            return floor(q * price), q - floor(q * price)
        return q - floor(q * (1 - price)), floor(q * (1 - price))

    for channel, key, msg in rec.events:
        if channel == "user" and msg["event_type"] == "order":
            last = orders.get(msg["id"], D(0))
            assert D(msg["size_matched"]) >= last, "size_matched went backwards"
            assert D(msg["size_matched"]) <= D(msg["original_size"])
            orders[msg["id"]] = D(msg["size_matched"])
        if channel == "user" and msg["event_type"] == "trade" and msg["trader_side"] == "TAKER":
            trades += 1
            taker = ex.get_order(key, msg["taker_order_id"])
            limit = D(taker["price"])
            fee = D(0)
            for entry in msg["maker_orders"]:
                maker = ex.get_order(entry["owner"], entry["order_id"])
                assert D(entry["price"]) == D(maker["price"]), "maker filled away from its limit"
                q = D(entry["matched_amount"])
                own = (
                    D(entry["price"])
                    if entry["asset_id"] == taker["asset_id"]
                    else 1 - D(entry["price"])
                )
                assert own <= limit if taker["side"] == "BUY" else own >= limit, (
                    "taker filled worse than limit"
                )
                maker_cash, taker_cash = cash_legs(q, entry, entry["asset_id"] == taker["asset_id"])
                book(entry["owner"], entry["asset_id"], entry["side"], q, maker_cash)
                book(key, taker["asset_id"], taker["side"], q, taker_cash)
                fee += q * D(msg["fee_rate_bps"]) / 10000 * own * (1 - own)
            assert sum(D(e["matched_amount"]) for e in msg["maker_orders"]) == D(msg["size"])
            fee = (
                fee.quantize(D("0.00001"), rounding="ROUND_HALF_UP")
                if fee >= D("0.00001")
                else (D("0.00001") if fee > 0 else D(0))
            )
            expected[key][0] -= fee
    actual = _snapshot(ex, markets)
    for key, (cash, pos) in expected.items():
        assert actual[key][0] == cash, f"{key} collateral {actual[key][0]} != replayed {cash}"
        assert actual[key][1] == pos, f"{key} positions differ from the replay"
    return trades


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops)
def test_random_order_flow_keeps_every_invariant(operations):
    ex, _, rec, markets = _fresh()
    _seed_shares(ex, markets)
    _check_invariants(ex, markets)
    start = _snapshot(ex, markets)
    rec.clear()
    _run(ex, markets, operations)
    _check_invariants(ex, markets)
    _check_events(ex, rec, markets, start)


def _random_ops(rng, n):
    out = []
    for _ in range(n):
        if rng.random() < 0.2:
            out.append(("cancel", rng.choice(ACCOUNTS), rng.randrange(50)))
        else:
            out.append(
                (
                    "order",
                    rng.choice(ACCOUNTS),
                    rng.choice(("coin-flip", "free-market")),
                    rng.random() < 0.5,
                    rng.choice(("BUY", "SELL")),
                    rng.randint(44, 56),
                    rng.randint(5, 60),
                    rng.choice(("GTC", "GTC", "GTC", "FAK", "FOK", "POST")),
                )
            )
    return out


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(min_value=0, max_value=2**32))
def test_long_random_flows_trade_a_lot_and_keep_every_invariant(seed):
    """Long sequences (hypothesis keeps them small) so NORMAL, MINT and MERGE all happen often;
    invariants are checked after every operation."""
    ex, _, rec, markets = _fresh()
    _seed_shares(ex, markets)
    start = _snapshot(ex, markets)
    rec.clear()
    for op in _random_ops(random.Random(seed), 120):
        _run(ex, markets, [op])
        _check_invariants(ex, markets)
    assert _check_events(ex, rec, markets, start) > 10


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops)
def test_when_every_trade_fails_settlement_restores_every_ledger(operations):
    ex, _, _, markets = _fresh(trade_fail_share=1)
    for who in ACCOUNTS:  # pre-existing shares so SELLs and MERGEs can happen
        for m in markets.values():
            ex.set_position(who, m.yes_token, D(100))
            ex.set_position(who, m.no_token, D(100))
    before = {
        who: (ex.balance(who), {t: ex.position(who, t) for m in markets.values() for t in m.tokens})
        for who in ACCOUNTS
    }
    _run(ex, markets, operations)
    ex.cancel_all(KEYS[ALICE]), ex.cancel_all(KEYS[BOB]), ex.cancel_all(KEYS[CAROL])
    ex.step(T0 + 10)
    after = {
        who: (ex.balance(who), {t: ex.position(who, t) for m in markets.values() for t in m.tokens})
        for who in ACCOUNTS
    }
    assert after == before
    assert ex.fees_collected == 0
