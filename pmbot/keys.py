"""The signing key: from an environment variable or a 0600 file, never logged, never in an error."""

from __future__ import annotations

import logging
import os
import stat

from pmbot import eip712
from pmbot.errors import FatalError

log = logging.getLogger(__name__)


def private_key_from_env_or_file(env_name: str, file_path: str | None) -> str:
    """The signing key as ``0x`` + 64 hex digits, from env var ``env_name`` or else from
    ``file_path``, which must not be readable or writable by group or others (0600/0400).

    Raises FatalError naming what is wrong (variable, path, permissions, format), never the key.
    """
    value = os.environ.get(env_name, "").strip()
    source = f"environment variable {env_name}"
    if not value:
        if not file_path:
            raise FatalError(f"no private key: set {env_name} or configure a key file")
        try:
            st = os.stat(file_path)
        except OSError as exc:
            raise FatalError(f"private key file {file_path}: {exc.strerror}") from None
        if not stat.S_ISREG(st.st_mode):
            raise FatalError(f"private key file {file_path} is not a regular file")
        mode = stat.S_IMODE(st.st_mode)
        if mode & 0o077:
            raise FatalError(
                f"private key file {file_path} has permissions {mode:04o}; it must be 0600"
            )
        try:
            with open(file_path, encoding="ascii") as fh:
                value = fh.read().strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise FatalError(
                f"private key file {file_path} cannot be read: {type(exc).__name__}"
            ) from None
        source = f"private key file {file_path}"
    try:
        raw = eip712.private_key_bytes(value)
    except ValueError as exc:
        raise FatalError(f"{source}: {exc}") from None
    log.info("private key loaded from %s", source)
    return "0x" + raw.hex()
