"""RetryPolicy: which errors are retried, how long it waits, what it reports. No real sleeping."""

from __future__ import annotations

import pytest

from lookervault_core.errors import (
    AuthenticationFailed,
    NotFound,
    RateLimited,
    Unavailable,
    ValidationFailed,
)
from lookervault_core.looker.retry import RetryPolicy, attempts_of, is_transient


class Flaky:
    """Raises the given errors in turn, then returns "ok"."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "ok"


def policy(**kwargs: float) -> tuple[RetryPolicy, list[float]]:
    sleeps: list[float] = []
    return RetryPolicy(sleep=sleeps.append, jitter=0.0, **kwargs), sleeps  # type: ignore[arg-type]


def test_transient_errors_are_retried_with_exponential_backoff() -> None:
    retry, sleeps = policy(initial_backoff=0.5, max_backoff=30.0)
    fn = Flaky(Unavailable("502"), RateLimited("slow down"), Unavailable("reset"))
    seen: list[tuple[int, str]] = []
    assert retry.call(fn, on_retry=lambda n, e: seen.append((n, type(e).__name__))) == "ok"
    assert fn.calls == 4
    assert sleeps == [0.5, 1.0, 2.0]
    assert seen == [(1, "Unavailable"), (2, "RateLimited"), (3, "Unavailable")]


def test_gives_up_after_the_last_attempt_with_the_last_error() -> None:
    retry, sleeps = policy(attempts=5)
    errors = [Unavailable(f"failure {i}") for i in range(10)]
    fn = Flaky(*errors)
    with pytest.raises(Unavailable) as info:
        retry.call(fn)
    assert info.value is errors[4]
    assert attempts_of(info.value) == 5
    assert fn.calls == 5
    assert len(sleeps) == 4


@pytest.mark.parametrize(
    "error",
    [
        NotFound("no such dashboard", status=404),
        ValidationFailed("Validation Failed"),
        AuthenticationFailed("bad token", status=401),
        ValueError("a bug"),
    ],
)
def test_permanent_errors_are_not_retried(error: Exception) -> None:
    retry, sleeps = policy()
    fn = Flaky(error)
    with pytest.raises(type(error)) as info:
        retry.call(fn)
    assert info.value is error
    assert attempts_of(info.value) == 1
    assert fn.calls == 1
    assert sleeps == []


def test_retry_after_is_a_floor_for_the_wait() -> None:
    retry, sleeps = policy(initial_backoff=0.5, max_backoff=2.0)
    fn = Flaky(RateLimited("slow down", retry_after=10.0), RateLimited("slow down", retry_after=None))
    assert retry.call(fn) == "ok"
    assert sleeps == [10.0, 1.0]


def test_backoff_is_capped() -> None:
    retry, sleeps = policy(attempts=8, initial_backoff=1.0, max_backoff=5.0)
    with pytest.raises(Unavailable):
        retry.call(Flaky(*[Unavailable("down") for _ in range(8)]))
    assert sleeps == [1.0, 2.0, 4.0, 5.0, 5.0, 5.0, 5.0]


def test_jitter_stays_within_bounds() -> None:
    retry = RetryPolicy(initial_backoff=1.0, max_backoff=30.0, jitter=0.5)
    waits = [retry.wait_for(3, Unavailable("x")) for _ in range(200)]
    assert all(4.0 <= w <= 4.5 for w in waits)
    assert len(set(waits)) > 1


def test_one_attempt_means_no_retry() -> None:
    retry, sleeps = policy(attempts=1)
    with pytest.raises(Unavailable) as info:
        retry.call(Flaky(Unavailable("down")))
    assert attempts_of(info.value) == 1
    assert sleeps == []


def test_success_first_time_needs_no_sleep() -> None:
    retry, sleeps = policy()
    assert retry.call(lambda: 42) == 42
    assert sleeps == []


def test_transient_flags_match_the_error_tree() -> None:
    assert is_transient(RateLimited("x")) and is_transient(Unavailable("x"))
    assert not is_transient(NotFound("x")) and not is_transient(ValueError("x"))


def test_policy_is_frozen_and_validated() -> None:
    retry = RetryPolicy()
    assert (retry.attempts, retry.initial_backoff, retry.max_backoff) == (5, 0.5, 30.0)
    with pytest.raises(AttributeError):
        retry.attempts = 3  # type: ignore[misc]
    with pytest.raises(ValueError):
        RetryPolicy(attempts=0)
    with pytest.raises(ValueError):
        RetryPolicy(jitter=-1.0)


def test_a_429_waits_its_retry_after_or_a_short_backoff() -> None:
    """The shared limiter paces 429s; a call's own wait must not grow to 8 or 16 s in a storm (issue 18)."""
    retry, sleeps = policy(attempts=12, initial_backoff=0.5, max_backoff=30.0)
    fn = Flaky(*[RateLimited("slow down") for _ in range(6)], RateLimited("slow down", retry_after=3.0),
               RateLimited("slow down", retry_after=3.0))
    assert retry.call(fn) == "ok"
    assert sleeps == [0.5, 1.0, 2.0, 2.0, 2.0, 2.0, 3.0, 3.0]
