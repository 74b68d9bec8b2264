"""AdaptiveRateLimiter: token bucket, cut on 429, recovery after sustained success. No real sleeping."""

from __future__ import annotations

import threading

import pytest

from lookervault_core.looker.ratelimit import AdaptiveRateLimiter


class FakeClock:
    """A monotonic clock that only moves when someone sleeps on it."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.slept.append(seconds)
            self.now += seconds

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.now += seconds


def limiter(clock: FakeClock, **kwargs: float) -> AdaptiveRateLimiter:
    return AdaptiveRateLimiter(clock=clock, sleep=clock.sleep, **kwargs)  # type: ignore[arg-type]


def test_defaults_suit_looker() -> None:
    lim = AdaptiveRateLimiter()
    stats = lim.stats()
    # Out of the way until Looker says otherwise.
    assert (stats.rate, stats.max_rate, stats.min_rate) == (1000.0, 1000.0, 1.0)


def test_a_429_under_a_high_ceiling_cuts_to_half_of_what_was_really_sent() -> None:
    clock = FakeClock()
    lim = limiter(clock, max_rate=1000.0)
    for _ in range(40):  # 20 requests/s for two seconds, far below the ceiling
        lim.acquire()
        lim.on_success()
        clock.now += 0.05
    lim.on_rate_limited()
    assert 9.0 <= lim.rate <= 11.0


def test_a_burst_within_capacity_does_not_wait_then_paces_at_the_rate() -> None:
    clock = FakeClock()
    lim = limiter(clock, max_rate=10.0)
    for _ in range(10):
        assert lim.acquire() == 0.0
    start = clock.now
    for _ in range(20):
        lim.acquire()
    # Twenty more tokens at 10/s take two seconds.
    assert clock.now - start == pytest.approx(2.0)
    assert lim.stats().acquired == 30


def test_429_halves_the_rate_once_per_burst_and_not_below_the_floor() -> None:
    clock = FakeClock()
    lim = limiter(clock, max_rate=50.0, min_rate=1.0, decrease_cooldown=1.0)
    for _ in range(8):  # eight workers hit by the same burst
        lim.on_rate_limited()
    assert lim.rate == 25.0
    clock.advance(1.0)
    lim.on_rate_limited()
    assert lim.rate == 12.5
    for _ in range(10):
        clock.advance(1.0)
        lim.on_rate_limited()
    assert lim.rate == 1.0
    stats = lim.stats()
    assert stats.rate_limited == 19
    assert stats.decreases == 6  # 50 → 25 → 12.5 → 6.25 → 3.125 → 1.5625 → 1.0


def test_after_a_429_the_pace_follows_the_lower_rate() -> None:
    clock = FakeClock()
    lim = limiter(clock, max_rate=10.0)
    lim.on_rate_limited()  # 5/s, nothing banked
    start = clock.now
    for _ in range(10):
        lim.acquire()
    assert clock.now - start == pytest.approx(2.0)


def test_retry_after_pauses_every_caller_until_it_has_passed() -> None:
    clock = FakeClock()
    lim = limiter(clock, max_rate=50.0)
    lim.on_rate_limited(retry_after=7.0)
    start = clock.now
    assert lim.acquire() >= 7.0
    assert clock.now - start >= 7.0
    assert lim.stats().paused_until is None


def test_a_pause_seen_while_sleeping_extends_the_sleep() -> None:
    clock = FakeClock()
    lim = AdaptiveRateLimiter(max_rate=1.0, min_rate=0.5, clock=clock, sleep=lambda s: pause_then(s))

    def pause_then(seconds: float) -> None:
        clock.sleep(seconds)
        if len(clock.slept) == 1:
            lim.on_rate_limited(retry_after=30.0)  # another thread's 429

    lim.acquire()  # the one banked token
    start = clock.now
    lim.acquire()  # waits one second for a token, then the 30 s pause
    assert clock.now - start == pytest.approx(31.0)


def test_rate_recovers_to_full_speed_within_two_minutes_of_sustained_success() -> None:
    clock = FakeClock()
    lim = limiter(clock, max_rate=50.0, min_rate=1.0)
    for _ in range(10):
        clock.advance(1.0)
        lim.on_rate_limited()
    assert lim.rate == 1.0
    start = clock.now
    while lim.rate < 50.0 and clock.now - start < 600:
        lim.acquire()
        lim.on_success()
    assert lim.rate == 50.0
    assert clock.now - start <= 120.0
    assert lim.stats().increases >= 5


def test_no_increase_without_successes_or_before_the_interval() -> None:
    clock = FakeClock()
    lim = limiter(clock, max_rate=50.0, increase_interval=5.0, increase_after=5, recover_interval=1.0)
    lim.on_rate_limited()
    assert lim.rate == 25.0
    clock.advance(60.0)  # time alone is not success
    assert lim.rate == 25.0
    for _ in range(4):  # nor are too few successes
        lim.on_success()
    assert lim.rate == 25.0
    clock.advance(1.0)
    lim.on_rate_limited()  # the cooldown has passed: cut again, counters reset
    assert lim.rate == 12.5
    clock.advance(0.5)
    for _ in range(10):
        lim.on_success()
    assert lim.rate == 12.5  # only 0.5 s since the 429
    clock.advance(0.5)
    lim.on_success()
    assert lim.rate == 25.0  # doubled back towards the 50/s set before the cuts
    for _ in range(10):  # the next step needs another interval
        lim.on_success()
    assert lim.rate == 25.0
    clock.advance(1.0)
    lim.on_success()
    assert lim.rate == 45.0  # a tenth less: refused again while coming back
    clock.advance(1.0)
    lim.on_success()
    assert lim.rate == 45.0  # past the target, the slow probe: every 5 s


def test_after_a_storm_of_429s_the_rate_is_back_within_seconds() -> None:
    """Issue 18: twenty seconds of 429s left 1 request/s, then x1.5 per 5 s: ~110 s near zero."""
    clock = FakeClock()
    lim = limiter(clock, max_rate=1000.0, min_rate=1.0, increase_interval=5.0)
    for _ in range(400):  # 200 requests/s for two seconds
        lim.acquire()
        lim.on_success()
        clock.advance(0.005)
    for _ in range(20):  # the storm: a 429 every second
        lim.on_rate_limited()
        clock.advance(1.0)
    assert lim.rate == 1.0
    start = clock.now
    while lim.rate < 200.0 and clock.now - start < 120:
        lim.acquire()
        lim.on_success()
    assert clock.now - start <= 10.0


def test_retry_after_pauses_and_leaves_the_rate() -> None:
    clock = FakeClock()
    lim = limiter(clock, max_rate=50.0)
    for _ in range(5):
        clock.advance(1.0)
        lim.on_rate_limited(retry_after=2.0)
    assert lim.rate == 50.0
    assert lim.stats().decreases == 0
    assert lim.stats().paused_until == pytest.approx(clock.now + 2.0)


def test_refused_again_near_the_recovered_rate_it_settles_below_it() -> None:
    """A quota, not a storm: 429s come whenever the rate is back near 40/s."""
    clock = FakeClock()
    lim = limiter(clock, max_rate=40.0, increase_interval=5.0)
    lim.on_rate_limited()
    assert lim.rate == 20.0
    for _ in range(3):
        clock.advance(1.0)
        for _ in range(5):
            lim.on_success()
        clock.advance(1.0)
        lim.on_rate_limited()
    clock.advance(1.0)
    for _ in range(5):
        lim.on_success()
    assert lim.rate < 40.0  # recovered to just below where it was refused
    assert lim.stats().decreases == 4


def test_never_exceeds_max_rate() -> None:
    clock = FakeClock()
    lim = limiter(clock, max_rate=20.0, initial_rate=19.0)
    for _ in range(100):
        clock.advance(10.0)
        lim.on_success()
    assert lim.rate == 20.0


def test_threads_share_one_limiter() -> None:
    clock = FakeClock()
    lim = limiter(clock, max_rate=100.0)
    barrier = threading.Barrier(16)

    def worker() -> None:
        barrier.wait()
        for _ in range(25):
            lim.acquire()
            lim.on_success()

    threads = [threading.Thread(target=worker) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stats = lim.stats()
    assert stats.acquired == 400
    # 100 banked, then 300 at 100/s: the shared bucket spaced them over ≥ 3 s of (fake) time.
    assert max(clock.slept) <= 3.0 + 1e-9
    assert stats.waited_s >= 3.0


@pytest.mark.parametrize(
    "kwargs",
    [
        {"min_rate": 0.0},
        {"min_rate": 60.0, "max_rate": 50.0},
        {"decrease_factor": 1.0},
        {"increase_factor": 0.5},
        {"initial_rate": 2000.0},
    ],
)
def test_rejects_inconsistent_parameters(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        AdaptiveRateLimiter(**kwargs)  # type: ignore[arg-type]
