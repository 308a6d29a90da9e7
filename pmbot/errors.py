"""Errors classified by what the caller must do, not by where they came from.

- ``FatalError``: stop the bot (bad config, bad credentials).
- ``TransientError``: retry with capped exponential backoff and jitter (429, 425, 5xx, timeouts on
  idempotent requests). ``retry_after`` carries a venue-given delay in seconds when there is one.
- ``RejectedError``: the venue said no to this request (tick, size, balance, crossing). Report it to
  the strategy; never retry it blindly.
- ``VenueModeError``: the venue is in a restricted mode (cancel-only, post-only, trading disabled);
  stop doing what the mode forbids until it lifts.
- ``UnknownOutcomeError``: a submit may or may not have reached the matching engine (timeout or
  connection reset after sending). The order counts as live until the user channel or a reconcile
  says otherwise; it is never resubmitted blind.
- ``RiskHalt``: a risk limit tripped; cancel all and stop quoting.
- ``ConfigError``: a config key is missing, unknown, mistyped or out of range (exit code 2).
"""

from __future__ import annotations


class PmbotError(Exception):
    """Base of every pmbot error."""


class FatalError(PmbotError):
    pass


class ConfigError(FatalError):
    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"config error: {key}: {message}")
        self.key = key
        self.message = message


class TransientError(PmbotError):
    def __init__(
        self, message: str, *, status: int | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


class RejectedError(PmbotError):
    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class VenueModeError(PmbotError):
    """``mode`` is one of ``cancel_only``, ``post_only``, ``disabled``."""

    def __init__(
        self,
        message: str,
        *,
        mode: str,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.mode = mode
        self.status = status
        self.retry_after = retry_after


class UnknownOutcomeError(PmbotError):
    pass


class RiskHalt(PmbotError):
    pass
