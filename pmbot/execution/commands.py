"""The command loop (thread ``executor``): takes the strategy's commands in order and routes them to
the two lanes at once. It never talks to the venue and never waits on a create, so a cancel is
handed to the cancel lane the moment it is read.

- ``Cancel`` / ``CancelAll``: waiting quote creates of those markets (all creates for a cancel-all)
  are dropped first, then the cancels go to the cancel lane.
- ``Replace``: its cancels go to the cancel lane; its creates follow them on the create lane. With
  ``post_first`` and an idle create lane, the creates go first instead and release the cancels after
  one attempt (the create lane does that).
- ``Shutdown``: every waiting create is dropped, queued cancels are answered, then the lanes stop.
"""

from __future__ import annotations

import logging
import queue
import threading

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

    def run(self) -> None:
        try:
            while not self._halted():
                try:
                    cmd = self.commands.get(timeout=0.2)
                except queue.Empty:
                    continue
                try:
                    self.route(cmd)
                except Exception:  # a bug must not kill the thread that routes cancels
                    log.exception("executor: unexpected error while routing %s", type(cmd).__name__)
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
                self.cancels.put(CancelJob(order_ids=tuple(cmd.order_ids)))
        elif isinstance(cmd, Replace):
            self._replace(cmd)
        elif isinstance(cmd, Create):
            self.creates.put(CreateJob(orders=list(cmd.orders)))
        elif isinstance(cmd, CancelAll):
            self.creates.supersede(None, "superseded by cancel-all")
            self.cancels.put(CancelJob(cancel_all=True))
        elif isinstance(cmd, Shutdown):
            self._shutdown()
        else:
            log.warning("executor: ignoring unknown command %s", type(cmd).__name__)

    def _replace(self, cmd: Replace) -> None:
        self.creates.supersede(cmd.markets, "superseded by a cancel of its market")
        if not cmd.cancel_ids:
            self.creates.put(CreateJob(orders=list(cmd.creates)))
            return
        job = CancelJob(order_ids=tuple(cmd.cancel_ids))
        if cmd.post_first and self.creates.idle() and self.cancels.idle():
            # Post-first creates may overtake their own cancels, never a create or cancel queued
            # before them: the strategy counted that order as gone and may quote the same again.
            self.creates.put(CreateJob(orders=list(cmd.creates), then_cancel=job))
            return
        self.cancels.put(job)
        self.creates.put(CreateJob(orders=list(cmd.creates), after=job.done))

    def _shutdown(self) -> None:
        log.info("executor: shutdown requested")
        self.creates.supersede(None, "shutting down")
        last = CancelJob()
        self.cancels.put(last)
        while not last.done.wait(0.2):  # the cancels queued before it are answered first
            if self.stop.is_set():
                break
        self.halt.set()
        self.creates.wake()
