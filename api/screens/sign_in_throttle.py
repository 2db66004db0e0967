"""How often a user name may fail to sign in before the review screen stops trying it.

After `attempts` wrong passwords for one user name within `lockout_seconds`, sign-ins for
that name are refused without checking the password until `lockout_seconds` after the last
failure; a successful sign-in clears the count. Names are compared case-folded, so changing
the case does not give more tries. The counts live in the worker process (one throttle per
app): with several workers an attacker gets `attempts` per worker in the window, which still
turns guessing a password into years of work. At most `max_names` names are tracked; past
that the name whose last failure is oldest is forgotten first, so a flood of made-up names
cannot grow the memory.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["SignInThrottle"]


@dataclass(slots=True)
class _Failures:
    count: int
    last: float


@dataclass
class SignInThrottle:
    """Counts failed sign-ins per user name; `seconds_locked` says how long a name must wait."""

    attempts: int
    lockout_seconds: int
    clock: Callable[[], float] = time.monotonic
    max_names: int = 10_000
    _failures: OrderedDict[str, _Failures] = field(default_factory=OrderedDict, repr=False)

    def seconds_locked(self, name: str) -> int:
        """Whole seconds until `name` may try again; 0 if it may try now."""
        failures = self._current(name.casefold())
        if failures is None or failures.count < self.attempts:
            return 0
        return max(1, math.ceil(failures.last + self.lockout_seconds - self.clock()))

    def failed(self, name: str) -> None:
        """Count a wrong password for `name`."""
        key = name.casefold()
        failures = self._current(key)
        now = self.clock()
        if failures is None:
            self._failures[key] = _Failures(1, now)
        else:
            failures.count += 1
            failures.last = now
            self._failures.move_to_end(key)
        while len(self._failures) > self.max_names:
            self._failures.popitem(last=False)

    def succeeded(self, name: str) -> None:
        """Forget the failures of `name` (it signed in)."""
        self._failures.pop(name.casefold(), None)

    def _current(self, key: str) -> _Failures | None:
        """The failures of `key` still inside the window (older ones are forgotten)."""
        failures = self._failures.get(key)
        if failures is not None and self.clock() - failures.last >= self.lockout_seconds:
            del self._failures[key]
            return None
        return failures
