"""Venue-side auth of the simulator, checked against py_clob_client_v2's own header builders."""

import json

import pytest
from py_clob_client_v2.clob_types import (
    ApiCreds,
    CreateOrderOptions,
    OrderArgs,
    OrderType,
    RequestArgs,
)
from py_clob_client_v2.headers.headers import create_level_1_headers, create_level_2_headers
from py_clob_client_v2.order_builder.builder import OrderBuilder
from py_clob_client_v2.order_utils.model.order_data_v2 import order_to_json_v2
from py_clob_client_v2.signer import Signer

from pmbot.sim.auth import (
    BAD_SIGNATURE_ERROR,
    L1_ERROR,
    L2_ERROR,
    SIGNER_MISMATCH_ERROR,
    AuthError,
    KeyStore,
    hmac_signature,
    verify_l1,
    verify_l2,
    verify_order_signature,
)

KEY_A = "0x" + "11" * 32
KEY_B = "0x" + "22" * 32
TOKEN = "71321045679252212594626385532706912750332728571942532289631379312455583992563"


@pytest.fixture
def keys():
    return KeyStore(b"test-secret")


def test_keys_are_deterministic_per_address_and_nonce(keys):
    a = keys.derive("0xAbC0000000000000000000000000000000000001", 0)
    assert keys.derive("0xabc0000000000000000000000000000000000001", 0) == a
    assert keys.derive("0xabc0000000000000000000000000000000000001", 1).api_key != a.api_key
    assert (
        KeyStore(b"other").derive("0xabc0000000000000000000000000000000000001", 0).api_key
        != a.api_key
    )
    assert a.secret not in repr(a) and a.passphrase not in repr(a)
    assert keys.lookup(a.api_key) == a


def test_l1_accepts_sdk_headers_and_rejects_tampering():
    signer = Signer(KEY_A, 137)
    headers = create_level_1_headers(signer, nonce=3)
    address, nonce = verify_l1(headers, chain_id=137)
    assert address == signer.address().lower() and nonce == 3
    for name, value in [
        ("POLY_NONCE", "4"),
        ("POLY_TIMESTAMP", "1"),
        ("POLY_ADDRESS", Signer(KEY_B, 137).address()),
    ]:
        bad = dict(headers, **{name: value})
        with pytest.raises(AuthError) as err:
            verify_l1(bad, chain_id=137)
        assert err.value.status == 401 and err.value.message == L1_ERROR
    with pytest.raises(AuthError):
        verify_l1(dict(headers, POLY_SIGNATURE="0x1234"), chain_id=137)
    with pytest.raises(AuthError):
        verify_l1(headers, chain_id=80002)


def test_l2_accepts_sdk_hmac_and_rejects_bad_ones(keys):
    signer = Signer(KEY_A, 137)
    creds = keys.derive(signer.address(), 0)
    api = ApiCreds(creds.api_key, creds.secret, creds.passphrase)
    body = json.dumps({"orderID": "0xabc", "note": "it's"}, separators=(",", ":"))
    headers = create_level_2_headers(signer, api, RequestArgs("DELETE", "/order", None, body))
    assert verify_l2(headers, "DELETE", "/order", body, keys) == creds
    for method, path, sent in [
        ("POST", "/order", body),
        ("DELETE", "/orders", body),
        ("DELETE", "/order", body + " "),
    ]:
        with pytest.raises(AuthError) as err:
            verify_l2(headers, method, path, sent, keys)
        assert err.value.status == 401 and err.value.message == L2_ERROR
    for name, value in [
        ("POLY_PASSPHRASE", "x"),
        ("POLY_API_KEY", "nope"),
        ("POLY_ADDRESS", Signer(KEY_B, 137).address()),
    ]:
        with pytest.raises(AuthError):
            verify_l2(dict(headers, **{name: value}), "DELETE", "/order", body, keys)


def test_hmac_matches_sdk_recipe():
    from py_clob_client_v2.signing.hmac import build_hmac_signature

    secret = "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LTEyMzQ="
    assert hmac_signature(
        secret, "1767000000", "POST", "/order", '{"a":1}'
    ) == build_hmac_signature(secret, "1767000000", "POST", "/order", '{"a":1}')
    assert hmac_signature(secret, "1", "GET", "/data/orders") == build_hmac_signature(
        secret, "1", "GET", "/data/orders"
    )


def _signed_order(key, *, sig_type=0, funder=None, neg_risk=False):
    builder = OrderBuilder(signer=Signer(key, 137), signature_type=sig_type, funder=funder)
    signed = builder.build_order(
        OrderArgs(token_id=TOKEN, price=0.52, size=10, side="BUY"),
        CreateOrderOptions(tick_size="0.01", neg_risk=neg_risk),
        version=2,
    )
    return order_to_json_v2(signed, "owner", OrderType.GTC)["order"]


@pytest.mark.parametrize("sig_type", [0, 1, 2])
def test_order_signature_types_0_1_2(keys, sig_type):
    creds = keys.derive(Signer(KEY_A, 137).address(), 0)
    funder = None if sig_type == 0 else "0x" + "ab" * 20
    order = _signed_order(KEY_A, sig_type=sig_type, funder=funder, neg_risk=True)
    verify_order_signature(order, creds, neg_risk=True, chain_id=137)
    with pytest.raises(AuthError) as err:  # signed for the other exchange domain
        verify_order_signature(order, creds, neg_risk=False, chain_id=137)
    assert err.value.status == 400 and err.value.message == BAD_SIGNATURE_ERROR
    other = keys.derive(Signer(KEY_B, 137).address(), 0)
    with pytest.raises(AuthError) as err:
        verify_order_signature(order, other, neg_risk=True, chain_id=137)
    assert err.value.message == SIGNER_MISMATCH_ERROR
    tampered = dict(order, makerAmount=str(int(order["makerAmount"]) - 10000))
    with pytest.raises(AuthError) as err:
        verify_order_signature(tampered, creds, neg_risk=True, chain_id=137)
    assert err.value.message == BAD_SIGNATURE_ERROR


def test_order_signature_type_3_deposit_wallet(keys):
    """POLY_1271: signer is the deposit wallet; the ERC-7739 wrap must recover to the key's EOA."""
    wallet = "0x" + "cd" * 20
    creds = keys.derive(Signer(KEY_A, 137).address(), 0)
    order = _signed_order(KEY_A, sig_type=3, funder=wallet)
    assert order["signer"].lower() == wallet and len(order["signature"]) == 2 + 317 * 2
    verify_order_signature(order, creds, neg_risk=False, chain_id=137)
    other = keys.derive(Signer(KEY_B, 137).address(), 0)
    with pytest.raises(AuthError) as err:
        verify_order_signature(order, other, neg_risk=False, chain_id=137)
    assert err.value.message == SIGNER_MISMATCH_ERROR
    with pytest.raises(AuthError) as err:  # wrapper bound to another order
        verify_order_signature(dict(order, takerAmount="1"), creds, neg_risk=False, chain_id=137)
    assert err.value.message == BAD_SIGNATURE_ERROR
