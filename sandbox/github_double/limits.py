"""GitHub's secondary rate limits, played on the world's clock.

GitHub documents them in "Rate limits for the REST API", section "About secondary rate limits":
- no more than 100 concurrent requests (REST and GraphQL together);
- no more than 900 points a minute for the REST API and 2,000 for the GraphQL API, where a GET, HEAD
  or OPTIONS request is 1 point, a POST, PATCH, PUT or DELETE 5, a GraphQL query 1 and a mutation 5;
- in general no more than 80 content-generating requests a minute and 500 an hour;
- no more than 2,000 installation (OAuth) access token requests an hour for a GitHub App.

Each window slides: a request is admitted when, with it, no more than `count` units were charged in
the last `seconds` of the clock. A refused request is charged nothing. Budgets are kept per caller
(see `budget_key`): an App installation's tokens share one; a workflow token's is its repository's.
"""

from __future__ import annotations

import math
from collections import Counter, deque
from dataclasses import dataclass, fields
from typing import NamedTuple

MINUTE, HOUR = 60.0, 3600.0
READ_METHODS = ("GET", "HEAD", "OPTIONS")
UNCHARGED_PATHS = ("/rate_limit",)  # GitHub does not charge for asking about the limit
CONCURRENT_RETRY_AFTER = 60  # GitHub's advice when it gives no other figure: wait a minute


class Window(NamedTuple):
    """At most `count` units in any `seconds` of the world's clock."""

    count: int
    seconds: float


# GitHub's figures, each once.
CONTENT_PER_MINUTE = Window(80, MINUTE)
CONTENT_PER_HOUR = Window(500, HOUR)
REST_POINTS = Window(900, MINUTE)
GRAPHQL_POINTS = Window(2000, MINUTE)
TOKEN_REQUESTS = Window(2000, HOUR)
CONCURRENT = 100


@dataclass
class SecondaryLimits:
    """The figures the double enforces, GitHub's by default. A window may be given as a count (the
    default length), as (count, seconds), or as None to lift that limit:
    `SecondaryLimits(content_per_minute=10, content_per_hour=(30, 360))`."""

    content_per_minute: Window | int | tuple | None = CONTENT_PER_MINUTE
    content_per_hour: Window | int | tuple | None = CONTENT_PER_HOUR
    rest_points: Window | int | tuple | None = REST_POINTS
    graphql_points: Window | int | tuple | None = GRAPHQL_POINTS
    token_requests: Window | int | tuple | None = TOKEN_REQUESTS
    concurrent: int | None = CONCURRENT

    def __post_init__(self) -> None:
        for spec in fields(self):
            if spec.name == "concurrent":
                if self.concurrent is not None and (not _whole(self.concurrent) or self.concurrent < 1):
                    raise ValueError(f"concurrent must be a count above 0 or None, not {self.concurrent!r}")
                continue
            setattr(self, spec.name, _window(spec.name, getattr(self, spec.name), spec.default.seconds))

    @classmethod
    def off(cls) -> SecondaryLimits:
        """No secondary limit at all (for measurements that are not about them)."""
        return cls(**dict.fromkeys((spec.name for spec in fields(cls)), None))

    @classmethod
    def from_json(cls, data: dict) -> SecondaryLimits:
        """The state file's `limits` object: each key a count, [count, seconds] or null; omitted keys
        keep GitHub's figures. Raises ValueError naming the key."""
        known = {spec.name for spec in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown limit {unknown[0]!r}; one of {', '.join(sorted(known))}")
        return cls(**{name: tuple(value) if isinstance(value, list) else value
                      for name, value in data.items()})


def _whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _window(name: str, value: object, default_seconds: float) -> Window | None:
    if value is None:
        return None
    if _whole(value):
        value = (value, default_seconds)
    if (isinstance(value, tuple) and len(value) == 2 and _whole(value[0]) and value[0] >= 1
            and isinstance(value[1], int | float) and not isinstance(value[1], bool) and value[1] > 0):
        return Window(value[0], float(value[1]))
    raise ValueError(f"{name} must be a count, (count, seconds) with both above 0, or None; not {value!r}")


@dataclass(frozen=True)
class Refusal:
    limit: str  # the SecondaryLimits field that refused the request
    retry_after: int  # whole seconds of the world's clock until the request would fit


class Budgets:
    """What each caller used of each window, and its requests in flight. Not thread-safe by itself:
    the server calls it under the world's lock."""

    def __init__(self) -> None:
        self._charged: dict[tuple[str, str], deque[tuple[float, int]]] = {}
        self._in_flight: Counter[str] = Counter()

    def admit(self, limits: SecondaryLimits, key: str, charges: dict[str, int], now: float) -> Refusal | None:
        """Charge `charges` (limit name -> units) to `key` at `now` (seconds), or refuse them all."""
        refusals = []
        for name, units in charges.items():
            window = getattr(limits, name)
            if window is None:
                continue
            wait = self._wait(self._log(key, name, window, now), window, units, now)
            if wait is not None:
                refusals.append(Refusal(name, wait))
        if refusals:
            return max(refusals, key=lambda refusal: refusal.retry_after)
        for name, units in charges.items():
            if getattr(limits, name) is not None:
                self._charged[(key, name)].append((now, units))
        return None

    def pass_time(self, seconds: float) -> None:
        """Every window as it will be `seconds` later, without moving the world's clock (on which tokens
        and JWTs age): a benchmark's next scheduled run, an hour on, in a few seconds."""
        for key, log in self._charged.items():
            self._charged[key] = deque((at - seconds, units) for at, units in log)

    def used(self, key: str, name: str, window: Window, now: float) -> int:
        """Units charged to `key` in the window ending at `now`."""
        return sum(units for _, units in self._log(key, name, window, now))

    def _log(self, key: str, name: str, window: Window, now: float) -> deque[tuple[float, int]]:
        log = self._charged.setdefault((key, name), deque())
        while log and log[0][0] <= now - window.seconds:
            log.popleft()
        return log

    @staticmethod
    def _wait(log: deque[tuple[float, int]], window: Window, units: int, now: float) -> int | None:
        """None if `units` fit now, else the whole seconds until enough old charges have slid out."""
        used = sum(charged for _, charged in log)
        if used + units <= window.count:
            return None
        if units > window.count:
            return math.ceil(window.seconds)
        for at, charged in log:
            used -= charged
            if used + units <= window.count:
                return max(1, math.ceil(at + window.seconds - now))
        return math.ceil(window.seconds)  # not reached: the whole log slides out by then

    def enter(self, key: str, limit: int | None) -> bool:
        """One more request of `key` in flight; False when that makes more than `limit`."""
        self._in_flight[key] += 1
        return limit is None or self._in_flight[key] <= limit

    def leave(self, key: str) -> None:
        self._in_flight[key] -= 1
        if self._in_flight[key] <= 0:
            del self._in_flight[key]

    def in_flight(self, key: str | None = None) -> int:
        """Requests being answered now, of `key` or of everyone."""
        return self._in_flight[key] if key is not None else sum(self._in_flight.values())


def charges(method: str, path: str, mutation: bool) -> dict[str, int]:
    """What one request costs: limit name -> units. `path` has no query; `mutation` says whether a
    POST /graphql runs a mutation."""
    path = path.rstrip("/") or "/"
    if path in UNCHARGED_PATHS:
        return {}
    if path == "/graphql":
        if not mutation:
            return {"graphql_points": 1}
        return {"graphql_points": 5, "content_per_minute": 1, "content_per_hour": 1}
    reading = method.upper() in READ_METHODS
    cost = {"rest_points": 1 if reading else 5}
    if not reading and path.startswith(("/repos/", "/repositories/")):
        cost.update(content_per_minute=1, content_per_hour=1)  # issues, labels, dispatches, files
    parts = path.split("/")
    if method.upper() == "POST" and parts[1:3] == ["app", "installations"] and parts[4:] == ["access_tokens"]:
        cost["token_requests"] = 1
    return cost
