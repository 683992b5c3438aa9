"""Login throttling against password guessing: failed sign-ins counted in a sliding window,
per username and per client address.

Once a key has `max_failures` failures inside the window, every sign-in on that key (even with
the right password) is refused with `429` and `Retry-After` until the oldest failure leaves the
window. A success clears the username's failures (not the address's).

The counters live in the server process (one per `AppContext`): with several processes, an
attacker gets at most `processes × max_failures` guesses per window. That is the documented
trade-off (docs/reliability.md); a shared counter would need a table.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable

from app.domain.errors import TooManyRequests


class TooManyAttempts(TooManyRequests):
    """Too many failed sign-ins: HTTP 429 with `Retry-After`."""

    code = "too_many_attempts"


class LoginThrottle:
    def __init__(
        self,
        *,
        per_username: int,
        per_client: int,
        window_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limits = {"user": per_username, "client": per_client}
        self.window = window_seconds
        self.clock = clock
        self._failures: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()

    @staticmethod
    def keys(*, username: str, client: str | None) -> list[tuple[str, str]]:
        out = [("user", username.strip().lower())]
        if client:
            out.append(("client", client))
        return out

    def _prune(self, key: tuple[str, str], now: float) -> deque[float]:
        q = self._failures.get(key)
        if q is None:
            return deque()
        while q and q[0] <= now - self.window:
            q.popleft()
        if not q:
            del self._failures[key]
        return q

    def check(self, keys: Iterable[tuple[str, str]]) -> None:
        """Raise `TooManyAttempts` when any key is over its limit."""
        now = self.clock()
        with self._lock:
            wait = 0.0
            for key in keys:
                q = self._prune(key, now)
                limit = self.limits[key[0]]
                if limit > 0 and len(q) >= limit:
                    wait = max(wait, q[len(q) - limit] + self.window - now)
        if wait > 0:
            seconds = max(1, math.ceil(wait))
            raise TooManyAttempts(
                f"too many failed sign-ins: try again in {seconds} seconds",
                retry_after=seconds,
            )

    def failed(self, keys: Iterable[tuple[str, str]]) -> None:
        now = self.clock()
        with self._lock:
            for key in keys:
                q = self._failures.setdefault(key, deque())
                q.append(now)
                limit = self.limits[key[0]]
                while len(q) > max(limit, 1):  # only the newest `limit` failures matter
                    q.popleft()
            if len(self._failures) > 100_000:  # bound memory under a spray of names
                for key in list(self._failures)[:50_000]:
                    self._prune(key, now)

    def succeeded(self, username: str) -> None:
        with self._lock:
            self._failures.pop(("user", username.strip().lower()), None)


def client_address(request: object) -> str | None:
    """The peer address of a Starlette request (behind a proxy, configure uvicorn's
    `--forwarded-allow-ips` so that this is the real client)."""
    client = getattr(request, "client", None)
    return getattr(client, "host", None) if client else None
