"""CLOB API credentials and L2 (HMAC) request headers.

API keys are derived once at start-up with L1 auth (an EIP-712 ``ClobAuth`` signature by the EOA);
``py_clob_client_v2`` does that part. Every private request then carries five ``POLY_*`` headers
whose signature is an HMAC-SHA256 over ``timestamp + METHOD + path + body``:

- ``path`` is the request path WITHOUT the query string (``/data/orders``, not
  ``/data/orders?market=..``);
- ``body`` is the exact string sent (compact JSON), so the caller must sign what it sends;
- the secret is URL-safe base64 and so is the signature (padding kept).

Venue quirk copied from the SDK: single quotes in the body are replaced by double quotes before
hashing (a leftover from signing ``str(dict)``). Compact JSON never contains single quotes outside
strings, so this only matters for byte-identity with the SDK.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
from dataclasses import dataclass, field

from pmbot.errors import FatalError, TransientError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ApiCreds:
    """L2 credentials. ``repr`` masks the secret and the passphrase so they never reach logs.
    ``address``: the address the key is bound to ("" = the EOA; a deposit wallet for type 3)."""

    api_key: str
    secret: str = field(repr=False)
    passphrase: str = field(repr=False)
    address: str = ""

    def __repr__(self) -> str:
        return f"ApiCreds(api_key={self.api_key!r}, secret='***', passphrase='***')"

    __str__ = __repr__


def hmac_signature(
    secret: str, timestamp: int | str, method: str, path: str, body: str | None
) -> str:
    """The venue's HMAC recipe (protocol reference 1.3)."""
    key = base64.urlsafe_b64decode(secret)
    message = f"{timestamp}{method}{path}"
    if body:
        message += body.replace("'", '"')
    digest = hmac.new(key, message.encode("utf-8"), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode("utf-8")


def l2_headers(
    creds: ApiCreds, address: str, method: str, path: str, body: str | None, timestamp: int
) -> dict:
    """Headers for one private request. ``path`` excludes the query string; ``body`` is the exact
    text sent."""
    if "?" in path:
        raise ValueError("sign the path without its query string")
    return {
        "POLY_ADDRESS": address,
        "POLY_SIGNATURE": hmac_signature(creds.secret, timestamp, method.upper(), path, body),
        "POLY_TIMESTAMP": str(int(timestamp)),
        "POLY_API_KEY": creds.api_key,
        "POLY_PASSPHRASE": creds.passphrase,
    }


def derive_api_creds(clob_url: str, private_key: str, chain_id: int, *, nonce: int = 0) -> ApiCreds:
    """Create (or re-derive) the API key of this wallet with L1 auth through ``py_clob_client_v2``.

    Errors are classified: a network failure or 5xx is transient (the caller may retry); anything
    else (bad key, 401 on L1 headers) is fatal. The private key never appears in the raised message.
    """
    from py_clob_client_v2.client import ClobClient
    from py_clob_client_v2.exceptions import PolyApiException

    try:
        client = ClobClient(clob_url, chain_id=chain_id, key=private_key)
    except Exception as exc:  # the SDK raises plain ValueError/other on a malformed key
        raise FatalError(f"cannot use the configured private key: {type(exc).__name__}") from None
    try:
        raw = client.create_or_derive_api_key(nonce=nonce)
    except PolyApiException as exc:
        status = getattr(exc, "status_code", None)
        if status is None:  # the SDK's way of saying it got no HTTP answer at all
            raise TransientError(
                f"API key derivation failed: no answer from venue.clob_url {clob_url}"
            ) from None
        if status >= 500 or status in (425, 429):
            raise TransientError(
                f"API key derivation failed: HTTP {status}", status=status
            ) from None
        hint = f" (check venue.chain_id {chain_id} and the clock)" if status == 401 else ""
        raise FatalError(
            f"API key derivation refused: HTTP {status} {getattr(exc, 'error_msg', '')}{hint}"
        ) from None
    except (OSError, ConnectionError) as exc:
        raise TransientError(f"API key derivation failed: {type(exc).__name__}") from None
    except Exception as exc:  # httpx errors and the like
        raise TransientError(f"API key derivation failed: {type(exc).__name__}") from None
    if not getattr(raw, "api_key", ""):
        raise FatalError("API key derivation returned no key")
    log.info("derived API key %s for nonce %d", raw.api_key, nonce)
    return ApiCreds(api_key=raw.api_key, secret=raw.api_secret, passphrase=raw.api_passphrase)
