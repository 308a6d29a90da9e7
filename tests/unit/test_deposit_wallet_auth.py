"""The wallet-bound API key (pmbot.venue.deposit_wallet) against a scripted venue on loopback:
derive first, create when there is none, the owner's signature in the configured scheme, and the
fallback to the EOA's key when the venue refuses L1 for the wallet (as production did in
py-clob-client-v2 #58 and #103)."""

from __future__ import annotations

import http.server
import json
import threading
from dataclasses import dataclass

import pytest

from pmbot import eip712
from pmbot.venue import erc1271
from pmbot.venue.deposit_wallet import (
    DepositWalletL1Refused,
    derive_creds,
    derive_wallet_bound_creds,
)

KEY = "0x" + "4c" * 32
OWNER = eip712.address_of(KEY)
WALLET = eip712.checksum_address("0x" + "d3" * 20)
CREDS = {"apiKey": "k-1", "secret": "c2VjcmV0", "passphrase": "p"}


class Venue:
    """Answers per (method, path, POLY_ADDRESS kind); records what it saw."""

    def __init__(self, answers: dict[tuple[str, str, str], tuple[int, dict]]) -> None:
        self.answers = answers
        self.seen: list[tuple[str, str, dict]] = []
        venue = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _answer(self) -> None:
                path = self.path.split("?")[0]
                headers = {k.upper(): v for k, v in self.headers.items()}
                venue.seen.append((self.command, path, headers))
                who = (
                    "wallet" if headers.get("POLY_ADDRESS", "").lower() == WALLET.lower() else "eoa"
                )
                status, body = venue.answers.get((self.command, path, who), (404, {"error": "nf"}))
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _answer  # noqa: N815 - http.server's naming

            def log_message(self, *args) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def venue_factory():
    made: list[Venue] = []

    def make(answers):
        v = Venue(answers)
        made.append(v)
        return v

    yield make
    for v in made:
        v.close()


@pytest.mark.parametrize("scheme", erc1271.SCHEMES)
def test_derive_first_then_create_with_the_owner_signature(venue_factory, scheme) -> None:
    venue = venue_factory({("POST", "/auth/api-key", "wallet"): (200, CREDS)})
    creds = derive_wallet_bound_creds(venue.url, KEY, WALLET, scheme, 137)
    assert creds.api_key == "k-1" and creds.address == WALLET.lower()
    assert [(m, p) for m, p, _ in venue.seen] == [
        ("GET", "/auth/derive-api-key"),
        ("POST", "/auth/api-key"),
    ]
    h = venue.seen[-1][2]
    assert h["POLY_ADDRESS"] == WALLET
    owner = erc1271.clob_auth_owner(
        scheme, WALLET, h["POLY_TIMESTAMP"], int(h["POLY_NONCE"]), h["POLY_SIGNATURE"], 137
    )
    assert owner == OWNER


def test_an_existing_key_is_derived_without_creating(venue_factory) -> None:
    venue = venue_factory({("GET", "/auth/derive-api-key", "wallet"): (200, CREDS)})
    assert derive_wallet_bound_creds(venue.url, KEY, WALLET, "plain", 137).api_key == "k-1"
    assert [m for m, _, _ in venue.seen] == ["GET"]


def test_a_401_is_refused_with_the_venue_text(venue_factory) -> None:
    refusal = (401, {"error": "Invalid L1 Request headers"})
    venue = venue_factory({("GET", "/auth/derive-api-key", "wallet"): refusal})
    with pytest.raises(DepositWalletL1Refused, match="Invalid L1 Request headers"):
        derive_wallet_bound_creds(venue.url, KEY, WALLET, "plain", 137)


@dataclass
class Signer:
    address: str = OWNER
    funder: str = WALLET
    chain_id: int = 137
    signature_type: int = 3
    deposit_signature: str = "plain"


def test_refused_wallet_l1_falls_back_to_the_eoa_key(venue_factory, caplog) -> None:
    refusal = (401, {"error": "Invalid L1 Request headers"})
    venue = venue_factory(
        {
            ("GET", "/auth/derive-api-key", "wallet"): refusal,
            ("POST", "/auth/api-key", "eoa"): (200, CREDS),
            ("GET", "/auth/derive-api-key", "eoa"): (200, CREDS),
        }
    )
    creds = derive_creds(venue.url, KEY, Signer())
    assert creds.api_key == "k-1" and creds.address == OWNER.lower()
    assert "falling back to the key of the owner EOA" in caplog.text


def test_other_wallet_types_use_the_eoa_key(venue_factory) -> None:
    venue = venue_factory(
        {
            ("POST", "/auth/api-key", "eoa"): (200, CREDS),
            ("GET", "/auth/derive-api-key", "eoa"): (200, CREDS),
        }
    )
    creds = derive_creds(venue.url, KEY, Signer(signature_type=2))
    assert creds.address == OWNER.lower()
    assert all(h["POLY_ADDRESS"].lower() == OWNER.lower() for _, _, h in venue.seen)
