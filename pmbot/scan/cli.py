"""``python bot.py scan``: argument parsing and wiring. Reads the venue URLs from the config; in sim
mode (the default config) it starts the bundled simulator, as the bot does, and scans that.
Exit codes: 0 done, 1 the venue answered with an error (printed, no traceback), 2 bad config."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from decimal import Decimal, InvalidOperation
from typing import Any

from pmbot.config import DEFAULT_CONFIG
from pmbot.errors import ConfigError, PmbotError
from pmbot.scan import output
from pmbot.scan.estimate import ScanOptions
from pmbot.scan.fetch import ScanHttp
from pmbot.scan.scanner import ScanResult, run_scan


def _dec(text: str) -> Decimal:
    try:
        return Decimal(text)
    except InvalidOperation:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="bot.py scan",
        description="rank liquidity-reward markets by estimated reward per day per $100 of capital",
    )
    p.add_argument("--config", default=DEFAULT_CONFIG, help="YAML config (venue URLs, mode)")
    p.add_argument("--mode", choices=("sim", "paper", "live"), help="override the config's mode")
    out = p.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="the ranking as JSON on stdout")
    out.add_argument("--write-config", type=int, metavar="N", help="print the top N as markets:")
    p.add_argument("--top", type=int, default=30, help="table rows (default 30)")
    p.add_argument("--size", type=_dec, default=Decimal(0), help="shares per side (0 = min size)")
    p.add_argument("--distance", type=_dec, default=Decimal(1), help="cents from the mid (1)")
    p.add_argument("--min-daily-rate", type=_dec, default=Decimal(0), help="pool $/day floor")
    p.add_argument("--min-days", type=_dec, default=Decimal(0), help="days to end floor")
    p.add_argument("--max-volatility", type=_dec, help="cents per history step ceiling")
    p.add_argument("--min-volume", type=_dec, default=Decimal(0), help="24 h volume floor")
    p.add_argument("--no-neg-risk", action="store_true", help="leave out neg-risk markets")
    p.add_argument("--w-volatility", type=_dec, default=Decimal(0), help="score -= w * vol c")
    p.add_argument("--w-spread", type=_dec, default=Decimal(0), help="score -= w * spread c")
    p.add_argument("--history-top", type=int, default=50, help="price histories for the top K")
    p.add_argument("--rate-fraction", type=float, default=0.5, help="share of venue limits")
    return p.parse_args(argv)


def options(args: argparse.Namespace) -> ScanOptions:
    return ScanOptions(
        quote_size=args.size,
        distance_cents=args.distance,
        min_daily_rate=args.min_daily_rate,
        min_days=args.min_days,
        max_volatility_cents=args.max_volatility,
        min_volume=args.min_volume,
        allow_neg_risk=not args.no_neg_risk,
        w_volatility=args.w_volatility,
        w_spread=args.w_spread,
    )


def _start_sim(cfg: Any) -> Any:
    from pmbot.sim import SimServer
    from pmbot.sim.markets import load_sim_config

    sim_cfg = dataclasses.replace(load_sim_config(cfg.sim.config or None), seed=cfg.sim.seed)
    sim = SimServer(sim_cfg, host=cfg.sim.host, port=cfg.sim.port)
    sim.start()
    return sim


def _print(args: argparse.Namespace, result: ScanResult) -> None:
    if args.json:
        sys.stdout.write(output.as_json(result.rows, result.summary()) + "\n")
    elif args.write_config is not None:
        sys.stdout.write(output.config_block(result.rows, max(0, args.write_config)))
    else:
        sys.stdout.write(output.table(result.rows, args.top) + "\n")
    s = result.summary()
    print(
        f"scan: {s['reward_markets']} reward markets, {s['ranked']} ranked, requests"
        f" {sum(result.requests.values())} {s['requests']}, {s['wall_secs']} s,"
        f" not estimated {s['not_estimated']}, malformed skipped {s['malformed_skipped']}",
        file=sys.stderr,
    )


def main(argv: list[str]) -> int:
    from pmbot.config import load_config

    args = parse_args(argv)
    try:
        cfg = load_config(args.config, mode_override=args.mode)
    except ConfigError as exc:
        print(f"pmbot scan: {exc}", file=sys.stderr)
        return 2
    sim = _start_sim(cfg) if cfg.mode == "sim" else None
    clob = sim.urls["clob_url"] if sim else cfg.venue.clob_url
    gamma = sim.urls["gamma_url"] if sim else cfg.venue.gamma_url
    http = ScanHttp(fraction=args.rate_fraction)
    try:
        result = run_scan(http, clob, gamma, options(args), history_top=args.history_top)
    except PmbotError as exc:
        print(f"pmbot scan: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    finally:
        http.close()
        if sim is not None:
            sim.stop()
    _print(args, result)
    return 0
