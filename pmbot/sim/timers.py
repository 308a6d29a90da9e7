"""Things due at a time: a heap of ``(due, seq, item)`` the exchange's clock drains.

Used for GTD expiry (items are order ids) and trade settlement (items are ``(trade id, next
status)``). Entries that died early (a GTD order cancelled long before its expiration) stay until
due; ``compact`` drops them once the heap has doubled since the last compaction, so a queue whose
entries mostly die early stays proportional to its live entries.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

T = TypeVar("T")

COMPACT_MIN = 256  # never bother compacting a heap smaller than this


class DueQueue(Generic[T]):
    def __init__(self) -> None:
        self._heap: list[tuple[float, int, T]] = []
        self._seq = itertools.count()
        self._compacted_size = 0

    def __len__(self) -> int:
        return len(self._heap)

    def push(self, due: float, item: T) -> None:
        heapq.heappush(self._heap, (due, next(self._seq), item))

    def pop_due(self, now: float) -> Iterator[T]:
        """Items due at or before ``now``, earliest first (equal times in push order)."""
        while self._heap and self._heap[0][0] <= now:
            yield heapq.heappop(self._heap)[2]

    def compact(self, alive: Callable[[T], bool]) -> bool:
        """Drop the entries ``alive`` rejects, if the heap has doubled since the last time."""
        if len(self._heap) < max(COMPACT_MIN, 2 * self._compacted_size):
            return False
        self._heap = [entry for entry in self._heap if alive(entry[2])]
        heapq.heapify(self._heap)
        self._compacted_size = len(self._heap)
        return True
