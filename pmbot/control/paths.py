"""Where a bot's control socket lives: in the state directory, one per funder address (like the
wallet lock file), so two bots of two wallets on one machine never share a socket.

The client usually knows the funder from the config (``wallet.funder``). When the config leaves it
empty (the signer's own address) and the key is not at hand, it looks for the one socket in the
state directory; with several it asks for ``--funder``.
"""

from __future__ import annotations

import glob
import os

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


def check_length(path: str) -> None:
    if len(os.fsencode(path)) > MAX_PATH_BYTES:
        raise ValueError(
            f"control socket path is {len(os.fsencode(path))} bytes, over the "
            f"{MAX_PATH_BYTES} a Unix socket allows: use a shorter state_dir ({path})"
        )


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
