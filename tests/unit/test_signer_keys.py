"""private_key_from_env_or_file: env first, else a 0600 file; errors name the problem, never the
key."""

from __future__ import annotations

import logging
import os

import pytest

from pmbot.errors import FatalError
from pmbot.keys import private_key_from_env_or_file

KEY_HEX = "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"
ENV = "PMBOT_TEST_PRIVATE_KEY"


@pytest.fixture
def no_env(monkeypatch):
    monkeypatch.delenv(ENV, raising=False)


def write_key(tmp_path, content: str, mode: int) -> str:
    path = tmp_path / "key"
    path.write_text(content)
    os.chmod(path, mode)
    return str(path)


@pytest.mark.parametrize("value", ["0x" + KEY_HEX, KEY_HEX, "  0x" + KEY_HEX.upper() + "\n"])
def test_key_from_env_is_normalised(monkeypatch, value):
    monkeypatch.setenv(ENV, value)
    assert private_key_from_env_or_file(ENV, None) == "0x" + KEY_HEX


def test_env_wins_over_file(monkeypatch, tmp_path):
    path = write_key(tmp_path, "0x" + "22" * 32, 0o600)
    monkeypatch.setenv(ENV, "0x" + KEY_HEX)
    assert private_key_from_env_or_file(ENV, path) == "0x" + KEY_HEX


@pytest.mark.parametrize("mode", [0o600, 0o400])
def test_key_from_private_file(no_env, tmp_path, mode):
    path = write_key(tmp_path, "0x" + KEY_HEX + "\n", mode)
    assert private_key_from_env_or_file(ENV, path) == "0x" + KEY_HEX


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660, 0o777])
def test_file_readable_by_others_is_fatal_and_names_the_mode(no_env, tmp_path, mode):
    path = write_key(tmp_path, "0x" + KEY_HEX, mode)
    with pytest.raises(FatalError) as info:
        private_key_from_env_or_file(ENV, path)
    assert f"{mode:04o}" in str(info.value) and path in str(info.value)
    assert KEY_HEX not in str(info.value)


def test_missing_everything_names_the_variable(no_env):
    with pytest.raises(FatalError, match=ENV):
        private_key_from_env_or_file(ENV, None)


def test_missing_file_is_fatal(no_env, tmp_path):
    with pytest.raises(FatalError, match="No such file"):
        private_key_from_env_or_file(ENV, str(tmp_path / "absent"))


def test_directory_is_not_a_key_file(no_env, tmp_path):
    os.chmod(tmp_path, 0o700)
    with pytest.raises(FatalError, match="regular file"):
        private_key_from_env_or_file(ENV, str(tmp_path))


@pytest.mark.parametrize(
    "bad", [KEY_HEX[:-2], KEY_HEX + "zz", "0x" + "00" * 32, "not a key at all " + KEY_HEX[:20]]
)
def test_malformed_key_is_fatal_without_echoing_it(monkeypatch, tmp_path, bad, caplog):
    monkeypatch.setenv(ENV, bad)
    caplog.set_level(logging.DEBUG)
    with pytest.raises(FatalError) as info:
        private_key_from_env_or_file(ENV, None)
    assert ENV in str(info.value)
    assert bad.strip() not in str(info.value) and KEY_HEX[:16] not in str(info.value)
    assert info.value.__cause__ is None and info.value.__suppress_context__
    monkeypatch.delenv(ENV)
    path = write_key(tmp_path, bad, 0o600)
    with pytest.raises(FatalError) as info:
        private_key_from_env_or_file(ENV, path)
    assert bad.strip() not in str(info.value) and KEY_HEX[:16] not in str(info.value)


def test_key_never_logged(monkeypatch, caplog):
    monkeypatch.setenv(ENV, "0x" + KEY_HEX)
    caplog.set_level(logging.DEBUG)
    private_key_from_env_or_file(ENV, None)
    assert caplog.records  # the source is logged ...
    assert all(KEY_HEX not in r.getMessage().lower() for r in caplog.records)  # ... the key is not
