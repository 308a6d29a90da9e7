"""pmbot: a market-making and arbitrage bot for Polymarket's CLOB (V2)."""

__version__ = "0.1.0"
