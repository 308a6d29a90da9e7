"""Where a bot's control socket lives: in the state directory, one per funder address (like the
wallet lock file), so two bots of two wallets on one machine never share a socket.

The client usually knows the funder from the config (``wallet.funder``). When the config leaves it
empty (the signer's own address) and the key is not at hand, it looks for the one socket in the
state directory; with several it asks for ``--funder``.
"""

from __future__ import annotations

import contextlib
import glob
import os
from collections.abc import Iterator

PREFIX = "pmbot-"
SUFFIX = ".sock"
# sun_path is 108 bytes on Linux, including the terminating NUL.
MAX_PATH_BYTES = 107


class SocketNotFound(LookupError):
    """No control socket to talk to (the bot is not running here, or runs for another wallet)."""


class AmbiguousSocket(LookupError):
    """Several bots run from this state directory; the caller must name the wallet."""


def socket_path(state_dir: str, funder: str) -> str:
    return os.path.join(state_dir, f"{PREFIX}{funder.lower()}{SUFFIX}")


@contextlib.contextmanager
def addressable(path: str) -> Iterator[str]:
    """``path`` in a form ``bind``/``connect`` accept. A deep state directory can make the path
    longer than ``sun_path`` holds; then the directory is reached through an open descriptor
    (``/proc/self/fd/N/name``, resolved by the kernel like any path), held open meanwhile."""
    if len(os.fsencode(path)) <= MAX_PATH_BYTES:
        yield path
        return
    fd = os.open(os.path.dirname(path) or ".", os.O_PATH | os.O_DIRECTORY)
    try:
        short = f"/proc/self/fd/{fd}/{os.path.basename(path)}"
        if len(os.fsencode(short)) > MAX_PATH_BYTES:
            raise ValueError(f"control socket name too long: {os.path.basename(path)}")
        yield short
    finally:
        os.close(fd)


def find_socket(state_dir: str, funder: str = "") -> str:
    """The socket for ``funder``, or the only socket in ``state_dir`` when no funder is given."""
    if funder:
        path = socket_path(state_dir, funder)
        if not os.path.exists(path):
            raise SocketNotFound(f"no control socket {path}: is the bot running?")
        return path
    found = sorted(glob.glob(os.path.join(glob.escape(state_dir), f"{PREFIX}*{SUFFIX}")))
    if not found:
        raise SocketNotFound(f"no control socket in {state_dir}: is the bot running?")
    if len(found) > 1:
        names = ", ".join(os.path.basename(p) for p in found)
        raise AmbiguousSocket(f"several bots run from {state_dir} ({names}): give --funder")
    return found[0]
