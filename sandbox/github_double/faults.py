"""Scripted failures: by route or by request number, each firing once or a number of times."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from fnmatch import fnmatchcase

KINDS = ("500", "502", "503", "secondary", "429", "dropped", "slow")


@dataclass
class Fault:
    kind: str
    method: str | None = None  # None: any method
    path: str | None = None  # glob on the path without query; `*` also matches "/"
    from_request: int | None = None  # absolute request number where it starts
    times: int | None = 1  # None: until cleared
    retry_after: int | None = None  # secondary and 429: the Retry-After header, when given
    seconds: float = 0.0  # slow: delay before the normal answer (release() ends it sooner)
    fired: int = 0
    released: threading.Event = field(default_factory=threading.Event, repr=False, compare=False)

    def release(self) -> None:
        """Let the requests this slow fault holds, and any it takes from now on, answer at once."""
        self.released.set()

    def matches(self, number: int, method: str, path: str) -> bool:
        if self.times is not None and self.fired >= self.times:
            return False
        if self.from_request is not None and number < self.from_request:
            return False
        if self.method is not None and self.method.upper() != method.upper():
            return False
        return self.path is None or fnmatchcase(path, self.path)


class Faults:
    """The double's fault script. Thread-safe; each request takes the first fault that matches."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self._requests = 0

    def add(self, fault: str, method: str | None = None, path: str | None = None, times: int | None = 1, *,
            retry_after: int | None = None, seconds: float | None = None) -> Fault:
        """Answer matching requests with `fault` (see KINDS), `times` times (None: until cleared)."""
        return self._add(Fault(fault, method, path, None, times, retry_after, seconds or 0.0))

    def on_request(self, n: int, fault: str, times: int | None = 1, *,
                   retry_after: int | None = None, seconds: float | None = None) -> Fault:
        """Answer the n-th request from now (1 is the next one) and the following ones while `times` lasts."""
        if n < 1:
            raise ValueError("n counts from 1, the next request")
        with self._lock:
            start = self._requests + n
        return self._add(Fault(fault, None, None, start, times, retry_after, seconds or 0.0))

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    @property
    def pending(self) -> list[Fault]:
        with self._lock:
            return [f for f in self._faults if f.times is None or f.fired < f.times]

    def take(self, method: str, path: str) -> Fault | None:
        """Count one request and return the fault it must get, if any."""
        with self._lock:
            self._requests += 1
            for fault in self._faults:
                if fault.matches(self._requests, method, path):
                    fault.fired += 1
                    return fault
            return None

    def _add(self, fault: Fault) -> Fault:
        if fault.kind not in KINDS:
            raise ValueError(f"unknown fault {fault.kind!r}; one of {', '.join(KINDS)}")
        if fault.kind == "slow" and fault.seconds <= 0:
            raise ValueError("a slow fault needs seconds > 0")
        if fault.retry_after is not None and fault.kind not in ("secondary", "429"):
            raise ValueError("retry_after applies to secondary and 429 faults")
        with self._lock:
            self._faults.append(fault)
        return fault
