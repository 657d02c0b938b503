"""Cancellation by the runner. When a job is cancelled (or times out) the runner sends the step's
process SIGINT, then SIGTERM, then kills what is left. Either signal ends the run through the same
`finally` blocks as an error, so that every installation token is revoked; a token being minted when
the signal comes is received first, so that it can be revoked too; a second signal while the run
unwinds is ignored, so that the revoking finishes."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Cancelled(BaseException):
    """The runner cancelled the job: unwind, revoking every token on the way."""


_state = {"shielded": 0, "pending": None}


def _cancel(signum: int, frame: object) -> None:
    for other in SIGNALS:
        signal.signal(other, signal.SIG_IGN)
    name = signal.Signals(signum).name
    if _state["shielded"]:
        _state["pending"] = name  # raised when the shielded call returns
        return
    raise Cancelled(name)


@contextmanager
def cancellable() -> Iterator[None]:
    """SIGINT and SIGTERM raise Cancelled in the run, once."""
    previous = {signum: signal.signal(signum, _cancel) for signum in SIGNALS}
    _state.update(shielded=0, pending=None)
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


@contextmanager
def shielded() -> Iterator[None]:
    """A call whose result must be had (a token being minted): a cancellation waits until it returns."""
    _state["shielded"] += 1
    try:
        yield
    finally:
        _state["shielded"] -= 1
        pending = _state["pending"]
        if pending and not _state["shielded"]:
            _state["pending"] = None
            raise Cancelled(pending)
