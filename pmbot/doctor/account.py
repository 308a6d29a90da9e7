"""Account checks: the key and its address, wallet type vs funder, the API key and the address it
is bound to, chain id, pUSD balance and allowances, the heartbeat endpoint."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from urllib.parse import urlsplit

from pmbot import eip712
from pmbot.config import Config
from pmbot.doctor.fixes import fix_for
from pmbot.doctor.report import Result, failed, passed, warned
from pmbot.errors import PmbotError
from pmbot.venue.auth import ApiCreds, derive_api_creds
from pmbot.venue.deposit_wallet import DepositWalletL1Refused, derive_wallet_bound_creds
from pmbot.venue.rest import ClobRest
from pmbot.venue.wire_clob import ClobWireError, parse_balance_allowance

POLYGON = 137
_TYPE_NAMES = {0: "EOA", 1: "Polymarket proxy", 2: "Gnosis Safe", 3: "deposit wallet"}


@dataclass(frozen=True, slots=True)
class Account:
    """What the later checks need once the key and the API key are known."""

    address: str  # the EOA
    funder: str
    creds: ApiCreds | None


def check_chain(cfg: Config) -> Result:
    host = (urlsplit(cfg.venue.clob_url).hostname or "").lower()
    chain = cfg.venue.chain_id
    if host.endswith("polymarket.com") and chain != POLYGON:
        return failed(
            "chain_id",
            f"venue.chain_id is {chain} but {host} is Polymarket on Polygon ({POLYGON})",
            f"set venue.chain_id: {POLYGON}",
        )
    return passed("chain_id", f"venue.chain_id {chain} (confirmed by L1 auth below)")


def check_funder(cfg: Config, address: str) -> Result:
    """Wallet type vs funder: type 0 trades from the EOA; 1/2/3 need a funder that is not it."""
    t = cfg.wallet.signature_type
    raw = cfg.wallet.funder
    name = f"wallet type {t} ({_TYPE_NAMES[t]}) vs funder"
    try:
        funder = eip712.checksum_address(raw) if raw else ""
    except ValueError:
        return failed(name, f"wallet.funder {raw!r} is not an address", "fix wallet.funder")
    if t == 0:
        if funder and funder != address:
            return failed(
                name,
                f"type 0 trades from the key's own address {address}, not {funder}",
                "remove wallet.funder, or set wallet.signature_type to the type of that wallet",
            )
        return passed(name, f"funds and orders at the EOA {address}")
    if not funder:
        return failed(
            name,
            f"type {t} needs wallet.funder (the {_TYPE_NAMES[t]} holding the funds)",
            "set wallet.funder to the address shown as your Polymarket profile/deposit address",
        )
    if funder == address:
        return failed(
            name,
            f"wallet.funder is the key's own address (an EOA), which is type 0, not type {t}",
            f"set wallet.funder to your {_TYPE_NAMES[t]} address, or wallet.signature_type: 0",
        )
    return passed(name, f"funds at {funder}, orders signed by {address}")


def derive(cfg: Config, key: str, address: str, clob_url: str) -> tuple[Result, ApiCreds | None]:
    """The API key, as the bot derives it; the result names the address it is bound to."""
    name = "API key"
    w = cfg.wallet
    if w.signature_type == eip712.POLY_1271 and w.funder:
        try:
            creds = derive_wallet_bound_creds(
                clob_url,
                key,
                w.funder,
                w.deposit_signature,
                cfg.venue.chain_id,
                nonce=w.api_key_nonce,
            )
            return passed(name, f"{creds.api_key} bound to the deposit wallet {w.funder}"), creds
        except DepositWalletL1Refused as exc:
            refused = str(exc)
        except PmbotError as exc:
            return failed(name, str(exc), f"check venue.clob_url ({clob_url})"), None
    else:
        refused = ""
    try:
        eoa = derive_api_creds(clob_url, key, cfg.venue.chain_id, nonce=w.api_key_nonce)
    except PmbotError as exc:
        text = str(exc)
        fix = (
            fix_for(text) if "401" in text or "L1" in text else f"check venue.clob_url ({clob_url})"
        )
        return failed(name, text, fix), None
    creds = ApiCreds(eoa.api_key, eoa.secret, eoa.passphrase, address=address.lower())
    if refused:
        return (
            warned(
                name,
                f"{creds.api_key} bound to the EOA {address}; {refused}",
                "type-3 orders pass only if the venue maps the deposit wallet to this EOA: run "
                "doctor --livetest; if refused, ask Polymarket support to enable API trading",
            ),
            creds,
        )
    return passed(name, f"{creds.api_key} bound to {address}"), creds


def needed_collateral(cfg: Config, markets: int) -> Decimal:
    """An upper bound of the pUSD the configured BUY quotes can lock at once (price < 1)."""
    s = cfg.strategy
    return s.order_size * s.ladder_levels * 2 * max(markets, 1)


def check_balance(cfg: Config, rest: ClobRest, funder: str, markets: int) -> list[Result]:
    """``GET /balance-allowance`` for pUSD: balance, then each exchange's allowance."""
    params = {"asset_type": "COLLATERAL", "signature_type": cfg.wallet.signature_type}
    try:
        body = rest._request(
            "GET", "/balance-allowance", params=params, private=True, endpoint="balance_allowance"
        )
        ba = parse_balance_allowance(body)
    except (PmbotError, ClobWireError) as exc:
        return [failed("pUSD balance", str(exc), fix_for(str(exc)))]
    out: list[Result] = []
    need = needed_collateral(cfg, markets)
    if ba.balance <= 0:
        out.append(failed("pUSD balance", f"{funder} holds 0 pUSD", f"deposit pUSD to {funder}"))
    elif ba.balance < need:
        out.append(
            warned(
                "pUSD balance",
                f"{funder} holds {ba.balance} pUSD; the configured quotes can lock up to {need}",
                "deposit more, or lower strategy.order_size / ladder_levels or the markets",
            )
        )
    else:
        out.append(
            passed("pUSD balance", f"{funder} holds {ba.balance} pUSD (quotes need <= {need})")
        )
    zero = [spender or "exchange" for spender, amount in ba.allowances if amount <= 0]
    if zero:
        out.append(
            failed(
                "pUSD allowance",
                f"no allowance for {', '.join(zero)}",
                "approve pUSD for both V2 exchanges (polymarket.com does it on the first deposit)",
            )
        )
    else:
        out.append(passed("pUSD allowance", f"{len(ba.allowances)} spender(s) approved"))
    return out


def check_token_approval(cfg: Config, rest: ClobRest, token_id: str) -> Result:
    """Outcome-token approval (CTF ``setApprovalForAll``) as ``/balance-allowance`` reports it
    for ``asset_type=CONDITIONAL``; needed to sell shares."""
    params = {
        "asset_type": "CONDITIONAL",
        "token_id": token_id,
        "signature_type": cfg.wallet.signature_type,
    }
    name = "outcome-token approval"
    try:
        body = rest._request(
            "GET", "/balance-allowance", params=params, private=True, endpoint="balance_allowance"
        )
        ba = parse_balance_allowance(body)
    except (PmbotError, ClobWireError) as exc:
        return failed(name, str(exc), fix_for(str(exc)))
    if any(amount <= 0 for _, amount in ba.allowances):
        return failed(
            name,
            "the exchanges may not move the outcome tokens",
            "approve the CTF tokens for both V2 exchanges (setApprovalForAll), or trade once on "
            "polymarket.com, which does it",
        )
    return passed(name, f"approved (token {token_id[:12]}...)")


def check_heartbeat(rest: ClobRest) -> Result:
    try:
        rest.heartbeat("")
    except PmbotError as exc:
        return failed("heartbeat endpoint", str(exc), fix_for(str(exc)))
    return passed("heartbeat endpoint", "POST /v1/heartbeats answers")
