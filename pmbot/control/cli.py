"""``python bot.py ctl ...``: steer a running bot through its control socket.

Exit codes: 0 done, 1 refused or failed, 2 bad usage (or a bad config file), 3 bot not running.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from decimal import Decimal, InvalidOperation

import yaml

from pmbot.config import Config, load_config, parse_config
from pmbot.control.client import BotNotRunning, send_request
from pmbot.control.paths import AmbiguousSocket, SocketNotFound, find_socket
from pmbot.control.protocol import (
    DEFAULT_MAX_SLIPPAGE,
    Command,
    ControlAnswer,
    ControlRequest,
    ProtocolError,
)
from pmbot.control.status import render_status, status_from_data
from pmbot.errors import ConfigError

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_NOT_RUNNING = 0, 1, 2, 3


def _slippage(text: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not (value.is_finite() and Decimal(0) <= value < Decimal(1)):
        raise argparse.ArgumentTypeError(f"must be a price distance in [0, 1): {text!r}")
    return value


def _parser(default_config: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="bot.py ctl", description="control a running pmbot")
    p.add_argument("--config", default=default_config, help="the running bot's config file")
    p.add_argument("--funder", default="", help="wallet address, when several bots share a dir")
    p.add_argument("--socket", default="", help="control socket path (overrides the config)")
    p.add_argument("--json", action="store_true", help="print the raw JSON answer")
    p.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for the answer")
    # --json also after the command (`ctl status --json`); SUPPRESS keeps the top-level value.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", default=argparse.SUPPRESS)
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub.add_parser(
        "status", parents=[common], help="per-market verdicts, quotes, inventory, P&L, feed age"
    )
    for name, what in (("pause", "stop quoting"), ("resume", "quote again")):
        sp = sub.add_parser(
            name, parents=[common], help=f"{what}: one market (slug or condition id) or all"
        )
        sp.add_argument("market", nargs="?", default="", metavar="MARKET")
    sub.add_parser(
        "cancel-all",
        parents=[common],
        help="cancel every order now (quoting resumes unless paused)",
    )
    fl = sub.add_parser(
        "flatten", parents=[common], help="pause MARKET, cancel its quotes, sell its inventory"
    )
    fl.add_argument("market", metavar="MARKET")
    fl.add_argument(
        "--max-slippage",
        type=_slippage,
        default=DEFAULT_MAX_SLIPPAGE,
        metavar="C",
        help=f"sell no lower than best bid - C (default {DEFAULT_MAX_SLIPPAGE})",
    )
    sub.add_parser(
        "reload", parents=[common], help="re-read the config and apply what may change at runtime"
    )
    return p


def _socket(args: argparse.Namespace) -> str:
    if args.socket:
        return str(args.socket)
    try:
        cfg = load_config(args.config)
    except ConfigError as exc:
        cfg = _location_only(args.config, exc)
        try:
            return find_socket(cfg.resolved_state_dir, args.funder or cfg.wallet.funder)
        except SocketNotFound:
            raise exc from None  # no bot there to explain it: the file's own error
    return find_socket(cfg.resolved_state_dir, args.funder or cfg.wallet.funder)


def _location_only(path: str, error: ConfigError) -> Config:
    """A file the bot would refuse still names its socket (state_dir, wallet.funder): so that
    ``ctl reload`` after a bad edit reaches the running bot, which says what is wrong and changes
    nothing. When even those two keys cannot be read, the file's own error is raised."""
    try:
        with open(path, encoding="utf-8") as fh:
            raw = yaml.safe_load(fh)
        wallet = raw.get("wallet") or {}
        return parse_config(
            {"state_dir": raw.get("state_dir", ""), "wallet": {"funder": wallet.get("funder", "")}}
        )
    except (OSError, yaml.YAMLError, AttributeError, ConfigError):
        raise error from None


def _print(answer: ControlAnswer, command: Command, as_json: bool) -> None:
    if as_json:
        print(json.dumps({"ok": answer.ok, "message": answer.message, "data": answer.data}))
    elif command is Command.STATUS and answer.ok:
        print(render_status(status_from_data(answer.data)))
    elif answer.ok:
        print(answer.message)
    else:
        print(f"pmbot ctl: {answer.message}", file=sys.stderr)


def main(argv: list[str], default_config: str) -> int:
    try:
        args = _parser(default_config).parse_args(argv)
    except SystemExit as exc:  # argparse: --help exits 0, bad usage 2
        return int(exc.code or 0)
    command = Command(args.command)
    try:
        request = ControlRequest(
            command,
            getattr(args, "market", ""),
            getattr(args, "max_slippage", DEFAULT_MAX_SLIPPAGE),
        )
        path = _socket(args)
    except (ConfigError, AmbiguousSocket, ProtocolError, ValueError) as exc:
        print(f"pmbot ctl: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except SocketNotFound as exc:
        print(f"pmbot ctl: {exc}", file=sys.stderr)
        return EXIT_NOT_RUNNING
    try:
        answer = send_request(path, request, timeout_secs=args.timeout)
    except BotNotRunning as exc:
        print(f"pmbot ctl: {exc}", file=sys.stderr)
        return EXIT_NOT_RUNNING
    except PermissionError:
        print(f"pmbot ctl: permission denied on {path} (uid {os.geteuid()})", file=sys.stderr)
        return EXIT_FAILED
    except (TimeoutError, ProtocolError, OSError) as exc:
        print(f"pmbot ctl: {exc}", file=sys.stderr)
        return EXIT_FAILED
    _print(answer, command, args.json)
    return EXIT_OK if answer.ok else EXIT_FAILED
