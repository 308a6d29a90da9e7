"""The Data API (``/data-api/positions``) and Gamma (``/gamma/markets``, ``/gamma/events`` and
their ``/slug/`` forms) of the simulator, as pure request -> reply functions over the exchange.
"""

from __future__ import annotations

from decimal import Decimal

from pmbot.sim import views
from pmbot.sim.markets import SimEvent, SimMarket
from pmbot.sim.ports import ExchangeApi
from pmbot.sim.rest_messages import Reply, Request, error, multi, top


class DataGammaRoutes:
    def __init__(self, exchange: ExchangeApi) -> None:
        self.exchange = exchange

    def positions(self, req: Request) -> Reply:
        user = req.query.get("user")
        if not user:
            return error(400, "user is required")
        rows = self.exchange.positions(user)
        markets = req.query.get("market")
        if markets:
            wanted = set(markets.split(","))
            rows = [r for r in rows if r.get("conditionId") in wanted]
        try:
            threshold = float(req.query.get("sizeThreshold", "1"))
        except ValueError:
            return error(400, "invalid sizeThreshold")
        return Reply(200, [r for r in rows if abs(r.get("size", 0)) >= threshold])

    def _gamma_market(self, m: SimMarket) -> dict:
        snap = self.exchange.book_snapshot(m.yes_token)
        bid, ask = top(snap)
        last = snap.get("last_trade_price")
        event = None
        if m.event_slug and m.event_slug in self.exchange.events:
            event = views.gamma_event_header(self.exchange.events[m.event_slug])
        return views.gamma_market(
            m, yes_bid=bid, yes_ask=ask, last=Decimal(last) if last else None, event=event
        )

    def gamma_market_by_slug(self, req: Request, slug: str) -> Reply:
        for m in list(self.exchange.markets.values()):
            if m.slug == slug:
                return Reply(200, self._gamma_market(m))
        return error(404, "market not found")

    def gamma_markets(self, req: Request) -> Reply:
        slugs = set(multi(req, "slug"))
        cids = set(multi(req, "condition_ids"))
        tokens = set(multi(req, "clob_token_ids"))
        out = []
        for m in list(self.exchange.markets.values()):
            if slugs and m.slug not in slugs:
                continue
            if cids and m.condition_id not in cids:
                continue
            if tokens and not ({m.yes_token, m.no_token} & tokens):
                continue
            out.append(self._gamma_market(m))
        return Reply(200, out)

    def _gamma_event(self, e: SimEvent) -> dict:
        markets = [
            self._gamma_market(self.exchange.markets[cid])
            for cid in e.condition_ids
            if cid in self.exchange.markets
        ]
        return views.gamma_event(e, markets)

    def gamma_event_by_slug(self, req: Request, slug: str) -> Reply:
        e = self.exchange.events.get(slug)
        if e is None:
            return error(404, "event not found")
        return Reply(200, self._gamma_event(e))

    def gamma_events(self, req: Request) -> Reply:
        slugs = set(multi(req, "slug"))
        return Reply(
            200,
            [
                self._gamma_event(e)
                for e in list(self.exchange.events.values())
                if not slugs or e.slug in slugs
            ],
        )
