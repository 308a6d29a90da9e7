"""Part of the composition root (with ``pmbot.runner``): the operator's control plane of a running
bot. The control socket (``bot.py ctl``) and the SIGHUP reloader are started after the strategy
thread and the feeds and before ``READY=1`` (SIGHUP's default action kills the process), and are
stopped first at teardown (the socket file goes with them).

The socket lives in the configured state directory, also in sim and paper mode with a generated
wallet (whose journal is in a throw-away directory), so ``ctl`` finds it from the config alone.
"""

from __future__ import annotations

import logging
import queue
import signal
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pmbot.config import Config
from pmbot.control.bridge import MarketResolver, QueuedBotControl
from pmbot.control.hangup import HangupReloader, install_reload_on_hangup
from pmbot.control.paths import socket_path
from pmbot.control.server import ControlServer
from pmbot.model import EventInfo, MarketInfo

log = logging.getLogger("pmbot.runner")


@dataclass(frozen=True, slots=True)
class ReloadSource:
    """Where a reload reads the config: the file and the ``--mode`` override of the command line
    (``config_path`` empty: the bot was not started from a file, a reload says so and changes
    nothing)."""

    config_path: str = ""
    mode_override: str | None = None


@dataclass(frozen=True, slots=True)
class ControlPlane:
    server: ControlServer
    reloader: HangupReloader
    control: QueuedBotControl

    def stop(self) -> None:
        """Before anything else at teardown: no operator command lands on a stopping bot."""
        self.server.stop()
        self.reloader.stop(then=signal.SIG_IGN)  # a late SIGHUP must not kill the kill switch


class ReloadFeeds:
    """A reload's feed subscriptions: added markets on the market and user channels; removed ones
    off the market channel (the user channel stays, so late fills of their orders still land).
    Markets an arbitrage event still watches keep their market feed."""

    def __init__(self, market_feed: Any, user_feed: Any, events: Iterable[EventInfo]) -> None:
        self.market_feed, self.user_feed = market_feed, user_feed
        self.watched = {m.condition_id for e in events for m in e.markets}

    def add_markets(self, markets: Iterable[MarketInfo]) -> None:
        ms = list(markets)
        self.market_feed.add_markets(ms)
        self.user_feed.add_markets([m.condition_id for m in ms])

    def remove_markets(self, markets: Iterable[MarketInfo]) -> None:
        ms = [m for m in markets if m.condition_id not in self.watched]
        if ms:
            self.market_feed.remove_markets(ms)


def start_control_plane(
    *,
    cfg: Config,
    loaded_cfg: Config,
    source: ReloadSource,
    inbound: queue.Queue[Any],
    funder: str,
    markets: Iterable[MarketInfo],
    feeds: ReloadFeeds,
    resolver: MarketResolver,
) -> ControlPlane:
    """``loaded_cfg`` is the config as read from the file (before sim mode rewrote the venue
    URLs): reloads diff the file against it. Call from the main thread (signal handlers)."""
    control = QueuedBotControl(
        inbound,
        config_path=source.config_path,
        loaded_config=loaded_cfg,
        mode_override=source.mode_override,
        markets=tuple(markets),
        resolve_markets=resolver,
        feeds=feeds,
    )
    server = ControlServer(socket_path(cfg.resolved_state_dir, funder), control)
    server.start()
    try:
        reloader = install_reload_on_hangup(control.reload)
    except BaseException:
        server.stop()
        raise
    return ControlPlane(server, reloader, control)
