"""Start-up checks that are configuration problems (exit 2), run by ``bot.py`` before it starts
anything and by ``--check-config``: a busy metrics port, live/paper mode with nothing to trade."""

from __future__ import annotations

import socket

from pmbot.config import Config
from pmbot.errors import ConfigError


def metrics_port_problem(host: str, port: int) -> str | None:
    """Why ``host:port`` cannot be served (someone listens there), or None. Port 0 = any."""
    if port == 0:
        return None
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        return f"metrics.host {host!r} does not resolve ({exc.strerror})"
    family, _, _, _, addr = infos[0]
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        # the metrics server sets SO_REUSEADDR too, so only a live listener makes this fail
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(addr)
        except OSError as exc:
            return (
                f"{host}:{port} is not free ({exc.strerror}): another process listens there, "
                "perhaps a pmbot already running with this config (one bot per wallet); stop it "
                "or choose another metrics.port"
            )
    return None


def check_startup(cfg: Config) -> None:
    """Raise ConfigError naming the key for the first problem found."""
    arbitrage = cfg.arbitrage.enabled and bool(cfg.arbitrage.events)
    if cfg.mode in ("live", "paper") and not cfg.markets and not arbitrage:
        raise ConfigError(
            "markets",
            f"{cfg.mode} mode has nothing to trade: list markets (YES/NO token ids or slugs) "
            "or arbitrage.events",
        )
    if cfg.metrics.enabled:
        problem = metrics_port_problem(cfg.metrics.host, cfg.metrics.port)
        if problem:
            raise ConfigError("metrics.port", problem)
