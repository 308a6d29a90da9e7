"""One bot per wallet on a machine: an exclusive, non-blocking flock on a file per funder address.

The lock dies with the process (the kernel releases it), so a crashed bot never blocks a restart.
"""

from __future__ import annotations

import fcntl
import os

from pmbot.errors import FatalError


class WalletLock:
    def __init__(self, state_dir: str, funder: str) -> None:
        self.path = os.path.join(state_dir, f"pmbot-{funder.lower()}.lock")
        self._fd: int | None = None

    def acquire(self) -> None:
        os.makedirs(os.path.dirname(self.path) or ".", mode=0o700, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            with open(self.path, encoding="utf-8", errors="replace") as fh:
                holder = fh.read().strip() or "another process"
            os.close(fd)
            raise FatalError(
                f"another pmbot is already running for wallet {self.funder_label} "
                f"(pid {holder}, lock {self.path})"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd

    @property
    def funder_label(self) -> str:
        return os.path.basename(self.path)[len("pmbot-") : -len(".lock")]

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
