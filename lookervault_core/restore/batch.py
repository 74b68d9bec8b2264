"""Restore many items on a thread pool, each after the items it references."""

from __future__ import annotations

import logging
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime, timezone

import networkx as nx

from ..content_types import ContentType
from ..errors import ErrorInfo, LookerApiError, LookervaultError, describe
from ..graph import Ref, break_cycles, dependency_graph, query_links, references, restore_order
from ..looker.ratelimit import AdaptiveRateLimiter
from ..queries import models_needed
from .preflight import lacking_models
from .prefetch import LISTABLE
from .restorer import Restorer
from .result import Action, ItemFailure, Outcome, RestoreResult
from .second_pass import SecondPass

__all__ = ["AdaptiveConcurrency", "BatchSummary", "ItemFailure", "Outcome", "plan", "restore_many"]

Key = tuple[ContentType, str]

logger = logging.getLogger(__name__)


@dataclass
class BatchSummary:
    """Totals of one batch: counts per action, failures, duration and throughput."""

    results: list[RestoreResult] = field(default_factory=list)
    failures: list[ItemFailure] = field(default_factory=list)
    #: Outcomes of the second pass over items restored with deferred references.
    second_pass: list[Outcome] = field(default_factory=list)
    duration_s: float = 0.0
    cycles: list[list[Key]] = field(default_factory=list)
    #: A dry run's preflight: LookML model → how many items need it that Looker lacks (see restore.preflight).
    lacking_models: dict[str, int] = field(default_factory=dict)

    @property
    def processed(self) -> int:
        return len(self.results) + len(self.failures)

    @property
    def throughput(self) -> float:
        """Items per second over the whole batch."""
        return self.processed / self.duration_s if self.duration_s > 0 else 0.0

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {a.value: 0 for a in Action}
        for r in self.results:
            out[r.action.value] += 1
        out["failed"] = len(self.failures)
        return out


#: A key, what its backup blob refers to, and its query links (None: the row could not be read).
Entry = tuple[ContentType, str, list[Ref], "tuple[set[str], set[str]] | None"]


def plan(restorer: Restorer, keys: Iterable[Key]) -> tuple["nx.DiGraph[Key]", list[list[Key]]]:
    """The dependency graph of `keys` from their backup blobs, and its cycles.

    A row that cannot be read still gets a node, so it fails in its own turn.
    """
    return _plan(restorer, _entries(restorer, keys))


def _entries(restorer: Restorer, keys: Iterable[Key]) -> list[Entry]:
    """Each key with what its backup blob refers to (nothing when the row cannot be read) and its queries."""
    entries: list[Entry] = []
    for ct, item_id in keys:
        try:
            data = restorer.backup.get(ct, item_id).data
        except LookervaultError:
            entries.append((ct, item_id, [], None))
            continue
        entries.append((ct, item_id, references(ct, data), query_links(ct, data)))
    return entries


def _plan(restorer: Restorer, full: Sequence[Entry]) -> tuple["nx.DiGraph[Key]", list[list[Key]]]:
    entries = [(ct, item_id, refs) for ct, item_id, refs, _ in full]
    queries = {(ct, item_id): links for ct, item_id, _, links in full if links is not None}
    graph = dependency_graph(entries, queries)
    _model_edges(restorer, graph, entries)
    _, cycles = restore_order(graph)
    return graph, cycles


def _model_edges(restorer: Restorer, graph: "nx.DiGraph[Key]",
                 entries: Sequence[tuple[ContentType, str, list[Ref]]]) -> None:
    """An item whose queries need a LookML model waits for that model's configuration in the same batch.

    Looker answers `POST /queries` of a model it lacks with 404 (looker-cli #36):
    restored at once, a look could race the model it needs.
    """
    models = {item_id for ct, item_id, _ in entries if ct is ContentType.LOOKML_MODEL}
    if not models:
        return
    for ct, item_id, _ in entries:
        if ct not in (ContentType.LOOK, ContentType.DASHBOARD, ContentType.SCHEDULED_PLAN):
            continue
        try:
            data = restorer.backup.get(ct, item_id).data
        except LookervaultError:
            continue
        for model in models_needed(ct, data, restorer.backup_query) & models:
            graph.add_edge((ContentType.LOOKML_MODEL, model), (ct, item_id))


#: A type with at least this many items in a batch is listed in bulk first (see restore.prefetch).
PREFETCH_MIN = 20
#: A type the batch does not restore, listed when its items refer to at least this many of it: a
#: listing page answers 500 objects, and an instance may hold many more than the batch refers to.
PREFETCH_REFERENCED_MIN = 100


def _prefetch(restorer: Restorer, entries: Sequence[Entry]) -> None:
    """List in bulk each listable type with many items in the batch, or that its items refer to many of.

    A referenced object is checked once per Restorer (`Restorer.probe`): a
    batch of dashboards showing hundreds of looks would read each look; the
    listing of every look (a page per 500) answers all of them.
    """
    own = Counter(ct for ct, _, _, _ in entries)
    referenced: dict[ContentType, set[str]] = {}
    for _, _, refs, _ in entries:
        for ref in refs:
            if ref.content_type not in own:
                referenced.setdefault(ref.content_type, set()).add(ref.id)
    wanted = [ct for ct, n in own.items() if n >= PREFETCH_MIN] + \
        [ct for ct, ids in referenced.items() if len(ids) >= PREFETCH_REFERENCED_MIN]
    for content_type in wanted:
        if content_type not in LISTABLE:
            continue
        try:
            listed = restorer.prefetch(content_type)
        except LookerApiError as exc:
            # Only a saving: without the listing every item reads its own object.
            logger.warning("listing %ss failed (%s); reading them one by one", content_type.label, exc)
            continue
        logger.info("listed %d live %ss in bulk", listed, content_type.label)


def _preflight(restorer: Restorer, keys: Sequence[Key]) -> dict[str, int]:
    """The LookML models a dry run's selection needs that Looker lacks, logged one per line."""
    lacking = lacking_models(restorer.client, restorer.backup, keys, lookup=restorer.backup_query)
    for model, n in lacking.items():
        logger.warning("LookML model %r is not in Looker; %d item(s) need it: deploy its project first", model, n)
    return lacking


def _failure(key: Key, exc: BaseException, started: float) -> ItemFailure:
    return ItemFailure(
        content_type=key[0],
        source_id=key[1],
        error=describe(exc),
        traceback="".join(traceback.format_exception(exc)),
        failed_at=datetime.now(timezone.utc).isoformat(),
        duration_s=time.perf_counter() - started,
    )


class AdaptiveConcurrency:
    """How many items run at once: `workers` at first, doubled toward `ceiling` while it pays.

    With Looker's latency the workers, not the CPU, are the limit: 8 workers
    at 100 ms and one call per item cannot exceed 80 items/s. After every
    round (twice as many completions as slots) the completion rate is
    compared with the round before: the limit doubles while the rate rose by
    a tenth or more, and stops growing once it did not (the CPU or Looker is
    then the limit), or once the process was busy for `SATURATED` of the
    round's time: its Python threads share one core (the GIL), so more of
    them only add switching between them (at 32 workers against a fast
    Looker, ~4 ms of CPU per re-created dashboard). A 429 seen by the shared
    rate limiter halves it, never below `workers`; each round free of 429s
    after that doubles it back towards where it was (a storm of 429s that
    ended must not leave it low).
    """

    #: CPU seconds per second of a round above which more threads cannot help.
    SATURATED = 0.8

    def __init__(self, workers: int, ceiling: int, limiter: AdaptiveRateLimiter, *,
                 clock: Callable[[], float] = time.perf_counter,
                 cpu_clock: Callable[[], float] = time.process_time) -> None:
        self.floor = self.limit = max(1, workers)
        self.ceiling = max(self.floor, ceiling)
        self._limiter = limiter
        self._clock = clock
        self._cpu_clock = cpu_clock
        self._limited = limiter.stats().rate_limited
        self._growing = self.ceiling > self.floor
        self._before_cut = 0
        self._done, self._since, self._rate = 0, clock(), 0.0
        self._cpu_since = cpu_clock()

    def completed(self) -> None:
        """Count one finished item; at the end of a round, adjust `limit`."""
        self._done += 1
        if self.ceiling == self.floor or self._done < 2 * self.limit:
            return
        now, cpu = self._clock(), self._cpu_clock()
        elapsed = max(now - self._since, 1e-9)
        rate = self._done / elapsed
        busy = (cpu - self._cpu_since) / elapsed
        limited = self._limiter.stats().rate_limited
        if limited > self._limited:
            self._before_cut = max(self._before_cut, self.limit)
            self.limit = max(self.floor, self.limit // 2)
        elif self.limit < self._before_cut:
            self.limit = min(self._before_cut, self.limit * 2)
        elif self._growing and rate >= 1.1 * self._rate and busy < self.SATURATED:
            self.limit = min(self.ceiling, self.limit * 2)
        else:
            self._growing = False
        self._limited, self._rate, self._done, self._since, self._cpu_since = limited, rate, 0, now, cpu


def restore_many(
    restorer: Restorer,
    keys: Sequence[Key],
    *,
    workers: int = 8,
    max_workers: int | None = None,
    on_outcome: Callable[[Outcome], None] | None = None,
) -> BatchSummary:
    """Restore `keys` with `workers` threads; an item starts once the items it references are done.

    With `max_workers` above `workers`, the number of items in flight adapts
    (see `AdaptiveConcurrency`): it grows toward `max_workers` while throughput follows and
    shrinks on 429s. Size the client's connection pool for `max_workers`
    (`LookerSettings.workers`).

    A failure never stops the batch: it is returned (and passed to
    `on_outcome`) as an ItemFailure and the rest go on. Items on a reference
    cycle are started in a fixed order after their other dependencies; items
    written without a soft reference to a later item of the batch are
    restored a second time at the end, which sets it.
    """
    started = time.perf_counter()
    lacking = _preflight(restorer, keys) if restorer.dry_run else {}
    eager = restorer.eager_reads
    restorer.eager_reads = len(keys) <= 1
    try:
        return _restore_many(restorer, keys, workers, max_workers, on_outcome, started, lacking)
    finally:
        restorer.eager_reads = eager


def _restore_many(restorer: Restorer, keys: Sequence[Key], workers: int, max_workers: int | None,
                  on_outcome: Callable[[Outcome], None] | None, started: float,
                  lacking: dict[str, int]) -> BatchSummary:
    if len(keys) > 1:
        restorer.idmap.load()  # one query for the whole batch, not one per id each item looks up
    entries = _entries(restorer, keys)
    _prefetch(restorer, entries)
    graph, cycles = _plan(restorer, entries)
    del entries  # a batch of 50,000 holds no references it no longer needs
    break_cycles(graph)
    summary = BatchSummary(cycles=cycles, lacking_models=lacking)
    waiting = {node: graph.in_degree(node) for node in graph}
    ready = [node for node, n in waiting.items() if n == 0]
    lock = threading.Lock()

    def run_one(key: Key) -> Outcome:
        t0 = time.perf_counter()
        try:
            return restorer.restore(*key)
        except Exception as exc:  # noqa: BLE001 - expected or a bug, a failure fails its item, not the batch
            return _failure(key, exc, t0)

    gate = AdaptiveConcurrency(workers, max_workers or workers, restorer.client.rate_limiter)
    with ThreadPoolExecutor(max_workers=gate.ceiling, thread_name_prefix="restore") as pool:
        running: dict[Future[Outcome], Key] = {}
        while ready or running:
            while ready and len(running) < gate.limit:
                key = ready.pop()
                running[pool.submit(run_one, key)] = key
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for fut in done:
                key = running.pop(fut)
                outcome = fut.result()
                gate.completed()
                with lock:
                    if isinstance(outcome, ItemFailure):
                        summary.failures.append(outcome)
                    else:
                        summary.results.append(outcome)
                if on_outcome is not None:
                    on_outcome(outcome)
                for child in graph.successors(key):
                    waiting[child] -= 1
                    if waiting[child] == 0:
                        ready.append(child)
    # Items written without a soft reference to something this batch restored after them
    # (a user's home folder) are restored again, which sets it (second_pass.py).
    second = SecondPass()
    for result in summary.results:
        second.record_outcome(result)
    for failure in summary.failures:
        second.record_outcome(failure)
    again = second.due_keys()
    if again and not restorer.dry_run:
        with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="restore") as pool:
            for outcome in pool.map(run_one, again):
                summary.second_pass.append(outcome)
                if on_outcome is not None:
                    on_outcome(outcome)
    summary.duration_s = time.perf_counter() - started
    return summary
