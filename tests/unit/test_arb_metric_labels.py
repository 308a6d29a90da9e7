"""The arbitrage metrics' fixed label vocabularies match what the strategy and the engine emit.

``pmbot_arb_taken_total{kind}`` and ``pmbot_arb_skipped_total{reason}`` are pre-initialised at 0 so
the dashboard's arbitrage panels have series before the first opportunity. That only helps if the
pre-initialised values are the ones actually used: these tests derive the used values from the code
(the kinds from real scans, the skip reasons from every ``.skip("...")`` call and the arbitrage
desk's ``reason=`` literals) instead of restating them.
"""

from __future__ import annotations

import ast
import importlib
import inspect
from decimal import Decimal as D

from prometheus_client import CollectorRegistry

from pmbot.metrics import ARB_KINDS, ARB_SKIP_REASONS, Metrics
from pmbot.model import EventInfo, MarketInfo
from pmbot.strategy import BookView
from pmbot.strategy.arbitrage import scan
from pmbot.strategy.params import ArbitrageParams


def _string_args(module, method: str, keyword: str | None = None) -> set[str]:
    """String literals passed to ``<x>.<method>("...")`` (or as ``keyword=`` to it) in
    ``module``."""
    tree = ast.parse(inspect.getsource(module))
    out: set[str] = set()
    for node in ast.walk(tree):
        if not (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == method
        ):
            continue
        args = (
            [kw.value for kw in node.keywords if kw.arg == keyword] if keyword else list(node.args)
        )
        for arg in args:
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                out.add(arg.value)
            elif isinstance(arg, ast.IfExp):
                out.update(a.value for a in (arg.body, arg.orelse) if isinstance(a, ast.Constant))
    return out


def test_every_skip_reason_the_code_uses_is_preinitialised():
    # importlib: ``pmbot.strategy.decide`` as an attribute is the re-exported function, not
    # the module
    mod = importlib.import_module
    used = (
        _string_args(mod("pmbot.strategy.arbitrage"), "skip")
        | _string_args(mod("pmbot.strategy.decide"), "skip")
        | _string_args(mod("pmbot.trading.arbitrage_desk"), "labels", "reason")
    )
    assert {
        "below_edge",
        "cooldown",
        "in_flight",
        "naked_leg",
    } <= used  # the scan found the call sites
    assert used <= set(ARB_SKIP_REASONS), used - set(ARB_SKIP_REASONS)


def test_every_opportunity_kind_is_preinitialised():
    cheap = [
        MarketInfo(f"c{i}", f"Y{i}", f"N{i}", neg_risk=True, event_slug="cheap") for i in range(3)
    ]
    rich = [
        MarketInfo(f"r{i}", f"RY{i}", f"RN{i}", neg_risk=True, event_slug="rich") for i in range(3)
    ]
    binary = MarketInfo("cb", "YB", "NB")
    books = {
        m.yes_token: BookView(D("0.29"), D("0.30"), D(100), D(100)) for m in cheap
    }  # asks sum 0.90
    books.update(
        {m.yes_token: BookView(D("0.40"), D("0.41"), D(100), D(100)) for m in rich}
    )  # bids sum 1.20
    books["YB"] = BookView(D("0.40"), D("0.45"), D(100), D(100))
    books["NB"] = BookView(D("0.40"), D("0.45"), D(100), D(100))  # a stale mirror: 0.45 + 0.45 < 1
    events = [EventInfo("cheap", tuple(cheap)), EventInfo("rich", tuple(rich))]
    kinds = {o.kind for o in scan([binary], events, books, ArbitrageParams())}
    assert kinds == set(ARB_KINDS)


def test_arb_series_exported_at_zero():
    m = Metrics(CollectorRegistry(), process_collector=False)
    text = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for fam in m.registry.collect()
        for s in fam.samples
    }
    for kind in ARB_KINDS:
        assert text[("pmbot_arb_taken_total", (("kind", kind),))] == 0
    for reason in ARB_SKIP_REASONS:
        assert text[("pmbot_arb_skipped_total", (("reason", reason),))] == 0
