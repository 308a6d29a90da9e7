"""Public market data of the simulated CLOB: market listings, books, ticks, fees, prices.

``GET /markets`` (paginated), ``/markets/{cid}``, ``/clob-markets/{cid}``,
``/markets-by-token/{token}``, ``/book``, ``POST /books``, ``/tick-size``, ``/neg-risk``,
``/fee-rate``, ``/midpoint``, ``/price``, ``/spread``, ``/last-trade-price``. Books of benchmark
markets (``/_sim/bench_markets``) come from the bench feed, every other from the exchange.
"""

from __future__ import annotations

from decimal import Decimal

from pmbot.sim import views
from pmbot.sim.markets import SimMarket
from pmbot.sim.ports import BenchMarkets, ExchangeApi
from pmbot.sim.rest_messages import Reply, Request, error, top

MARKETS_PAGE = 500
NO_BOOK = "No orderbook exists for the requested token id"


class MarketDataRoutes:
    def __init__(self, exchange: ExchangeApi, bench: BenchMarkets | None) -> None:
        self.exchange = exchange
        self.bench = bench

    def market_of(self, token_id: str | None) -> SimMarket | None:
        if not token_id:
            return None
        try:
            return self.exchange.market_of_token(token_id)
        except KeyError:
            return None

    def snapshot(self, token_id: str | None) -> dict | None:
        if not token_id:
            return None
        if self.bench is not None and self.bench.has_token(token_id):
            return self.bench.book_snapshot(token_id)
        if self.market_of(token_id) is None:
            return None
        return self.exchange.book_snapshot(token_id)

    def _yes_mid(self, m: SimMarket) -> Decimal:
        bid, ask = top(self.exchange.book_snapshot(m.yes_token))
        if bid is not None and ask is not None:
            return (bid + ask) / 2
        return m.fair_value

    def markets(self, req: Request) -> Reply:
        rows = [
            views.clob_market(m, self._yes_mid(m)) for m in list(self.exchange.markets.values())
        ]
        try:
            return Reply(200, views.paginate(rows, req.query.get("next_cursor"), MARKETS_PAGE))
        except ValueError:
            return error(400, "invalid next_cursor")

    def market(self, req: Request, condition_id: str) -> Reply:
        m = self.exchange.markets.get(condition_id)
        if m is None:
            return error(404, "market not found")
        return Reply(200, views.clob_market(m, self._yes_mid(m)))

    def market_by_token(self, req: Request, token_id: str) -> Reply:
        m = self.market_of(token_id)
        if m is None:
            return error(404, "market not found")
        return Reply(200, views.clob_market(m, self._yes_mid(m)))

    def clob_market_info(self, req: Request, condition_id: str) -> Reply:
        m = self.exchange.markets.get(condition_id)
        if m is None:
            return error(404, "market not found")
        return Reply(200, views.clob_market_info(m))

    def book(self, req: Request) -> Reply:
        snap = self.snapshot(req.query.get("token_id"))
        if snap is None:
            return error(404, NO_BOOK)
        return Reply(200, snap)

    def books(self, req: Request) -> Reply:
        items = req.json()
        if not isinstance(items, list) or len(items) > 500:
            return error(400, "Invalid payload")
        out = []
        for item in items:
            snap = self.snapshot(item.get("token_id") if isinstance(item, dict) else None)
            if snap is not None:
                out.append(snap)
        return Reply(200, out)

    def tick_size(self, req: Request) -> Reply:
        m = self.market_of(req.query.get("token_id"))
        if m is None:
            return error(404, "market not found")
        return Reply(200, {"minimum_tick_size": views.num(m.tick)})

    def neg_risk(self, req: Request) -> Reply:
        m = self.market_of(req.query.get("token_id"))
        if m is None:
            return error(404, "market not found")
        return Reply(200, {"neg_risk": m.neg_risk})

    def fee_rate(self, req: Request, token_id: str | None = None) -> Reply:
        m = self.market_of(token_id or req.query.get("token_id"))
        if m is None:
            return error(404, "market not found")
        return Reply(200, {"base_fee": m.fee_rate_bps})

    def _top_of(self, req: Request) -> tuple[Decimal | None, Decimal | None] | None:
        snap = self.snapshot(req.query.get("token_id"))
        if snap is None:
            return None
        return top(snap)

    def _two_sided(self, req: Request) -> tuple[Decimal, Decimal] | None:
        best = self._top_of(req)
        if best is None or best[0] is None or best[1] is None:
            return None
        return best[0], best[1]

    def midpoint(self, req: Request) -> Reply:
        best = self._two_sided(req)
        if best is None:
            return error(404, NO_BOOK)
        return Reply(200, {"mid": str((best[0] + best[1]) / 2)})

    def price(self, req: Request) -> Reply:
        """``side=BUY`` answers the best bid and ``SELL`` the best ask (the side of the book);
        which one the venue means is not documented clearly."""
        best = self._top_of(req)
        side = req.query.get("side", "").upper()
        if best is None or side not in ("BUY", "SELL"):
            return error(400, "Invalid side" if best is not None else NO_BOOK)
        value = best[0] if side == "BUY" else best[1]
        if value is None:
            return error(404, NO_BOOK)
        return Reply(200, {"price": str(value)})

    def spread(self, req: Request) -> Reply:
        best = self._two_sided(req)
        if best is None:
            return error(404, NO_BOOK)
        return Reply(200, {"spread": str(best[1] - best[0])})

    def last_trade_price(self, req: Request) -> Reply:
        snap = self.snapshot(req.query.get("token_id"))
        if snap is None:
            return error(404, NO_BOOK)
        return Reply(200, {"price": snap.get("last_trade_price") or "0.5", "side": ""})
