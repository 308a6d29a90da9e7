"""The CLOB's cursor pagination (``next_cursor``: base64 of an offset; ``LTE=`` on the last page),
shared by the market listing, the open-orders and trades listings and the reward markets."""

from __future__ import annotations

import base64

INITIAL_CURSOR = "MA=="
END_CURSOR = "LTE="


def encode_cursor(offset: int) -> str:
    return base64.b64encode(str(offset).encode()).decode()


def decode_cursor(cursor: str | None) -> int:
    """``MA==`` (or nothing) is the first page; raises ValueError on garbage or ``LTE=``."""
    if not cursor:
        return 0
    offset = int(base64.b64decode(cursor.encode(), validate=True).decode())
    if offset < 0:
        raise ValueError("cursor past the end")
    return offset


def paginate(rows: list, cursor: str | None, limit: int) -> dict:
    """The CLOB's ``{data, next_cursor, limit, count}`` envelope; last page says ``LTE=``."""
    offset = decode_cursor(cursor)
    page = rows[offset : offset + limit]
    end = offset + limit >= len(rows)
    return {
        "data": page,
        "next_cursor": END_CURSOR if end else encode_cursor(offset + limit),
        "limit": limit,
        "count": len(page),
    }
