"""Composition root: load config, choose the mode, build queues and threads, handle signals, shut
down in order and choose the exit code. Wiring only; the decisions live in ``pmbot.strategy``.

Shutdown order (the kill switch): stop the strategy thread (no new decisions), stop the executor
(finishes the request in flight), cancel every order of this key and verify on the venue with
``GET /data/orders`` until none is left or the deadline passes, then stop the feeds, the metrics
server and the simulator. Exit 0 when nothing was left behind, 1 otherwise (the ids are logged; if
the venue could never be listed, the strategy's order tracker names what may still rest).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

import yaml

from pmbot.config import DEFAULT_CONFIG, Config, effective_config_dict, load_config
from pmbot.errors import ConfigError, FatalError

log = logging.getLogger("pmbot")


def _parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="bot.py", description="pmbot: Polymarket market-making and arbitrage bot"
    )
    p.add_argument(
        "--config", default=DEFAULT_CONFIG, help="path to the YAML config (default: config.yaml)"
    )
    p.add_argument("--mode", choices=("sim", "paper", "live"), help="override the config's mode")
    p.add_argument(
        "--check-config",
        action="store_true",
        help="validate, print the effective config (secrets masked), exit",
    )
    return p.parse_args(argv)


def configure_logging(level: str) -> None:
    # journald adds its own timestamp; keep lines short and greppable: level, logger, message.
    fmt = (
        "%(levelname)s %(name)s: %(message)s"
        if os.environ.get("JOURNAL_STREAM")
        else "%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.basicConfig(level=getattr(logging, level), format=fmt, stream=sys.stderr, force=True)
    # Libraries that log every request or connection at INFO: our own lines already say what
    # matters.
    for noisy in ("httpx", "httpcore", "websocket", "urllib3"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, getattr(logging, level)))


def load_private_key(cfg: Config) -> str | None:
    """The signing key. Live mode requires one. Sim mode takes one from the environment when it is
    set (so a test or a demo can keep one wallet across restarts against a separately started
    simulator) and otherwise returns None: the runner generates a throw-away key. Paper mode never
    needs one (its orders go to the local exchange)."""
    from pmbot.keys import private_key_from_env_or_file

    if cfg.mode == "paper":
        return None
    if cfg.mode == "sim":
        if cfg.wallet.private_key_env and os.environ.get(cfg.wallet.private_key_env):
            try:
                return private_key_from_env_or_file(cfg.wallet.private_key_env, None)
            except FatalError as exc:
                raise ConfigError("wallet.private_key_env", str(exc)) from None
        return None

    from pmbot.keys import KeyLoadError, load_signing_key

    try:  # env, else wallet.keystore_file, else wallet.private_key_file; the error names the key
        return load_signing_key(cfg.wallet)
    except KeyLoadError as exc:
        raise ConfigError(exc.config_key, f"live mode needs a private key: {exc}") from None


def main(argv: list[str]) -> int:
    if argv[:1] == ["scan"]:  # subcommand: rank liquidity-reward markets (pmbot.scan)
        from pmbot.scan.cli import main as scan_main

        return scan_main(argv[1:])
    if argv[:1] == ["doctor"]:  # the preflight: pmbot.doctor (README "Before going live")
        from pmbot.doctor import main as doctor_main

        return doctor_main(argv[1:])
    if argv[:1] == ["ctl"]:  # subcommand: steer a running bot over its socket (pmbot.control)
        from pmbot.control.cli import main as ctl_main

        return ctl_main(argv[1:], DEFAULT_CONFIG)
    args = _parse_args(argv)
    try:
        cfg = load_config(args.config, mode_override=args.mode)
        key = load_private_key(cfg)
        from pmbot.doctor.startup import check_startup

        check_startup(cfg)  # busy metrics.port, live/paper with no markets: exit 2, one line
    except ConfigError as exc:
        print(f"pmbot: {exc}", file=sys.stderr)
        return 2
    if args.check_config:
        sys.stdout.write(yaml.safe_dump(effective_config_dict(cfg), sort_keys=False))
        return 0
    configure_logging(cfg.log_level)
    from pmbot.runner import BotRunner
    from pmbot.runner_control import ReloadSource

    source = ReloadSource(config_path=args.config, mode_override=args.mode)
    runner = BotRunner(cfg, private_key=key, reload_from=source)
    return runner.run()


__all__ = ["main", "configure_logging", "load_private_key", "DEFAULT_CONFIG"]
