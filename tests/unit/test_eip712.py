"""pmbot.eip712 against known vectors and against py_clob_client_v2 / eth_account (the
reference)."""

from __future__ import annotations

import pytest
from eth_account import Account
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from py_clob_client_v2.order_utils.exchange_order_builder_v2 import ExchangeOrderBuilderV2
from py_clob_client_v2.order_utils.model.order_data_v2 import OrderDataV2, order_to_json_v2
from py_clob_client_v2.order_utils.model.side import Side as SdkSide
from py_clob_client_v2.signer import Signer as SdkSigner
from py_clob_client_v2.signing.eip712 import sign_clob_auth_message

from pmbot import eip712

KEY = "0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"
KEY_ADDRESS = "0x2c7536E3605D9C16a7a3D7b1898e529396a65c23"  # eth_account documentation vector
WALLET = "0x8ba1f109551bD432803012645Ac136ddd64DBA72"  # EIP-55 checksummed
SDK_SIGNER = SdkSigner(KEY, 137)

uint256 = st.integers(min_value=0, max_value=2**256 - 1)
addresses = st.binary(min_size=20, max_size=20).map(
    lambda b: eip712.checksum_address("0x" + b.hex())
)
bytes32_hex = st.binary(min_size=32, max_size=32).map(lambda b: "0x" + b.hex())


def sdk_signed_order(
    *,
    neg_risk,
    sig_type,
    salt,
    maker,
    token_id,
    maker_amount,
    taker_amount,
    side,
    ts,
    metadata="0x" + "00" * 32,
    builder="0x" + "00" * 32,
    chain_id=137,
):
    """The wire order py_clob_client_v2's exchange order builder produces (fixed salt, no
    network)."""
    contract = eip712.exchange_address(neg_risk)
    signer = SDK_SIGNER if chain_id == 137 else SdkSigner(KEY, chain_id)
    builder_obj = ExchangeOrderBuilderV2(
        contract, chain_id, signer, generate_salt=lambda: str(salt)
    )
    data = OrderDataV2(
        maker=maker,
        tokenId=str(token_id),
        makerAmount=str(maker_amount),
        takerAmount=str(taker_amount),
        side=SdkSide.BUY if side == "BUY" else SdkSide.SELL,
        signer=maker if sig_type == 3 else signer.address(),
        signatureType=sig_type,
        timestamp=str(ts),
        metadata=metadata,
        builder=builder,
    )
    signed = builder_obj.build_signed_order(data)
    typed = builder_obj.build_order_typed_data(builder_obj.build_order(data))
    return order_to_json_v2(signed, "api-key", "GTC")["order"], builder_obj.build_order_hash(typed)


# --------------------------------------------------------------------------- primitives


def test_keccak256_is_ethereum_keccak_not_sha3():
    assert (
        eip712.keccak256(b"").hex()
        == "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"
    )


@pytest.mark.parametrize(
    "addr",
    [
        "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
        "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
        "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
        "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
    ],
)
def test_checksum_address_matches_eip55_vectors(addr):
    assert eip712.checksum_address(addr.lower()) == addr
    assert eip712.checksum_address(addr.upper().replace("0X", "0x")) == addr


@pytest.mark.parametrize(
    "bad", ["", "0x", "0x1234", "5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", "0x" + "zz" * 20, None]
)
def test_checksum_address_rejects_malformed(bad):
    with pytest.raises(ValueError):
        eip712.checksum_address(bad)


def test_address_of_known_key():
    assert eip712.address_of(KEY) == KEY_ADDRESS
    assert eip712.address_of(bytes.fromhex(KEY[2:])) == KEY_ADDRESS
    assert eip712.address_of(KEY[2:]) == KEY_ADDRESS


@pytest.mark.parametrize(
    "bad", ["0x" + "00" * 32, "0x" + "ff" * 32, "0x1234", "0x" + "gg" * 32, b"\x01" * 31]
)
def test_invalid_private_keys_rejected_without_echoing_them(bad):
    with pytest.raises(ValueError) as info:
        eip712.address_of(bad)
    if isinstance(bad, str) and len(bad) > 10:
        assert bad[2:] not in str(info.value)


def test_exchange_domain_separators_differ_by_exchange_and_chain():
    a = eip712.exchange_domain_separator(neg_risk=False)
    b = eip712.exchange_domain_separator(neg_risk=True)
    c = eip712.exchange_domain_separator(neg_risk=False, chain_id=80002)
    assert len({a, b, c}) == 3
    assert a == ExchangeOrderBuilderV2(eip712.CTF_EXCHANGE_V2, 137, SDK_SIGNER).app_domain_separator
    assert (
        b
        == ExchangeOrderBuilderV2(
            eip712.NEG_RISK_CTF_EXCHANGE_V2, 137, SDK_SIGNER
        ).app_domain_separator
    )


@settings(max_examples=100, deadline=None)
@given(digest=st.binary(min_size=32, max_size=32))
def test_sign_digest_equals_eth_account_and_recovers(digest):
    ours = eip712.sign_digest(KEY, digest)
    ref = Account._sign_hash(digest, private_key=KEY).signature.hex()
    assert ours == "0x" + ref.removeprefix("0x")
    assert eip712.recover_digest_signer(digest, ours) == KEY_ADDRESS


def test_high_s_signature_is_rejected():
    digest = eip712.keccak256(b"x")
    sig = bytes.fromhex(eip712.sign_digest(KEY, digest)[2:])
    r, s, v = sig[:32], int.from_bytes(sig[32:64], "big"), sig[64]
    n = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
    malleable = r + (n - s).to_bytes(32, "big") + bytes((55 - v,))  # same point, flipped parity
    with pytest.raises(ValueError):
        eip712.recover_digest_signer(digest, "0x" + malleable.hex())


@pytest.mark.parametrize(
    "bad", ["0x", "0x" + "00" * 65, "0x" + "11" * 64, "nothex", "0x" + "11" * 64 + "1d"]
)
def test_recover_rejects_malformed_signatures(bad):
    with pytest.raises(ValueError):
        eip712.recover_digest_signer(b"\x01" * 32, bad)


# --------------------------------------------------------------------------- orders vs the SDK


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    neg_risk=st.booleans(),
    sig_type=st.sampled_from([0, 1, 2, 3]),
    salt=st.integers(min_value=0, max_value=2**64),
    funder=addresses,
    token_id=uint256,
    maker_amount=st.integers(min_value=0, max_value=10**15),
    taker_amount=st.integers(min_value=0, max_value=10**15),
    side=st.sampled_from(["BUY", "SELL"]),
    ts=st.integers(min_value=1, max_value=2**48),
    metadata=bytes32_hex,
    builder=bytes32_hex,
)
def test_order_digest_and_signature_equal_sdk(
    neg_risk,
    sig_type,
    salt,
    funder,
    token_id,
    maker_amount,
    taker_amount,
    side,
    ts,
    metadata,
    builder,
):
    maker = KEY_ADDRESS if sig_type == 0 else funder
    wire, sdk_hash = sdk_signed_order(
        neg_risk=neg_risk,
        sig_type=sig_type,
        salt=salt,
        maker=maker,
        token_id=token_id,
        maker_amount=maker_amount,
        taker_amount=taker_amount,
        side=side,
        ts=ts,
        metadata=metadata,
        builder=builder,
    )
    digest = eip712.order_digest(wire, neg_risk=neg_risk)
    assert "0x" + digest.hex() == sdk_hash
    if sig_type == 3:
        contents = eip712.order_struct_hash(wire)
        ours = eip712.poly_1271_wrap(
            KEY, contents, bytes.fromhex(wire["signer"][2:]), neg_risk=neg_risk
        )
        assert len(bytes.fromhex(ours[2:])) == 317
    else:
        ours = eip712.sign_digest(KEY, digest)
    assert ours == wire["signature"]
    assert eip712.recover_order_signer(wire, neg_risk=neg_risk) == KEY_ADDRESS


def test_order_digest_accepts_numeric_side_and_int_strings_identically():
    wire, _ = sdk_signed_order(
        neg_risk=False,
        sig_type=0,
        salt=7,
        maker=KEY_ADDRESS,
        token_id=123,
        maker_amount=5200000,
        taker_amount=10000000,
        side="SELL",
        ts=1767000000123,
    )
    alt = dict(wire, side=1, salt="7", tokenId=123, makerAmount=5200000, timestamp=1767000000123)
    assert eip712.order_digest(alt, neg_risk=False) == eip712.order_digest(wire, neg_risk=False)


def test_expiration_is_not_signed():
    wire, _ = sdk_signed_order(
        neg_risk=False,
        sig_type=0,
        salt=7,
        maker=KEY_ADDRESS,
        token_id=123,
        maker_amount=5200000,
        taker_amount=10000000,
        side="BUY",
        ts=1767000000123,
    )
    assert eip712.order_digest(
        dict(wire, expiration="1999999999"), neg_risk=False
    ) == eip712.order_digest(wire, neg_risk=False)


def test_order_on_other_chain_matches_sdk():
    wire, sdk_hash = sdk_signed_order(
        neg_risk=True,
        sig_type=2,
        salt=99,
        maker=WALLET,
        token_id=5,
        maker_amount=1,
        taker_amount=2,
        side="BUY",
        ts=3,
        chain_id=80002,
    )
    assert "0x" + eip712.order_digest(wire, neg_risk=True, chain_id=80002).hex() == sdk_hash
    assert eip712.recover_order_signer(wire, neg_risk=True, chain_id=80002) == KEY_ADDRESS


@pytest.mark.parametrize(
    "field,value",
    [
        ("makerAmount", "5200001"),
        ("tokenId", "124"),
        ("side", "SELL"),
        ("salt", 8),
        ("maker", KEY_ADDRESS),
    ],
)
def test_tampered_order_does_not_recover_the_signer(field, value):
    wire, _ = sdk_signed_order(
        neg_risk=False,
        sig_type=2,
        salt=7,
        maker=WALLET,
        token_id=123,
        maker_amount=5200000,
        taker_amount=10000000,
        side="BUY",
        ts=1767000000123,
    )
    assert eip712.recover_order_signer(wire, neg_risk=False) == KEY_ADDRESS
    assert eip712.recover_order_signer(dict(wire, **{field: value}), neg_risk=False) != KEY_ADDRESS
    assert eip712.recover_order_signer(wire, neg_risk=True) != KEY_ADDRESS  # other exchange


def _type3_wire(neg_risk=False):
    wire, _ = sdk_signed_order(
        neg_risk=neg_risk,
        sig_type=3,
        salt=7,
        maker=WALLET,
        token_id=123,
        maker_amount=5200000,
        taker_amount=10000000,
        side="BUY",
        ts=1767000000123,
    )
    return wire


def test_poly_1271_wrapper_layout_and_owner_recovery():
    wire = _type3_wire()
    raw = bytes.fromhex(wire["signature"][2:])
    assert wire["signer"] == WALLET and wire["maker"] == WALLET
    assert len(raw) == 317
    assert raw[65:97] == eip712.exchange_domain_separator(neg_risk=False)
    assert raw[97:129] == eip712.order_struct_hash(wire)
    assert raw[129:-2] == eip712.ORDER_TYPE_STRING.encode()
    assert int.from_bytes(raw[-2:], "big") == len(eip712.ORDER_TYPE_STRING)
    assert eip712.recover_order_signer(wire, neg_risk=False) == KEY_ADDRESS


def test_poly_1271_wrapper_rejected_for_other_exchange_other_order_or_bad_length():
    wire = _type3_wire()
    with pytest.raises(ValueError, match="exchange domain"):
        eip712.recover_order_signer(wire, neg_risk=True)
    with pytest.raises(ValueError, match="another order"):
        eip712.recover_order_signer(dict(wire, makerAmount="1"), neg_risk=False)
    with pytest.raises(ValueError, match="317"):
        eip712.recover_order_signer(dict(wire, signature=wire["signature"][:-2]), neg_risk=False)
    tail_changed = wire["signature"][:-10] + "00000000" + wire["signature"][-2:]
    with pytest.raises(ValueError, match="contents type"):
        eip712.recover_order_signer(dict(wire, signature=tail_changed), neg_risk=False)


def test_poly_1271_wrapper_bound_to_the_deposit_wallet():
    """Re-pointing a valid wrapper at another wallet changes the TypedDataSign digest."""
    wire = _type3_wire()
    other = dict(wire, signer="0x" + "ab" * 20)
    raw = bytes.fromhex(wire["signature"][2:])
    patched = raw[:97] + eip712.order_struct_hash(other) + raw[129:]
    assert (
        eip712.recover_order_signer(dict(other, signature="0x" + patched.hex()), neg_risk=False)
        != KEY_ADDRESS
    )


@pytest.mark.parametrize(
    "field,value",
    [
        ("salt", -1),
        ("salt", "1.5"),
        ("salt", "0x10"),
        ("salt", 2**256),
        ("salt", True),
        ("salt", 1.0),
        ("maker", "0x1234"),
        ("maker", 12),
        ("signer", "0x" + "gg" * 20),
        ("tokenId", ""),
        ("makerAmount", "-5"),
        ("takerAmount", None),
        ("side", "HOLD"),
        ("side", 2),
        ("signatureType", 256),
        ("signatureType", "0"),
        ("timestamp", "12a"),
        ("metadata", "0x" + "00" * 33),
        ("builder", "nothex"),
    ],
)
def test_malformed_order_fields_raise_value_error(field, value):
    wire = _type3_wire()
    with pytest.raises(ValueError):
        eip712.order_digest(dict(wire, **{field: value}), neg_risk=False)


def test_missing_order_field_raises_key_error():
    wire = _type3_wire()
    del wire["builder"]
    with pytest.raises(KeyError):
        eip712.order_digest(wire, neg_risk=False)


@pytest.mark.parametrize("sig_type", [4, -1, "0", True])
def test_recover_rejects_unknown_signature_types(sig_type):
    wire = dict(_type3_wire(), signatureType=sig_type)
    with pytest.raises(ValueError):
        eip712.recover_order_signer(wire, neg_risk=False)


# --------------------------------------------------------------------------- ClobAuth (L1)


@settings(max_examples=60, deadline=None)
@given(
    ts=st.integers(min_value=0, max_value=2**40), nonce=st.integers(min_value=0, max_value=2**64)
)
def test_clob_auth_signature_equals_sdk_l1_header(ts, nonce):
    ref = sign_clob_auth_message(SDK_SIGNER, ts, nonce)
    ours = eip712.sign_clob_auth(KEY, KEY_ADDRESS, str(ts), nonce)
    assert ours == ref
    assert eip712.recover_clob_auth_signer(KEY_ADDRESS, str(ts), nonce, ours) == KEY_ADDRESS


def test_clob_auth_signature_is_bound_to_timestamp_nonce_and_chain():
    sig = eip712.sign_clob_auth(KEY, KEY_ADDRESS, "1700000000", 0)
    assert eip712.recover_clob_auth_signer(KEY_ADDRESS, "1700000001", 0, sig) != KEY_ADDRESS
    assert eip712.recover_clob_auth_signer(KEY_ADDRESS, "1700000000", 1, sig) != KEY_ADDRESS
    assert (
        eip712.recover_clob_auth_signer(KEY_ADDRESS, "1700000000", 0, sig, chain_id=80002)
        != KEY_ADDRESS
    )
    assert eip712.sign_clob_auth(
        KEY, KEY_ADDRESS, "1700000000", 0, chain_id=80002
    ) == sign_clob_auth_message(SdkSigner(KEY, 80002), 1700000000, 0)


junk = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**300), max_value=2**300),
    st.floats(allow_nan=True),
    st.text(max_size=80),
    st.binary(max_size=80),
    st.lists(st.integers(), max_size=3),
    st.sampled_from(
        [
            "0x",
            "0x" + "00" * 20,
            "0x" + "ff" * 32,
            "BUY",
            "SELL",
            "115792089237316195423570985008687907853269984665640564039457584007913129639936",
        ]
    ),
)


@settings(max_examples=300, deadline=None)
@given(
    overrides=st.dictionaries(
        st.sampled_from(
            [
                "salt",
                "maker",
                "signer",
                "tokenId",
                "makerAmount",
                "takerAmount",
                "side",
                "signatureType",
                "timestamp",
                "metadata",
                "builder",
                "signature",
            ]
        ),
        junk,
        min_size=1,
        max_size=4,
    ),
    drop=st.sampled_from([None, "salt", "signature", "side"]),
    neg_risk=st.booleans(),
)
def test_garbage_orders_only_raise_value_key_or_type_errors(overrides, drop, neg_risk):
    """The simulator feeds untrusted JSON straight in: only the documented error classes may
    escape."""
    order = dict(_type3_wire(), **overrides)
    if drop:
        order.pop(drop, None)
    for fn in (eip712.order_digest, eip712.recover_order_signer):
        try:
            fn(order, neg_risk=neg_risk)
        except (ValueError, KeyError, TypeError):
            pass


@settings(max_examples=100, deadline=None)
@given(address=junk, timestamp=junk, nonce=junk, signature=junk)
def test_garbage_clob_auth_only_raises_value_or_type_errors(address, timestamp, nonce, signature):
    try:
        eip712.recover_clob_auth_signer(address, timestamp, nonce, signature)
    except (ValueError, TypeError):
        pass
