"""Every request the double answered, for tests and benchmarks to count and inspect."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, replace
from datetime import datetime


@dataclass(frozen=True)
class LoggedRequest:
    number: int  # 1 for the first request since the log was cleared
    method: str
    path: str
    query: dict[str, str]
    status: int | None  # None: the connection was dropped without an answer
    principal: str  # "jwt:<app id>", "installation:<id>", "workflow", "anonymous", "invalid"
    token_id: str | None  # the token's short id, never its value
    token_repositories: list[str] | None
    token_permissions: dict[str, str] | None
    time: datetime  # on the world's clock
    duration: float  # seconds, wall clock
    fault: str | None
    refused_by: str | None  # the secondary limit that refused it (a SecondaryLimits field), if one did
    # Raw exchange for contract checks; kept out of repr so credentials never reach a printed report.
    request_headers: dict[str, str] = field(repr=False, default_factory=dict)
    request_body: bytes = field(repr=False, default=b"")
    response_headers: dict[str, str] = field(repr=False, default_factory=dict)
    response_body: bytes = field(repr=False, default=b"")


class RequestLog:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: list[LoggedRequest] = []

    def append(self, entry: LoggedRequest) -> None:
        """Store the entry, numbering it in arrival order."""
        with self._lock:
            self._entries.append(replace(entry, number=len(self._entries) + 1))

    def entries(self) -> list[LoggedRequest]:
        with self._lock:
            return list(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def count(self, method: str | None = None, path_prefix: str | None = None,
              status: int | None = None) -> int:
        return len(self.select(method, path_prefix, status))

    def select(self, method: str | None = None, path_prefix: str | None = None,
               status: int | None = None) -> list[LoggedRequest]:
        return [e for e in self.entries()
                if (method is None or e.method == method.upper())
                and (path_prefix is None or e.path.startswith(path_prefix))
                and (status is None or e.status == status)]

    def refusals(self, limit: str | None = None) -> int:
        """How many requests a secondary limit refused (403 with Retry-After), by `limit` or by any."""
        return sum(1 for e in self.entries() if e.refused_by is not None and limit in (None, e.refused_by))

    def last(self) -> LoggedRequest:
        with self._lock:
            return self._entries[-1]

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)
