"""The signing key: from an environment variable, an encrypted Ethereum keystore JSON or a 0600
file; never logged, never in an error. Errors are :class:`KeyLoadError` naming the config key
involved (``wallet.private_key_env``, ``wallet.keystore_file``, ``wallet.keystore_passphrase_env``
or ``wallet.private_key_file``).

Order: the environment variable when it is set; else the keystore when ``wallet.keystore_file`` is
set (passphrase from the ``keystore_passphrase_env`` variable, else from the systemd credential
``keystore_passphrase`` in ``$CREDENTIALS_DIRECTORY``, see deploy/pmbot.service); else the file.
"""

from __future__ import annotations

import logging
import os
import stat
from typing import Protocol

from pmbot import eip712
from pmbot.errors import FatalError

log = logging.getLogger(__name__)

CREDENTIAL_NAME = "keystore_passphrase"  # systemd: LoadCredential=keystore_passphrase:/path


class KeyLoadError(FatalError):
    """The key could not be loaded; ``config_key`` is the setting to look at."""

    def __init__(self, config_key: str, message: str) -> None:
        super().__init__(message)
        self.config_key = config_key


class WalletKeySettings(Protocol):
    """The ``wallet`` config fields that say where the key is."""

    @property
    def private_key_env(self) -> str: ...
    @property
    def private_key_file(self) -> str: ...
    @property
    def keystore_file(self) -> str: ...
    @property
    def keystore_passphrase_env(self) -> str: ...


def load_signing_key(wallet: WalletKeySettings) -> str:
    """The signing key as ``0x`` + 64 hex digits, from the first configured source (module doc)."""
    env = wallet.private_key_env
    if env and os.environ.get(env, "").strip():
        return _normalise(os.environ[env], f"environment variable {env}", "wallet.private_key_env")
    if wallet.keystore_file:
        return private_key_from_keystore(wallet.keystore_file, wallet.keystore_passphrase_env)
    if wallet.private_key_file:
        try:
            return private_key_from_env_or_file(env, wallet.private_key_file)
        except FatalError as exc:
            raise KeyLoadError("wallet.private_key_file", str(exc)) from None
    raise KeyLoadError(
        "wallet.private_key_env",
        f"no private key: set {env or 'the wallet.private_key_env variable'}, "
        "wallet.keystore_file or wallet.private_key_file",
    )


def keystore_passphrase(env_name: str) -> str:
    """From ``env_name``, else the systemd credential; KeyLoadError when neither is there."""
    value = os.environ.get(env_name, "") if env_name else ""
    if value:
        return value.rstrip("\n")
    cred_dir = os.environ.get("CREDENTIALS_DIRECTORY", "")
    if cred_dir:
        path = os.path.join(cred_dir, CREDENTIAL_NAME)
        try:
            with open(path, encoding="utf-8") as fh:
                return fh.read().rstrip("\n")
        except OSError as exc:
            raise KeyLoadError(
                "wallet.keystore_passphrase_env",
                f"systemd credential {CREDENTIAL_NAME} not readable: {exc.strerror}",
            ) from None
    raise KeyLoadError(
        "wallet.keystore_passphrase_env",
        f"the keystore needs a passphrase: set {env_name or 'a variable'} or LoadCredential="
        f"{CREDENTIAL_NAME}:<file> in the systemd unit",
    )


def private_key_from_keystore(path: str, passphrase_env: str) -> str:
    """Decrypt an Ethereum keystore JSON (scrypt or pbkdf2) with ``eth-account``."""
    import json

    from eth_account import Account

    try:
        with open(path, encoding="utf-8") as fh:
            keystore = json.load(fh)
    except OSError as exc:
        raise KeyLoadError("wallet.keystore_file", f"{path}: {exc.strerror}") from None
    except ValueError:
        raise KeyLoadError("wallet.keystore_file", f"{path} is not keystore JSON") from None
    if not isinstance(keystore, dict) or "crypto" not in {k.lower() for k in keystore}:
        raise KeyLoadError("wallet.keystore_file", f"{path} is not an Ethereum keystore")
    passphrase = keystore_passphrase(passphrase_env)
    try:
        raw = bytes(Account.decrypt(keystore, passphrase))
    except ValueError as exc:
        wrong = "MAC mismatch" in str(exc)
        raise KeyLoadError(
            "wallet.keystore_passphrase_env" if wrong else "wallet.keystore_file",
            f"{path}: wrong passphrase"
            if wrong
            else f"{path}: cannot decrypt ({type(exc).__name__})",
        ) from None
    except Exception as exc:  # eth-account raises assorted types on malformed keystores
        raise KeyLoadError(
            "wallet.keystore_file", f"{path}: cannot decrypt ({type(exc).__name__})"
        ) from None
    return _normalise(raw.hex(), f"keystore {path}", "wallet.keystore_file")


def _normalise(value: str, source: str, config_key: str) -> str:
    try:
        raw = eip712.private_key_bytes(value.strip())
    except ValueError as exc:
        raise KeyLoadError(config_key, f"{source}: {exc}") from None
    log.info("private key loaded from %s", source)
    return "0x" + raw.hex()


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
