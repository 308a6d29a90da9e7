"""Request/reply plumbing between the control server and the strategy thread (the single writer).

The server thread never touches trading state: it wraps each request in an ``OperatorCommand``,
puts it on the strategy thread's inbound queue and waits on the command's own reply queue with a
deadline. The strategy thread answers with ``reply.put_nowait`` (the queue holds exactly one
answer, so answering never blocks it, even after the asker gave up).

Reload does its slow and fallible parts here, outside the strategy thread: reading and validating
the file, resolving added markets (slugs go through Gamma) and the feed subscriptions. Only a whole,
valid change reaches the strategy thread, as a ``ReloadApply``. Order: subscribe the added markets'
feeds, let the strategy thread apply (it cancels the removed markets' quotes and stops deciding for
them), then unsubscribe the removed markets' feeds.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from pmbot.config import Config, MarketRef
from pmbot.control.protocol import Command, ControlAnswer, ControlRequest, Peer
from pmbot.control.reload import ReloadPlan, plan_reload
from pmbot.errors import PmbotError
from pmbot.model import MarketInfo

log = logging.getLogger(__name__)

MarketResolver = Callable[[tuple[MarketRef, ...]], tuple[MarketInfo, ...]]


class FeedControl(Protocol):
    """The market feed's dynamic subscriptions (``pmbot.venue.market_ws.MarketFeed``)."""

    def add_markets(self, markets: Iterable[MarketInfo]) -> None: ...

    def remove_markets(self, markets: Iterable[MarketInfo]) -> None: ...


@dataclass(frozen=True, slots=True)
class ReloadApply:
    """A validated reload for the strategy thread: the new config (parameters), the markets to add
    (resolved, feeds already subscribed) and to remove (feeds dropped after the strategy let go)."""

    plan: ReloadPlan
    added: tuple[MarketInfo, ...]
    removed: tuple[MarketInfo, ...] = ()

    @property
    def config(self) -> Config:
        assert self.plan.config is not None  # only ok plans become ReloadApply
        return self.plan.config


@dataclass(frozen=True, slots=True, eq=False)
class OperatorCommand:
    """On the strategy thread's inbound queue. ``who`` is for the log and the journal."""

    request: ControlRequest
    who: str
    reply: queue.Queue[ControlAnswer]
    reload: ReloadApply | None = None

    def answer(self, ans: ControlAnswer) -> None:
        try:
            self.reply.put_nowait(ans)
        except queue.Full:  # answered twice: a bug, but never a reason to block the strategy
            log.error("control: second answer to %s dropped", self.request.command.value)


def ref_matches(ref: MarketRef, market: MarketInfo) -> bool:
    """Does a configured market reference name this market (by slug, or by its two tokens)?"""
    if ref.slug:
        return ref.slug == market.slug
    return (ref.yes_token, ref.no_token) == (market.yes_token, market.no_token)


def _no_resolver(refs: tuple[MarketRef, ...]) -> tuple[MarketInfo, ...]:
    raise PmbotError("adding markets at runtime is not wired in this bot")


class QueuedBotControl:
    """The ``ControlHandler`` the runner gives the ControlServer (and SIGHUP uses for reload)."""

    def __init__(
        self,
        inbound: queue.Queue[Any],
        *,
        config_path: str,
        loaded_config: Config,
        mode_override: str | None = None,
        markets: tuple[MarketInfo, ...] = (),
        resolve_markets: MarketResolver = _no_resolver,
        feeds: FeedControl | None = None,
        deadline_secs: float = 10.0,
    ) -> None:
        self._inbound = inbound
        self._path = config_path
        self._config = loaded_config
        self._markets = markets  # the quoted markets as resolved at start-up, kept up to date
        self._feeds = feeds
        self._mode_override = mode_override
        self._resolve = resolve_markets
        self._deadline = deadline_secs
        self._reload_lock = threading.Lock()  # ctl reload and SIGHUP may race

    @property
    def config(self) -> Config:
        """The config as loaded from the file, with every applied reload."""
        return self._config

    def handle(self, request: ControlRequest, peer: Peer) -> ControlAnswer:
        if request.command is Command.RELOAD:
            return self.reload(str(peer))
        return self._ask(OperatorCommand(request, str(peer), queue.Queue(maxsize=1)))

    def reload(self, who: str) -> ControlAnswer:
        with self._reload_lock:
            plan = plan_reload(self._path, self._config, mode_override=self._mode_override)
            data = {"reload": plan.to_data()}
            if not plan.ok:
                log.error("reload by %s: %s", who, plan.error)
                return ControlAnswer(False, plan.error, data)
            if plan.empty:
                log.info("reload by %s: no change", who)
                return ControlAnswer(True, "no change", data)
            try:
                added = self._resolve(plan.markets_added) if plan.markets_added else ()
            except PmbotError as exc:
                why = f"cannot resolve the added markets, nothing changed: {exc}"
                log.error("reload by %s: %s", who, why)
                return ControlAnswer(False, why, data)
            removed = tuple(
                m for m in self._markets if any(ref_matches(r, m) for r in plan.markets_removed)
            )
            change = ReloadApply(plan, added, removed)
            return self._apply(change, who, data)

    def _apply(self, change: ReloadApply, who: str, data: dict[str, Any]) -> ControlAnswer:
        if self._feeds is not None and change.added:
            self._feeds.add_markets(change.added)
        request = ControlRequest(Command.RELOAD)
        answer = self._ask(OperatorCommand(request, who, queue.Queue(maxsize=1), change))
        if not answer.ok:
            return ControlAnswer(False, answer.message, {**data, **answer.data})
        self._config = change.config
        gone = {m.condition_id for m in change.removed}
        self._markets = tuple(m for m in self._markets if m.condition_id not in gone)
        self._markets += change.added
        if self._feeds is not None and change.removed:
            self._feeds.remove_markets(change.removed)
        return ControlAnswer(True, answer.message, {**data, **answer.data})

    def _ask(self, command: OperatorCommand) -> ControlAnswer:
        self._inbound.put(command)
        try:
            return command.reply.get(timeout=self._deadline)
        except queue.Empty:
            return ControlAnswer(
                False,
                f"the strategy thread did not answer within {self._deadline:g} s; "
                "the command may still take effect: check status",
            )
