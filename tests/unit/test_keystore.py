"""The encrypted key: an Ethereum keystore JSON decrypted with eth-account, its passphrase from an
environment variable or a systemd credential; errors name the config key and never the secret."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

import pytest
from eth_account import Account

from pmbot.keys import CREDENTIAL_NAME, KeyLoadError, load_signing_key

KEY_HEX = "5a" * 32
PASS = "correct horse battery staple"
PASS_ENV = "PMBOT_TEST_KEYSTORE_PASS"
KEY_ENV = "PMBOT_TEST_PRIVATE_KEY"


@dataclass
class Wallet:
    private_key_env: str = KEY_ENV
    private_key_file: str = ""
    keystore_file: str = ""
    keystore_passphrase_env: str = PASS_ENV


@pytest.fixture
def keystore(tmp_path, monkeypatch):
    for name in (PASS_ENV, KEY_ENV, "CREDENTIALS_DIRECTORY"):
        monkeypatch.delenv(name, raising=False)
    # a light scrypt cost keeps the test quick; the format is the standard v3 keystore
    data = Account.encrypt("0x" + KEY_HEX, PASS, kdf="scrypt", iterations=2**10)
    path = tmp_path / "key.json"
    path.write_text(json.dumps(data))
    return str(path)


def test_passphrase_from_the_environment(keystore, monkeypatch) -> None:
    monkeypatch.setenv(PASS_ENV, PASS)
    assert load_signing_key(Wallet(keystore_file=keystore)) == "0x" + KEY_HEX


def test_passphrase_from_a_systemd_credential(keystore, tmp_path, monkeypatch) -> None:
    creds = tmp_path / "creds"
    creds.mkdir()
    (creds / CREDENTIAL_NAME).write_text(PASS + "\n")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(creds))
    assert load_signing_key(Wallet(keystore_file=keystore)) == "0x" + KEY_HEX


def test_wrong_passphrase_names_the_passphrase_setting(keystore, monkeypatch, caplog) -> None:
    monkeypatch.setenv(PASS_ENV, "not it")
    caplog.set_level(logging.DEBUG)
    with pytest.raises(KeyLoadError) as err:
        load_signing_key(Wallet(keystore_file=keystore))
    assert err.value.config_key == "wallet.keystore_passphrase_env"
    assert "wrong passphrase" in str(err.value)
    assert "not it" not in str(err.value) + caplog.text


def test_missing_passphrase_says_how_to_give_one(keystore) -> None:
    with pytest.raises(KeyLoadError, match="LoadCredential=keystore_passphrase") as err:
        load_signing_key(Wallet(keystore_file=keystore))
    assert err.value.config_key == "wallet.keystore_passphrase_env"


@pytest.mark.parametrize("content", ["not json", json.dumps({"address": "x"}), "[]"])
def test_a_file_that_is_no_keystore_names_keystore_file(keystore, content, monkeypatch) -> None:
    monkeypatch.setenv(PASS_ENV, PASS)
    with open(keystore, "w") as fh:
        fh.write(content)
    with pytest.raises(KeyLoadError) as err:
        load_signing_key(Wallet(keystore_file=keystore))
    assert err.value.config_key == "wallet.keystore_file"


def test_missing_keystore_names_keystore_file(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv(KEY_ENV, raising=False)
    with pytest.raises(KeyLoadError) as err:
        load_signing_key(Wallet(keystore_file=str(tmp_path / "absent.json")))
    assert err.value.config_key == "wallet.keystore_file"


def test_env_key_wins_and_a_bad_file_mode_names_private_key_file(tmp_path, monkeypatch) -> None:
    path = tmp_path / "key"
    path.write_text("0x" + KEY_HEX)
    path.chmod(0o644)
    monkeypatch.delenv(KEY_ENV, raising=False)
    with pytest.raises(KeyLoadError, match="0644") as err:
        load_signing_key(Wallet(private_key_file=str(path)))
    assert err.value.config_key == "wallet.private_key_file"
    monkeypatch.setenv(KEY_ENV, "0x" + "77" * 32)
    assert load_signing_key(Wallet(private_key_file=str(path))) == "0x" + "77" * 32


def test_nothing_configured_names_the_variable(monkeypatch) -> None:
    monkeypatch.delenv(KEY_ENV, raising=False)
    with pytest.raises(KeyLoadError, match=KEY_ENV) as err:
        load_signing_key(Wallet())
    assert err.value.config_key == "wallet.private_key_env"


def test_the_shipped_units_show_the_credential_the_code_reads() -> None:
    import os

    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    for unit in ("pmbot.service", "pmbot@.service"):
        with open(os.path.join(root, "deploy", unit), encoding="utf-8") as fh:
            text = fh.read()
        assert f"LoadCredential={CREDENTIAL_NAME}:" in text, unit


def test_bot_names_the_key_file_setting_for_a_0644_file(tmp_path) -> None:
    import os
    import subprocess
    import sys

    import yaml

    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    key_file = tmp_path / "key"
    key_file.write_text("0x" + KEY_HEX)
    key_file.chmod(0o644)
    cfg = {
        "mode": "live",
        "markets": [{"yes_token": "1", "no_token": "2"}],
        "wallet": {"private_key_env": "", "private_key_file": str(key_file)},
    }
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(cfg))
    res = subprocess.run(
        [sys.executable, "bot.py", "--config", str(path), "--check-config"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert res.returncode == 2
    assert "wallet.private_key_file" in res.stderr and "0644" in res.stderr
    assert "wallet.private_key_env" not in res.stderr and KEY_HEX not in res.stderr
