"""The strategy thread's own package: its loop (``engine``) and the rooms it is made of (dispatch
handlers, decisions, publishing, start-up), the order tracker, fills, inventory, baskets, the
arbitrage desk and the journal. Only the strategy thread writes anything here."""
