from __future__ import annotations

import pytest

from pmbot.config import parse_config
from pmbot.errors import ConfigError
from pmbot.onchain.setup import builder_creds, check_config


def test_off_by_default_needs_nothing() -> None:
    cfg = parse_config({})
    assert cfg.onchain.enabled is False
    check_config(cfg)


def test_enabled_needs_rpc_and_for_wallets_the_relayer() -> None:
    with pytest.raises(ConfigError, match="onchain.rpc_url"):
        check_config(parse_config({"onchain": {"enabled": True}}))
    check_config(parse_config({"onchain": {"enabled": True, "rpc_url": "http://n"}}))
    safe = {"signature_type": 2, "funder": "0x" + "11" * 20}
    with pytest.raises(ConfigError, match="onchain.relayer_url"):
        check_config(
            parse_config({"wallet": safe, "onchain": {"enabled": True, "rpc_url": "http://n"}})
        )


def test_builder_creds_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = parse_config({"onchain": {"builder_creds_env": "TESTB"}})
    with pytest.raises(ConfigError, match="TESTB_API_KEY"):
        builder_creds(cfg)
    for k, v in (("API_KEY", "k"), ("SECRET", "c2VjcmV0"), ("PASSPHRASE", "p")):
        monkeypatch.setenv(f"TESTB_{k}", v)
    creds = builder_creds(cfg)
    assert creds.key == "k" and "c2VjcmV0" not in repr(creds)


def test_check_config_masks_rpc_key() -> None:
    from pmbot.config import effective_config_dict

    cfg = parse_config({"onchain": {"rpc_url": "https://polygon.example/v2/SECRETKEY"}})
    assert "SECRETKEY" not in str(effective_config_dict(cfg))
