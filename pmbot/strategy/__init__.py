"""Pure strategy core: values in, values out. See ``decide.py`` for the one entry point.

Imports only ``pmbot.model`` and the standard library's decimal/dataclasses/math/enum/typing
(plus collections); no I/O, threading, time, logging, randomness or metrics
(tests/unit/test_imports.py).
"""

from pmbot.strategy.decide import (
    Decision,
    MarketDecision,
    MarketMemory,
    StrategyInput,
    StrategyMemory,
    decide,
)
from pmbot.strategy.params import ArbitrageParams, QuotingParams, RiskParams, StrategyParams
from pmbot.strategy.views import BookView, DesiredOrder, LiveOrder, Verdict

__all__ = [
    "decide",
    "Decision",
    "MarketDecision",
    "MarketMemory",
    "StrategyInput",
    "StrategyMemory",
    "StrategyParams",
    "QuotingParams",
    "RiskParams",
    "ArbitrageParams",
    "BookView",
    "DesiredOrder",
    "LiveOrder",
    "Verdict",
]
