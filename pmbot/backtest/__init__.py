"""Deterministic replay backtester (issue 15): ``python -m pmbot.backtest --data PATH...``.

Recorded market-channel frames go, in time order, through the bot's own parser and books
(``pmbot.venue.market_ws.MarketFeed`` driven without sockets), the pure ``decide()`` runs on a
virtual clock, orders fill through a queue-position fill model, and the bot's own ``Inventory``
keeps the P&L. Not imported by the bot.
"""
