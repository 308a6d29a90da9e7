"""The ``doctor`` command: parse the flags, run the checks in order, print, choose the exit code."""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from typing import TextIO

from pmbot import eip712
from pmbot.config import Config, load_config
from pmbot.doctor import account, market_checks
from pmbot.doctor.livetest import run_livetest
from pmbot.doctor.probe import check_url
from pmbot.doctor.report import Report, failed, passed, skipped, warned
from pmbot.errors import ConfigError, FatalError
from pmbot.keys import KeyLoadError, load_signing_key
from pmbot.lockfile import WalletLock
from pmbot.model import MarketInfo
from pmbot.venue import markets as venue_markets
from pmbot.venue.rest import ClobRest
from pmbot.venue.signer import OrderSigner

# the repository's config.yaml, as bot.py's default (not imported from pmbot.app: no cycle)
DEFAULT_CONFIG = os.path.join(
    os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "config.yaml"
)


def _parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="bot.py doctor", description=__doc__)
    p.add_argument("--config", default=DEFAULT_CONFIG, help="path to the YAML config")
    p.add_argument("--mode", choices=("sim", "paper", "live"), help="override the config's mode")
    p.add_argument(
        "--livetest",
        action="store_true",
        help="also place one post-only BUY at the lowest price, then cancel it and verify",
    )
    return p.parse_args(argv)


def _key(cfg: Config, report: Report) -> str | None:
    if cfg.mode == "sim" and not os.environ.get(cfg.wallet.private_key_env or "", ""):
        return "0x" + os.urandom(32).hex()  # the bot uses a throw-away wallet in sim mode too
    try:
        key = load_signing_key(cfg.wallet)
    except KeyLoadError as exc:
        report.add(failed("private key", str(exc), f"fix {exc.config_key}"))
        return None
    report.add(passed("private key", f"signer address {eip712.address_of(key)}"))
    return key


def _reach(cfg: Config, report: Report) -> bool:
    v = cfg.venue
    clob = report.add(check_url("venue.clob_url", v.clob_url, "/time"))
    for key, url in (
        ("venue.market_ws_url", v.market_ws_url),
        ("venue.user_ws_url", v.user_ws_url),
        ("venue.data_api_url", v.data_api_url),
        ("venue.gamma_url", v.gamma_url),
    ):
        report.add(check_url(key, url, None))
    return clob.level == "pass"


def _markets(cfg: Config, rest: ClobRest, report: Report) -> list[MarketInfo]:
    found = []
    for i in range(len(cfg.markets)):
        result, m = market_checks.check_market(cfg, rest, i)
        report.add(result)
        if m is not None:
            found.append(m)
    if not cfg.markets:
        if cfg.mode in ("live", "paper"):
            report.add(failed("markets", "none configured", "add markets to the config"))
        else:
            report.add(skipped("markets", "none configured: sim mode trades the sim's markets"))
    if found:
        report.add(market_checks.check_books(cfg, found))
    return found


def _account(
    cfg: Config, report: Report, markets: list[MarketInfo], livetest: bool, rest: ClobRest
) -> None:
    key = _key(cfg, report)
    if key is None:
        return
    address = eip712.address_of(key)
    funder_ok = report.add(account.check_funder(cfg, address)).level == "pass"
    result, creds = account.derive(cfg, key, address, cfg.venue.clob_url)
    report.add(result)
    if creds is None:
        return
    priv = ClobRest(cfg.venue.clob_url, creds=creds, address=creds.address or address)
    funder = cfg.wallet.funder or address
    report.extend(account.check_balance(cfg, priv, funder, len(markets)))
    if markets:
        report.add(account.check_token_approval(cfg, priv, markets[0].yes_token))
    report.add(market_checks.check_user_channel(cfg, creds))
    lock = WalletLock(cfg.resolved_state_dir, funder)
    try:
        lock.acquire()  # a running bot holds it: the heartbeat and the live test would disturb it
    except FatalError as exc:
        report.add(
            warned("wallet lock", str(exc), "stop that bot to run the heartbeat and live checks")
        )
        return
    except OSError as exc:
        report.add(
            warned("wallet lock", f"cannot check: {exc.strerror}", "run doctor as the bot's user")
        )
    try:
        report.add(account.check_heartbeat(priv))
        if livetest:
            _livetest(cfg, report, key, priv, creds, rest, funder_ok)
    finally:
        lock.release()


def _livetest(cfg, report, key, priv, creds, rest, funder_ok) -> None:
    found = [market_checks.check_market(cfg, rest, i)[1] for i in range(len(cfg.markets))]
    markets = [m for m in found if m is not None]
    if not cfg.markets and cfg.mode == "sim":
        markets = [m for m in venue_markets.list_clob_markets(rest) if not m.neg_risk]
    if not markets or not funder_ok:
        why = "no market to test on" if not markets else "the wallet settings are wrong"
        report.add(failed("livetest", f"not run: {why}", "fix the failures above first"))
        return
    w = cfg.wallet
    signer = OrderSigner(
        key,
        chain_id=cfg.venue.chain_id,
        signature_type=w.signature_type,
        funder=w.funder or None,
        deposit_signature=w.deposit_signature,
    )
    report.add(run_livetest(cfg, priv, signer, creds, markets[0]))


def run(cfg: Config, livetest: bool, out: TextIO) -> int:
    report = Report(out)
    report.add(passed("config", f"valid, mode {cfg.mode}"))
    sim = None
    if cfg.mode == "sim":
        from pmbot.sim import SimServer

        sim = SimServer(chain_id=cfg.venue.chain_id)
        sim.start()
        cfg = dataclasses.replace(cfg, venue=cfg.venue.at_local(sim.urls))
        report.add(
            passed("sim", f"checking against the bundled simulator at {sim.urls['clob_url']}")
        )
    try:
        report.add(account.check_chain(cfg))
        if not _reach(cfg, report):
            report.add(skipped("venue checks", "skipped: the CLOB is unreachable"))
            return report.exit_code()
        rest = ClobRest(cfg.venue.clob_url, creds=None, address="")
        markets = _markets(cfg, rest, report)
        if cfg.mode == "paper":
            report.add(skipped("account", "paper mode: orders go to the local exchange"))
        else:
            _account(cfg, report, markets, livetest, rest)
    finally:
        if sim is not None:
            sim.stop()
    out.write(f"doctor: {report.failures} check(s) failed\n")
    return report.exit_code()


def main(argv: list[str]) -> int:
    args = _parse(argv)
    try:
        cfg = load_config(args.config, mode_override=args.mode)
    except ConfigError as exc:
        print(f"FAIL config: {exc}", file=sys.stderr)
        return 2
    return run(cfg, args.livetest, sys.stdout)
