"""An adaptive token bucket shared by every thread that talks to one Looker instance.

Looker answers 429 when a client goes too fast, sometimes with Retry-After,
sometimes without. The limiter starts out of the way (a high ceiling). A 429
with Retry-After pauses every thread until it has passed, and nothing more:
Looker said when to come back. A 429 without it cuts to half of the rate
actually observed over the last couple of seconds (at most once per
``decrease_cooldown``, so a burst of 429s from eight workers counts once).

After a cut the rate doubles back towards the rate set before it every
``recover_interval`` free of 429s: a storm of 429s that ends (issue 18: 30%
of calls for 20 s) must not leave the restore crawling for minutes, as a
slow x1.5-per-5-s climb from the floor did. Each 429 that comes while the
rate is coming back, or soon after it came back, lowers the target by a
tenth, so against a real quota the target settles just below it. Past the target the rate probes upwards slowly, up to
``max_rate``.

Time is injectable (``clock``, ``sleep``) so tests never sleep for real.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["AdaptiveRateLimiter", "RateLimiterStats"]


@dataclass(frozen=True)
class RateLimiterStats:
    """A consistent snapshot of the limiter, for metrics and logs."""

    rate: float
    max_rate: float
    min_rate: float
    acquired: int
    rate_limited: int
    decreases: int
    increases: int
    waited_s: float
    paused_until: float | None


class AdaptiveRateLimiter:
    """Token bucket with additive/multiplicative increase, multiplicative decrease.

    Thread-safe. Call `acquire()` before every HTTP request, then report the
    answer with `on_success()` or `on_rate_limited()`.

    Args:
        max_rate: Ceiling in requests per second (also the starting rate
            unless ``initial_rate`` is given).
        min_rate: Floor the rate never drops below.
        initial_rate: Starting rate; defaults to ``max_rate``.
        decrease_factor: Multiplier applied on a 429 to the lower of the rate
            and the rate observed over ``observe_window`` (0 < f < 1).
        observe_window: Seconds of recent requests the observed rate is measured over.
        decrease_cooldown: Seconds during which further 429s do not cut the
            rate again (they were sent at the old rate).
        increase_factor: Multiplier applied on each increase step (>= 1).
        increase_step: Minimum requests/second added on each increase step.
        increase_interval: Seconds of 429-free traffic before each increase.
        increase_after: Successes needed since the last change before an increase
            (fewer at a low rate: as many as ``increase_interval`` brings).
        recover_interval: Seconds of 429-free traffic before each doubling
            back towards the rate sent before a cut.
        clock: Monotonic clock in seconds.
        sleep: Sleeps the calling thread for the given seconds.

    Raises:
        ValueError: Inconsistent parameters.
    """

    def __init__(
        self,
        *,
        max_rate: float = 1000.0,
        min_rate: float = 1.0,
        initial_rate: float | None = None,
        decrease_factor: float = 0.5,
        observe_window: float = 2.0,
        decrease_cooldown: float = 1.0,
        increase_factor: float = 1.5,
        increase_step: float = 1.0,
        increase_interval: float = 5.0,
        increase_after: int = 5,
        recover_interval: float = 0.5,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not 0 < min_rate <= max_rate:
            raise ValueError("need 0 < min_rate <= max_rate")
        if not 0 < decrease_factor < 1:
            raise ValueError("decrease_factor must be between 0 and 1")
        if increase_factor < 1 or increase_step < 0:
            raise ValueError("increase_factor must be >= 1 and increase_step >= 0")
        rate = max_rate if initial_rate is None else initial_rate
        if not min_rate <= rate <= max_rate:
            raise ValueError("initial_rate must be between min_rate and max_rate")
        self.max_rate = float(max_rate)
        self.min_rate = float(min_rate)
        self.decrease_factor = decrease_factor
        self.observe_window = observe_window
        self.decrease_cooldown = decrease_cooldown
        self.increase_factor = increase_factor
        self.increase_step = increase_step
        self.increase_interval = increase_interval
        self.increase_after = increase_after
        self.recover_interval = recover_interval
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        now = clock()
        self._rate = float(rate)
        self._tokens = self._capacity()
        self._refilled_at = now
        self._changed_at = now
        self._decreased_at: float | None = None
        self._successes_since_change = 0
        #: The rate sent before the latest cuts, doubled back to after them (0 before any cut).
        self._recover_to = 0.0
        self._recovered_at: float | None = None
        self._paused_until: float | None = None
        self._acquired = 0
        self._rate_limited = 0
        self._decreases = 0
        self._increases = 0
        self._waited = 0.0
        self._recent: deque[float] = deque()
        self._started = now

    # --- the hot path ------------------------------------------------------

    def acquire(self) -> float:
        """Take one token, sleeping until it is available or a pause has ended.

        Returns:
            Seconds this call slept.
        """
        with self._lock:
            now = self._clock()
            self._refill(now)
            self._tokens -= 1.0
            self._recent.append(now)
            while self._recent and self._recent[0] < now - self.observe_window:
                self._recent.popleft()
            # A negative balance is a reservation: this caller waits its turn.
            wait = max(0.0, -self._tokens / self._rate)
            if self._paused_until is not None:
                wait = max(wait, self._paused_until - now)
            self._acquired += 1
        slept = 0.0
        while wait > 0:
            self._sleep(wait)
            slept += wait
            with self._lock:
                # A 429 seen while we slept may have paused everyone for longer.
                now = self._clock()
                wait = self._paused_until - now if self._paused_until is not None else 0.0
        if slept:
            with self._lock:
                self._waited += slept
        return slept

    def on_success(self) -> None:
        """Record an answer that was not rate limited; may raise the rate."""
        with self._lock:
            now = self._clock()
            self._successes_since_change += 1
            recovering = self._rate < self._recover_to
            interval = self.recover_interval if recovering else self.increase_interval
            # At 1 request/s, five successes would take five seconds of their own.
            needed = min(self.increase_after, max(1, int(self._rate * interval)))
            if (
                self._rate < self.max_rate
                and self._successes_since_change >= needed
                and now - self._changed_at >= interval
            ):
                if recovering:
                    new = min(self._recover_to, self._rate * 2.0)
                    self._recovered_at = now if new >= self._recover_to else None
                else:
                    new = max(self._rate * self.increase_factor, self._rate + self.increase_step)
                self._set_rate(min(self.max_rate, new), now)
                self._increases += 1

    def on_rate_limited(self, retry_after: float | None = None) -> None:
        """Record a 429: given Retry-After, pause every thread until then; without it, cut the rate.

        Args:
            retry_after: Seconds Looker asked us to wait, if it said.
        """
        with self._lock:
            now = self._clock()
            self._rate_limited += 1
            # Whatever was banked was earned at a rate Looker just refused.
            self._refill(now)
            self._tokens = min(self._tokens, 0.0)
            if retry_after is not None and retry_after > 0:
                until = now + retry_after
                if self._paused_until is None or until > self._paused_until:
                    self._paused_until = until
            else:
                self._cut(now)
            # Sustained success is counted from the latest 429, cut or not.
            self._changed_at = now
            self._successes_since_change = 0

    # --- metrics -----------------------------------------------------------

    @property
    def rate(self) -> float:
        """Current rate in requests per second."""
        with self._lock:
            return self._rate

    def stats(self) -> RateLimiterStats:
        """Current rate and counters."""
        with self._lock:
            paused = self._paused_until
            if paused is not None and paused <= self._clock():
                paused = None
            return RateLimiterStats(
                rate=self._rate,
                max_rate=self.max_rate,
                min_rate=self.min_rate,
                acquired=self._acquired,
                rate_limited=self._rate_limited,
                decreases=self._decreases,
                increases=self._increases,
                waited_s=self._waited,
                paused_until=paused,
            )

    def __repr__(self) -> str:
        return f"AdaptiveRateLimiter(rate={self.rate:.2f}, max_rate={self.max_rate}, min_rate={self.min_rate})"

    # --- internals (lock held) -----------------------------------------------

    def _cut(self, now: float) -> None:
        cooled = self._decreased_at is None or now - self._decreased_at >= self.decrease_cooldown
        if not cooled:
            return
        self._decreased_at = now
        if self._rate <= self.min_rate:
            return
        # With a high ceiling, halving the ceiling would change nothing: cut from what was really sent.
        base = min(self._rate, self._observed_rate(now))
        if self._rate >= self._recover_to:
            # Refused at full speed: come back to this rate after the storm (the rate set, not the
            # rate seen, which is low while a run starts); refused again soon after coming back, to a bit less.
            again = self._recovered_at is not None and now - self._recovered_at < self.increase_interval
            self._recover_to = self._rate * (0.9 if again else 1.0)
        else:
            # Refused again while coming back: against a quota, not a storm, each cut lowers the target a little.
            self._recover_to = max(self._rate, 0.9 * self._recover_to)
        self._set_rate(max(self.min_rate, base * self.decrease_factor), now)
        self._decreases += 1

    def _observed_rate(self, now: float) -> float:
        window = min(self.observe_window, max(now - self._started, 1e-9))
        recent = sum(1 for t in self._recent if t >= now - window)
        return recent / window if recent else self._rate

    def _capacity(self) -> float:
        # One second's worth of burst, at least one token.
        return max(1.0, self._rate)

    def _refill(self, now: float) -> None:
        start = self._refilled_at
        if self._paused_until is not None:
            if now < self._paused_until:
                start = max(start, now)
            else:
                start = max(start, self._paused_until)
                self._paused_until = None
        elapsed = max(0.0, now - start)
        self._tokens = min(self._capacity(), self._tokens + elapsed * self._rate)
        self._refilled_at = now

    def _set_rate(self, rate: float, now: float) -> None:
        self._refill(now)
        self._rate = rate
        self._tokens = min(self._tokens, self._capacity())
        self._changed_at = now
        self._successes_since_change = 0
