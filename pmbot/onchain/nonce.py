"""Nonce manager for one EOA: hands out consecutive nonces, starting from the node's pending
count or past the journal's highest nonce, whichever is greater. One writer: the on-chain worker."""

from __future__ import annotations

import threading


class NonceManager:
    def __init__(self) -> None:
        self._next: int | None = None
        self._lock = threading.Lock()

    def sync(self, pending_count: int, journal_max: int | None) -> None:
        with self._lock:
            floor = pending_count if journal_max is None else max(pending_count, journal_max + 1)
            self._next = floor if self._next is None else max(self._next, floor)

    def allocate(self) -> int:
        with self._lock:
            if self._next is None:
                raise RuntimeError("NonceManager.allocate before sync")
            n = self._next
            self._next += 1
            return n

    def reset(self, pending_count: int) -> None:
        """After 'nonce too low' from the node: trust the node."""
        with self._lock:
            self._next = pending_count
