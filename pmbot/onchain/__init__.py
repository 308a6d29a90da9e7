"""On-chain work: merge complete sets into pUSD, redeem resolved positions (issue 18).

Threads and messages (off unless ``onchain.enabled``):

    strategy thread (Engine) --MergeIntent/RedeemIntent--> OnchainWorker (thread "onchain")
    OnchainWorker --OnchainSettled/OnchainFailed--> Engine inbound queue

Wiring, by file outside this package:

- runner: ``worker = setup.build_worker(cfg, private_key, inbound.put)``; ``worker.start()``
  after the engine, ``worker.stop()`` before the engine's stop; build
  ``OnchainMetrics(metrics.registry)``; at start-up pass
  ``resolution.resolved_conditions(...)`` for held markets to ``desk.on_resolved``, and
  ``journal.open_intents()`` to ``desk.restore_pending``.
- engine: own ``OnchainDesk(worker, PlanLimits(cfg.onchain.merge_min_usd))``; call
  ``desk.tick`` after each decision (shares = ``inventory.shares``, keep = shares resting in
  own SELL orders); on ``OnchainSettled`` apply ``desk.on_settled(...)`` fills through the
  fill tracker (dedupe by trade id) and release the matching hedged set; on ``OnchainFailed``
  call ``desk.on_failed``; on ``market_resolved`` call ``desk.on_resolved`` and stop quoting
  ``desk.is_resolved`` markets; the positions reconciler skips ``desk.pending_tokens(markets)``.
- arbitrage desk / baskets: ``desk.on_arbitrage_set(condition_id)`` when a binary set completes.
"""
