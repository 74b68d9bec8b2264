"""How many items restore_many keeps in flight: grown toward max_workers while throughput follows, cut on 429s."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from lookervault_core.content_types import ContentType as CT
from lookervault_core.looker import AdaptiveRateLimiter
from lookervault_core.restore import Restorer, restore_many
from lookervault_core.restore.batch import AdaptiveConcurrency
from lookervault_core.testing.backups import build_synthetic_backup
from lookervault_core.testing.fake_looker import FakeLooker


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def IDLE() -> float:  # noqa: N802 - a clock of a process that waits on Looker all the time
    return 0.0


def _round(gate: AdaptiveConcurrency, clock: Clock, seconds: float) -> None:
    """One round of completions (twice the limit) taking `seconds`."""
    for _ in range(2 * gate.limit):
        gate.completed()
        clock.now += seconds / (2 * gate.limit)


def test_grows_while_throughput_follows_then_settles() -> None:
    clock = Clock()
    gate = AdaptiveConcurrency(8, 64, AdaptiveRateLimiter(), clock=clock, cpu_clock=IDLE)
    _round(gate, clock, 1.0)              # 16 items/s
    assert gate.limit == 16
    _round(gate, clock, 1.0)              # 32 items/s: twice the rate
    assert gate.limit == 32
    _round(gate, clock, 2.0)              # 32 items/s again: the workers are no longer the limit
    assert gate.limit == 32
    _round(gate, clock, 1.0)              # settled: no more growth
    assert gate.limit == 32


def test_it_does_not_grow_while_the_process_is_busy() -> None:
    """Threads share one core for Python (the GIL): once the CPU is the limit, more of them only add switching."""
    clock = Clock()
    cpu = Clock()

    def busy_round(share: float) -> None:
        for _ in range(2 * gate.limit):
            gate.completed()
            clock.now += 1.0 / (2 * gate.limit)
            cpu.now += share / (2 * gate.limit)

    gate = AdaptiveConcurrency(8, 64, AdaptiveRateLimiter(), clock=clock, cpu_clock=cpu)
    busy_round(0.9)  # rate rose from nothing, but the process was busy 90% of the round
    assert gate.limit == 8
    busy_round(0.1)
    assert gate.limit == 8  # settled, as after a round that did not pay

    gate = AdaptiveConcurrency(8, 64, AdaptiveRateLimiter(), clock=clock, cpu_clock=cpu)
    busy_round(0.3)  # mostly waiting on Looker: grows as before
    assert gate.limit == 16


def test_a_429_halves_it_but_never_below_workers() -> None:
    clock, limiter = Clock(), AdaptiveRateLimiter(sleep=lambda s: None)
    gate = AdaptiveConcurrency(8, 64, limiter, clock=clock, cpu_clock=IDLE)
    _round(gate, clock, 1.0)
    _round(gate, clock, 1.0)
    assert gate.limit == 32
    limiter.on_rate_limited(None)
    _round(gate, clock, 1.0)
    assert gate.limit == 16
    limiter.on_rate_limited(None)
    _round(gate, clock, 1.0)
    limiter.on_rate_limited(None)
    _round(gate, clock, 1.0)
    assert gate.limit == 8


def test_without_max_workers_it_stays_at_workers() -> None:
    clock = Clock()
    gate = AdaptiveConcurrency(8, 8, AdaptiveRateLimiter(), clock=clock, cpu_clock=IDLE)
    for seconds in (4.0, 1.0, 0.25):
        _round(gate, clock, seconds)
    assert gate.limit == 8


def test_an_adaptive_batch_restores_everything_once(
    fake: FakeLooker, tmp_path: Path, make_restorer: Callable[..., Restorer]
) -> None:
    backup = build_synthetic_backup(tmp_path / "b.sqlite", folders=3, looks=30, dashboards=0, tiles_per_dashboard=0)
    fake.put("lookml_models", {"name": "thelook", "project_name": "thelook"})  # its LookML is deployed
    restorer = make_restorer(backup)
    keys = [(ct, row.id) for ct in (CT.PERMISSION_SET, CT.MODEL_SET, CT.ROLE, CT.GROUP, CT.USER, CT.FOLDER, CT.LOOK)
            for row in restorer.backup.rows(ct)]
    summary = restore_many(restorer, keys, workers=2, max_workers=16)
    assert summary.failures == [] and summary.processed == len(keys)
    assert len(fake.all("looks")) == 30
    assert sum(1 for r in fake.requests if r.method == "POST" and r.path == "/looks") == 30


def test_after_429s_stop_it_grows_back_to_where_it_was() -> None:
    """A storm of 429s that ended must not leave the batch at `workers` for the rest of the run (issue 18)."""
    clock, limiter = Clock(), AdaptiveRateLimiter(sleep=lambda s: None)
    gate = AdaptiveConcurrency(8, 64, limiter, clock=clock, cpu_clock=IDLE)
    for seconds in (1.0, 1.0, 2.0):
        _round(gate, clock, seconds)
    assert gate.limit == 32  # settled: the workers are no longer the limit
    for _ in range(2):
        limiter.on_rate_limited(None)
        _round(gate, clock, 1.0)
    assert gate.limit == 8
    _round(gate, clock, 1.0)
    _round(gate, clock, 1.0)
    assert gate.limit == 32
