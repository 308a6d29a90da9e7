"""CLI: ``python -m pmbot.sim [--config F] [--host H] [--port N] [--seed N] [--retention-secs S]``.

Prints ONE line with the URLs (the same names as the bot's config keys), then serves until
SIGTERM/SIGINT and exits 0 after a clean stop."""

from __future__ import annotations

import argparse
import dataclasses
import logging
import signal
import sys
import threading

from pmbot.errors import ConfigError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pmbot.sim", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--config", default=None, help="sim YAML (default: the bundled pmbot/sim/sim.yaml)"
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 = an ephemeral port")
    parser.add_argument("--seed", type=int, default=None, help="override the config's seed")
    parser.add_argument(
        "--retention-secs",
        type=float,
        default=None,
        help="override the config's retention of finished orders and trades (0 = keep all)",
    )
    parser.add_argument("--log-level", default="WARNING")
    parser.add_argument("--holds", action="store_true", help="test knob: pmbot.sim.holds")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )

    from pmbot.sim.markets import load_sim_config
    from pmbot.sim.server import SimServer

    try:
        source = args.config if args.seed is None else _with_seed(args.config, args.seed)
        config = load_sim_config(source)
        if args.retention_secs is not None:
            if args.retention_secs < 0:
                raise ValueError("--retention-secs must be 0 (keep all) or positive")
            config = dataclasses.replace(config, retention_secs=args.retention_secs)
    except (ConfigError, OSError, ValueError) as exc:
        print(f"pmbot.sim: {exc}", file=sys.stderr)
        return 2

    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    sim = SimServer(config, host=args.host, port=args.port)
    if args.holds:  # tests and benchmarks: record arrivals, hold answers (pmbot.sim.holds)
        from pmbot.sim.holds import Holds

        Holds.install(sim)
    sim.start()
    try:
        print(" ".join(f"{k}={v}" for k, v in sim.urls.items()), flush=True)
        while not stop.wait(1.0):
            pass
    finally:
        sim.stop()
    return 0


def _with_seed(path: str | None, seed: int) -> dict:
    """The config as a dict with another seed, so ids derived from the seed change with it."""
    import yaml

    from pmbot.sim.markets import BUNDLED_CONFIG

    with open(path or BUNDLED_CONFIG, encoding="utf-8") as fh:
        raw = yaml.safe_load(fh) or {}
    raw["seed"] = seed
    return raw


if __name__ == "__main__":
    sys.exit(main())
