"""The strategy thread's own modules: its loop, the order tracker, fills, inventory, baskets, the journal."""
