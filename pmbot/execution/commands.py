"""The command loop (thread ``executor``): takes the strategy's commands in order and routes them to
the two lanes at once. It never talks to the venue and never waits on a create, so a cancel is
handed to the cancel lane the moment it is read.

- ``Cancel`` / ``CancelAll``: waiting quote creates of those markets (all creates for a cancel-all)
  are dropped first, then the cancels go to the cancel lane.
- Every create waits until every cancel routed before it was answered: the strategy counts an
  order as gone once its cancel is sent and may quote the same terms again, so a create overtaking
  an earlier cancel could rest beside the order it replaces (the same quote twice).
- ``Replace``: its cancels go to the cancel lane; its creates follow their answer on the create
  lane. With ``post_first`` (the strategy checked that no create crosses an order being cancelled)
  the creates go alongside instead (issue 20): signed while the cancel is being sent, posted as soon
  as the cancel was written, on their own connection, neither waiting for the other's answer. They
  still wait for cancels routed before this one.
- ``Shutdown``: every waiting create is dropped, queued cancels are answered, then the lanes stop.

``submit`` (the strategy thread's way in, issue 20) routes a command on the caller's thread when
every command queued before it was routed, skipping this thread's hop; and where a lane is idle,
the caller writes the request itself (``CancelLane.try_inline``, ``CreateLane.try_inline``: the
cancel first), leaving the answer to the lane's thread. Otherwise the command is queued here.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable

from pmbot.execution.cancel_lane import CancelJob, CancelLane
from pmbot.execution.create_lane import CreateJob, CreateLane
from pmbot.execution.ports import CommandQueue
from pmbot.model import BotCommand, Cancel, CancelAll, Create, Replace, Shutdown

log = logging.getLogger(__name__)


class CommandLoop:
    def __init__(
        self,
        commands: CommandQueue,
        cancels: CancelLane,
        creates: CreateLane,
        halt: threading.Event,
        stop: threading.Event,
    ) -> None:
        self.commands = commands
        self.cancels = cancels
        self.creates = creates
        self.halt = halt
        self.stop = stop
        self._last_cancel: CancelJob | None = None  # creates routed after it wait for its answer
        self._lock = threading.Lock()  # routing: this thread's commands or a submit, one at a time
        self._inline = False  # routing a submit: idle lanes are written to on the caller's thread
        self._handoff: list[Callable[[], None]] = []  # lane jobs written inline, handed over last

    def submit(self, cmd: BotCommand) -> None:
        """Route ``cmd`` on the caller's thread if nothing queued before it waits to be routed,
        else queue it (order is kept either way). Never raises into the caller."""
        if self._lock.acquire(blocking=False):
            try:
                if not self.commands.unfinished_tasks and not self.halt.is_set():
                    self._route_inline(cmd)
                    return
            finally:
                self._lock.release()
        self.commands.put(cmd)

    def _route_inline(self, cmd: BotCommand) -> None:
        self._inline = True
        try:
            self.route(cmd)
        except Exception:  # the strategy thread must not die of a routing bug
            log.exception("executor: unexpected error while routing %s", type(cmd).__name__)
        finally:
            self._inline = False
            handoff, self._handoff = self._handoff, []
            for hand in handoff:  # everything is written: now wake the lanes
                hand()

    def _send_cancel(self, job: CancelJob) -> None:
        self._last_cancel = job
        if not (self._inline and self.cancels.try_inline(job, self._handoff)):
            self.cancels.put(job)

    def _create(self, orders: list, alongside: CancelJob | None = None) -> None:
        last = self._last_cancel
        after = last.done if last is not None and not last.done.is_set() else None
        job = CreateJob(orders=orders, after=after, alongside=alongside)
        if self._inline:  # signed before the cancel goes: then both writes follow each other
            self.creates.presign(job)
        if alongside is not None:  # the cancel is queued first: first on the wire
            self._send_cancel(alongside)
        if not (self._inline and self.creates.try_inline(job, self._handoff)):
            self.creates.put(job)

    def run(self) -> None:
        try:
            while not self._halted():
                try:
                    cmd = self.commands.get(timeout=0.2)
                except queue.Empty:
                    continue
                try:
                    with self._lock:
                        self.route(cmd)
                except Exception:  # a bug must not kill the thread that routes cancels
                    log.exception("executor: unexpected error while routing %s", type(cmd).__name__)
                finally:
                    self.commands.task_done()  # submit may route itself once all is routed
        finally:
            self.halt.set()
            self.creates.wake()
            log.info("executor command loop stopped")

    def _halted(self) -> bool:
        if self.stop.is_set():
            self.halt.set()
            self.creates.wake()
        return self.halt.is_set()

    def route(self, cmd: BotCommand) -> None:
        if isinstance(cmd, Cancel):
            self.creates.supersede(cmd.markets, "superseded by a cancel of its market")
            if cmd.order_ids:
                self._send_cancel(CancelJob(order_ids=tuple(cmd.order_ids)))
        elif isinstance(cmd, Replace):
            self._replace(cmd)
        elif isinstance(cmd, Create):
            self._create(list(cmd.orders))
        elif isinstance(cmd, CancelAll):
            self.creates.supersede(None, "superseded by cancel-all")
            self._send_cancel(CancelJob(cancel_all=True))
        elif isinstance(cmd, Shutdown):
            self._shutdown()
        else:
            log.warning("executor: ignoring unknown command %s", type(cmd).__name__)

    def _replace(self, cmd: Replace) -> None:
        self.creates.supersede(cmd.markets, "superseded by a cancel of its market")
        if not cmd.cancel_ids:
            self._create(list(cmd.creates))
            return
        job = CancelJob(order_ids=tuple(cmd.cancel_ids))
        if cmd.post_first:
            # Alongside their own cancels, never ahead of a cancel routed before them: the strategy
            # counted that order as gone and may quote the same (or a crossing) price again.
            self._create(list(cmd.creates), alongside=job)
            return
        self._send_cancel(job)
        self._create(list(cmd.creates))

    def _shutdown(self) -> None:
        log.info("executor: shutdown requested")
        self.creates.supersede(None, "shutting down")
        last = CancelJob()
        self._send_cancel(last)
        while not last.done.wait(0.2):  # the cancels queued before it are answered first
            if self.stop.is_set():
                break
        self.halt.set()
        self.creates.wake()


class StrategyCommands:
    """The strategy thread's way to the executor (``put``): into the command queue until the
    executor is attached, then ``CommandLoop.submit`` (routed on the strategy thread if it can)."""

    def __init__(self, commands: CommandQueue) -> None:
        self.commands = commands
        self._loop: CommandLoop | None = None

    def attach(self, loop: CommandLoop) -> None:
        """Before the strategy thread starts."""
        self._loop = loop

    def put(self, item: BotCommand) -> None:
        loop = self._loop
        if loop is None:
            self.commands.put(item)
        else:
            loop.submit(item)
