"""``python bot.py doctor [--config F] [--livetest]``: a preflight a user runs before going live.

One line per check, pass / warn / fail, and for each failure the fix in plain words. Read-only
unless ``--livetest`` (one post-only BUY at the lowest price, cancelled and verified gone).
Exit 0 when nothing failed, 1 when a check failed, 2 when the config itself is bad.
"""

from pmbot.doctor.cli import main

__all__ = ["main"]
