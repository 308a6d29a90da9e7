"""doctor's pure parts and probes on loopback: the cause of an unreachable URL, wallet type vs
funder, the fixes for the venue's known refusals, the pUSD need of the configured quotes."""

from __future__ import annotations

import http.server
import socket
import threading
from decimal import Decimal

import pytest

from pmbot import eip712
from pmbot.config import Config, StrategyConfig, WalletConfig
from pmbot.doctor import account
from pmbot.doctor.fixes import fix_for
from pmbot.doctor.probe import check_url, connect_cause
from pmbot.doctor.report import render

EOA = eip712.address_of("0x" + "4c" * 32)
OTHER = eip712.checksum_address("0x" + "d3" * 20)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def http_404():
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's naming
            self.send_response(404)
            self.end_headers()
            self.wfile.write(b"nope")

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def test_refused_names_host_and_port() -> None:
    port = _closed_port()
    cause = connect_cause(f"http://127.0.0.1:{port}", 2.0)
    assert cause is not None and "connection refused" in cause and str(port) in cause


def test_dns_failure_is_named() -> None:
    cause = connect_cause("https://no-such-host.invalid/x", 2.0)
    assert cause is not None and cause.startswith("DNS: cannot resolve no-such-host.invalid")


def test_tls_to_a_plain_http_server_is_named(http_404) -> None:
    cause = connect_cause(f"https://127.0.0.1:{http_404}", 2.0)
    assert cause is not None and cause.startswith("TLS:")


def test_http_status_is_named_with_the_config_key(http_404) -> None:
    result = check_url("venue.clob_url", f"http://127.0.0.1:{http_404}", "/time", timeout=2.0)
    assert result.level == "fail"
    assert "HTTP 404" in result.detail and "venue.clob_url" in result.fix
    assert render(result).startswith("FAIL reach venue.clob_url: ")


def test_not_a_url() -> None:
    assert "not an http(s)/ws(s) URL" in (connect_cause("clob.polymarket.com", 1.0) or "")


def _cfg(**wallet) -> Config:
    return Config(wallet=WalletConfig(**wallet))


@pytest.mark.parametrize(
    ("wallet", "level", "words"),
    [
        ({"signature_type": 0}, "pass", "at the EOA"),
        ({"signature_type": 0, "funder": EOA}, "pass", "at the EOA"),
        ({"signature_type": 0, "funder": OTHER}, "fail", "type 0 trades from"),
        ({"signature_type": 1}, "fail", "needs wallet.funder"),
        ({"signature_type": 2, "funder": EOA}, "fail", "is the key's own address"),
        ({"signature_type": 3, "funder": EOA}, "fail", "is the key's own address"),
        ({"signature_type": 3, "funder": OTHER}, "pass", f"funds at {OTHER}"),
        ({"signature_type": 2, "funder": "0x12"}, "fail", "is not an address"),
    ],
)
def test_wallet_type_vs_funder(wallet, level, words) -> None:
    result = account.check_funder(_cfg(**wallet), EOA)
    assert result.level == level and words in result.detail


def test_chain_id_against_polymarket_hosts() -> None:
    from pmbot.config import VenueConfig

    bad = Config(venue=VenueConfig(chain_id=80002))
    assert account.check_chain(bad).level == "fail"
    assert "137" in account.check_chain(bad).fix
    assert account.check_chain(Config()).level == "pass"


@pytest.mark.parametrize(
    ("answer", "words"),
    [
        (
            "HTTP 400: the order signer address has to be the address of the API KEY",
            "deposit_signature",
        ),
        ("maker address not allowed, please use the deposit wallet flow", "signature_type: 3"),
        ("HTTP 400: invalid signature", "deposit_signature"),
        ("not enough balance / allowance", "fund wallet.funder"),
        ("HTTP 401: Invalid L1 Request headers", "venue.chain_id"),
        ("something new", "venue's answer"),
    ],
)
def test_known_refusals_map_to_their_fix(answer, words) -> None:
    assert words in fix_for(answer)


def test_needed_collateral_grows_with_sizes_and_markets() -> None:
    cfg = Config(strategy=StrategyConfig(order_size=Decimal(10), ladder_levels=2))
    assert account.needed_collateral(cfg, 3) == Decimal(120)
    assert account.needed_collateral(cfg, 0) == Decimal(40)
