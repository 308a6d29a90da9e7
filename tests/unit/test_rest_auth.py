"""L2 headers must be byte-identical to py_clob_client_v2's for the same inputs; creds never leak
in repr."""

import base64
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from py_clob_client_v2.clob_types import ApiCreds as SdkCreds
from py_clob_client_v2.clob_types import RequestArgs
from py_clob_client_v2.headers.headers import create_level_2_headers

from pmbot.venue.auth import ApiCreds, l2_headers

ADDRESS = "0x1111111111111111111111111111111111111111"


class _FakeSdkSigner:
    def address(self):
        return ADDRESS


def _secret(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode()


@settings(max_examples=60, deadline=None)
@given(
    raw_secret=st.binary(min_size=16, max_size=48),
    timestamp=st.integers(min_value=1_600_000_000, max_value=2_000_000_000),
    method=st.sampled_from(["GET", "POST", "DELETE"]),
    path=st.sampled_from(["/order", "/orders", "/data/orders", "/cancel-all", "/v1/heartbeats"]),
    body=st.one_of(
        st.none(),
        st.lists(st.text(min_size=1, max_size=12), max_size=4).map(
            lambda ids: json.dumps(ids, separators=(",", ":"), ensure_ascii=False)
        ),
    ),
)
def test_l2_headers_equal_the_sdk(raw_secret, timestamp, method, path, body):
    secret = _secret(raw_secret)
    ours = l2_headers(ApiCreds("key-1", secret, "pass-1"), ADDRESS, method, path, body, timestamp)
    sdk = create_level_2_headers(
        _FakeSdkSigner(),
        SdkCreds(api_key="key-1", api_secret=secret, api_passphrase="pass-1"),
        RequestArgs(method=method, request_path=path, body=None, serialized_body=body),
        timestamp=timestamp,
    )
    assert ours == sdk


def test_l2_headers_refuse_a_path_with_query_string():
    with pytest.raises(ValueError):
        l2_headers(
            ApiCreds("k", _secret(b"x" * 32), "p"), ADDRESS, "GET", "/data/orders?market=1", None, 1
        )


def test_creds_repr_masks_secret_and_passphrase():
    creds = ApiCreds("visible-key", "SUPERSECRET", "PASSPHRASE123")
    for text in (repr(creds), str(creds), repr([creds])):
        assert "visible-key" in text
        assert "SUPERSECRET" not in text and "PASSPHRASE123" not in text
