"""Restoring a set of partition keys inside one Dagster step.

Successes become `AssetMaterialization(partition=key)` as they happen, so the
UI shows progress live; each failure becomes an `AssetObservation` carrying
the error (the dead-letter record) and the step ends in `dg.Failure` naming
the failed keys, which Dagster then shows as FAILED partitions.
"""

from __future__ import annotations

import contextlib
import queue
import threading
import time
import traceback
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime, timezone

import dagster as dg
from pydantic import Field

from lookervault_core.backup import BackupReader
from lookervault_core.content_types import ContentType
from lookervault_core.errors import LookervaultError, describe
from lookervault_core.graph import TYPE_ORDER
from lookervault_core.restore import (Action, ItemFailure, Outcome, Restorer, RestoreResult, SecondPass,
                                      missing_requirements, restore_many)
from lookervault_core.restore.second_pass import deferred_labels
from lookervault_core.titles import ItemTitle, Titles

from . import progress
from .batching import MaterializationBatches
from ..instance.internals import DagsterEvent
from ..defs.partitions import PARTITIONS
from .recorded import DATA_VERSION_TAG, Recorded, carry_forward, latest_restored, restored_from
from ..defs.selection import BACKFILL_TAG
from .reexecution import Restored, is_reexecution_from_failure, restored_by_ancestors
from ..defs.resources import BackupResource, LookerResource, RestoreStateResource

__all__ = ["ALREADY_RECORDED", "API_ESTIMATE", "SKIPPED_MODIFIED", "STALE", "RestoreConfig", "asset_key", "restore_keys", "restore_levels",
           "split_stale"]

#: What a restore step yields: a restored partition's materialization comes as the `DagsterEvent`
#: Dagster makes of it, written in batches (batching.py).
Event = dg.AssetMaterialization | dg.AssetObservation | DagsterEvent
#: Observation status of a registered key the backup no longer holds: neither restored nor failed.
STALE = "not_in_backup"
#: Observation status of a dry run's estimate of the API calls the real restore of its keys makes.
API_ESTIMATE = "api_estimate"
#: Observation status of an item left as it is because Looker changed it after the backup (skip_modified).
SKIPPED_MODIFIED = "skipped_modified"
#: Status of the one unpartitioned observation counting a run's unchanged items that needed no event.
ALREADY_RECORDED = "unchanged_already_recorded"
_DONE = object()


class RestoreConfig(dg.Config):
    """Run options shared by every restore asset and job (set in the launchpad)."""

    dry_run: bool = Field(default=False, description="record what would change; write nothing to Looker")
    skip_modified: bool = Field(default=False, description="leave items changed in Looker since the backup")
    exact_access: bool = Field(default=False, description="make users' roles and group memberships exactly the "
                               "backup's, removing ones granted since (default: only add)")
    workers: int | None = Field(default=None, description="threads for this run (default: the Looker resource's)")
    max_workers: int | None = Field(default=None, description="ceiling of the items in flight, grown toward "
                                    "while throughput follows (default: the Looker resource's)")


def asset_key(ct: ContentType) -> dg.AssetKey:
    return dg.AssetKey(ct.plural)


def _title_metadata(title: ItemTitle | None) -> dict[str, dg.RawMetadataValue]:
    """First in every item's metadata: how a person finds it (the partition key is its content id)."""
    if title is None:
        return {"title": ""}
    return {"title": title.title, **({"folder": title.folder_path} if title.folder_path else {})}


def _success_metadata(result: RestoreResult, fingerprint: str, title: ItemTitle | None) -> dict[str, dg.RawMetadataValue]:
    meta: dict[str, dg.RawMetadataValue] = {
        **_title_metadata(title),
        "action": result.action.value,
        "destination_id": result.destination_id or "",
        "content_hash": result.content_hash,
        "backup_fingerprint": fingerprint,
        "api_calls": result.api_calls,
        "duration_ms": round(result.duration_s * 1000, 1),
    }
    meta["changed_fields"] = dg.MetadataValue.json(list(result.changed_fields))
    if result.url:
        meta["looker_url"] = dg.MetadataValue.url(result.url)
    if result.message:
        meta["note"] = result.message
    if result.deferred:
        # Soft references to items restored later (a user's home folder): restoring
        # this item again after them sets them; `lookervault restore` does so itself.
        meta["deferred"] = dg.MetadataValue.json(deferred_labels(result.deferred))
    return meta


def _failure_metadata(failure: ItemFailure, title: ItemTitle | None) -> dict[str, dg.RawMetadataValue]:
    return {
        **_title_metadata(title),
        "status": "failed",
        "error_type": failure.error.type,
        "error": failure.error.message,
        "transient": failure.error.transient,
        "details": dg.MetadataValue.json(dict(failure.error.details)),
        "failed_at": failure.failed_at,
        "traceback": dg.MetadataValue.md(f"```\n{failure.traceback}\n```"),
    }


def split_stale(reader: BackupReader, ct: ContentType, keys: Sequence[str]) -> tuple[list[str], list[str]]:
    """`keys` in the backup, and those that are not (registered from an older backup: stale)."""
    present = set(reader.ids(ct))
    return [k for k in keys if k in present], [k for k in keys if k not in present]


def _event(ct: ContentType, outcome: Outcome, fingerprint: str, dry_run: bool, title: ItemTitle | None) -> Event:
    if isinstance(outcome, ItemFailure):
        # A dry run's failure is a finding of the preflight, not a dead letter (deadletters.py).
        return dg.AssetObservation(asset_key=asset_key(ct), partition=outcome.source_id,
                                   metadata={**_failure_metadata(outcome, title),
                                             **({"dry_run": True} if dry_run else {})})
    meta = _success_metadata(outcome, fingerprint, title)
    if outcome.modified_in_looker:
        # Looker still differs from the backup: recorded, but not as restored.
        return dg.AssetObservation(asset_key=asset_key(ct), partition=outcome.source_id,
                                   metadata={"status": SKIPPED_MODIFIED, **meta})
    if dry_run:
        # A dry run writes nothing, so it must not mark the partition restored.
        return dg.AssetObservation(asset_key=asset_key(ct), partition=outcome.source_id,
                                   metadata={"status": "dry_run", **meta})
    return dg.AssetMaterialization(asset_key=asset_key(ct), partition=outcome.source_id, metadata=meta,
                                   description=title.describe() if title is not None else None,
                                   tags={DATA_VERSION_TAG: restored_from(outcome.content_hash, fingerprint)})


def _run_level_failure(context: dg.OpExecutionContext, ct: ContentType, keys: Sequence[str],
                       exc: LookervaultError, titles: Mapping[str, ItemTitle]) -> Iterator[Event]:
    """Nothing could be restored (Looker refused the login, the backup is unreadable): each key's outcome.

    Every key gets the error as its dead-letter record, so its latest recorded
    outcome is this one, not an older, already fixed error.

    Raises:
        dg.Failure: with the cause as its first line.
    """
    info = describe(exc)
    trace = "".join(traceback.format_exception(exc))
    failed_at = datetime.now(timezone.utc).isoformat()
    context.log.error(f"no {ct.plural} restored: {info.type}: {info.message}")
    for key in keys:
        failure = ItemFailure(content_type=ct, source_id=key, error=info, traceback=trace, failed_at=failed_at,
                              duration_s=0.0)
        yield dg.AssetObservation(asset_key=asset_key(ct), partition=key,
                                  metadata={**_failure_metadata(failure, titles.get(key)), "scope": "run"})
    raise dg.Failure(
        description=f"{info.type}: {info.message}\n(before any item: none of the {len(keys)} {ct.plural} "
                    f"was restored; each is recorded as failed with this error)",
        metadata={"error_type": info.type, "failed_keys": dg.MetadataValue.json(list(keys))},
    ) from exc


def _carried_forward(done_before: dict[str, Restored]) -> Iterator[Event]:
    for key, restored in done_before.items():
        mat = restored.materialization
        yield dg.AssetMaterialization(asset_key=mat.asset_key, partition=key, metadata={
            **mat.metadata, "note": f"restored by run {restored.run_id}; not redone by this re-execution"})


def dependencies_lacking(
    looker: LookerResource, backup: BackupResource, state: RestoreStateResource,
    roots: Sequence[tuple[ContentType, str]],
) -> list[tuple[ContentType, str]]:
    """What `roots` need that Looker lacks, in restore order (reads Looker, writes nothing).

    Raises:
        LookervaultError: the backup, Looker or the id map cannot be reached.
    """
    with backup.open() as reader, looker.connect() as client, \
            state.idmap(client.settings.instance_id, reader) as idmap:
        return missing_requirements(Restorer(client, reader, idmap, dry_run=True), roots)


def _needs_no_event(outcome: Outcome, recorded: dict[str, "Recorded"], fingerprint: str, dry_run: bool) -> bool:
    """An unchanged item whose latest materialization was made from this same backup content."""
    if not isinstance(outcome, RestoreResult) or dry_run or outcome.action is not Action.UNCHANGED:
        return False
    if outcome.deferred or outcome.modified_in_looker:
        return False
    rec = recorded.get(outcome.source_id)
    return rec is not None and rec.version == restored_from(outcome.content_hash, fingerprint)


def restore_keys(
    context: dg.OpExecutionContext,
    ct: ContentType,
    keys: Sequence[str],
    *,
    config: RestoreConfig,
    looker: LookerResource,
    backup: BackupResource,
    state: RestoreStateResource,
    second_pass: SecondPass | None = None,
) -> Iterator[Event]:
    """Restore `keys` of `ct` on a thread pool, yielding one event per key as it finishes.

    The steps: leave out what re-executed runs restored already, open the
    backup, Looker and the id map, record stale keys, restore on threads
    recording each outcome (in `second_pass` too, when given), then what a
    failing run must record again.

    Raises:
        dg.Failure: naming every key that failed, with its error type and message.
    """
    step = _Step(context, ct, config, started=time.perf_counter(), second_pass=second_pass)
    keys = step.leave_out_done_before(keys)
    workers = config.workers or looker.workers
    ceiling = max(workers, config.max_workers or looker.max_workers)
    try:
        with contextlib.ExitStack() as opened:
            try:
                reader = opened.enter_context(backup.open())
                step.titles = Titles(reader).of(ct, keys)
                client = opened.enter_context(looker.connect(ceiling))
                idmap = opened.enter_context(state.idmap(client.settings.instance_id, reader,
                                                         record=not config.dry_run, log=context.log.info))
            except LookervaultError as exc:
                yield from _run_level_failure(context, ct, keys, exc, step.titles)
            step.fingerprint = reader.fingerprint
            restorer = Restorer(client, reader, idmap, dry_run=config.dry_run, skip_modified=config.skip_modified,
                                exact_access=config.exact_access)
            keys, stale = split_stale(reader, ct, keys)
            yield from step.record_stale(stale)
            context.log.info(f"restoring {len(keys)} {ct.plural} with {workers} workers (up to {ceiling})"
                             f"{' (dry run)' if config.dry_run else ''} into {client.settings.base_url}")
            calls_before = client.calls
            yield from step.restore(restorer, keys, workers, ceiling)
            if config.dry_run:
                yield from step.record_estimate(client.calls - calls_before)
        yield from step.finish(len(keys))
    finally:
        # A step stopped by an exception (or terminated) still records what it restored.
        step.batches.close()


class _Step:
    """One restore step over keys of one type: what it has restored and recorded so far."""

    def __init__(self, context: dg.OpExecutionContext, ct: ContentType, config: RestoreConfig, *,
                 started: float, second_pass: SecondPass | None = None) -> None:
        self.context, self.ct, self.config, self.started = context, ct, config, started
        self.second_pass = second_pass
        self.batches = MaterializationBatches(context)
        self.fingerprint = ""
        #: Keys the re-executed runs restored already (a re-execution from failure leaves them out).
        self.done_before: dict[str, Restored] = {}
        #: Unchanged items already recorded as restored from this same backup content: no event of their own.
        self.silent: dict[str, Recorded] = {}
        self.failures: list[ItemFailure] = []
        #: In a dry run, the writes its items left out (RestoreResult.planned_calls).
        self.planned_calls = 0
        self.done = 0
        #: The title and folder path of each key the backup holds (titles.py).
        self.titles: dict[str, ItemTitle] = {}

    def name(self, key: str) -> str:
        """`look 202 "Orders by Status (Regional)"`: a key as messages name it."""
        title = self.titles.get(key)
        return f'{self.ct.label} {key}' + (f' "{title.title}"' if title is not None and title.title else "")

    def leave_out_done_before(self, keys: Sequence[str]) -> list[str]:
        context = self.context
        if not is_reexecution_from_failure(context.run):
            return list(keys)
        wanted = set(keys)
        self.done_before = {k: r for k, r in restored_by_ancestors(context.instance, context.run,
                                                                   asset_key(self.ct)).items() if k in wanted}
        context.log.info(f"re-execution from failure: {len(self.done_before)} {self.ct.plural} already restored by "
                         f"the re-executed runs are left out; {len(keys) - len(self.done_before)} to restore")
        return [k for k in keys if k not in self.done_before]

    def record_stale(self, stale: Sequence[str]) -> Iterator[Event]:
        if not stale:
            return
        self.context.log.warning(
            f"{len(stale)} {self.ct.plural} are registered but not in this backup (stale keys), not restored: "
            f"{', '.join(stale[:20])}{' ...' if len(stale) > 20 else ''}; "
            f"`lookervault partitions prune --backup BACKUP` removes them")
        for key in stale:
            yield from self.batches.add(dg.AssetObservation(asset_key=asset_key(self.ct), partition=key, metadata={
                "status": STALE, "backup_fingerprint": self.fingerprint,
                "note": "not in the backup this run restored from; nothing was done",
            }))

    def _recorded(self, keys: Sequence[str]) -> dict[str, Recorded]:
        """Issue 10, pay only for what changed: the latest materialization of each key (see recorded.py)."""
        t0 = time.perf_counter()
        # An asset backfill counts a partition its run did not materialize as failed, and then
        # starts nothing below it (asset_backfill.py): its runs record every key.
        in_backfill = BACKFILL_TAG in self.context.run.tags
        recorded = {} if self.config.dry_run or in_backfill else latest_restored(
            self.context.instance, asset_key(self.ct), keys, PARTITIONS[self.ct], self.context.run_id)
        self.context.log.info(f"{len(recorded)} of {len(keys)} {self.ct.plural} already recorded as restored "
                              f"(read in {time.perf_counter() - t0:.1f} s): no event for those found unchanged")
        return recorded

    def restore(self, restorer: Restorer, keys: Sequence[str], workers: int, ceiling: int) -> Iterator[Event]:
        """Each key's outcome recorded as it comes from the restore on threads (restore_many)."""
        recorded = self._recorded(keys)
        last_log = time.perf_counter()
        progress.report(self.ct, 0, len(keys), 0)
        for outcome in _outcomes(restorer, self.ct, keys, workers, ceiling):
            self.done += 1
            if self.second_pass is not None:
                self.second_pass.record_outcome(outcome)
            if isinstance(outcome, RestoreResult):
                self.planned_calls += outcome.planned_calls
            if isinstance(outcome, ItemFailure):
                self.failures.append(outcome)
                self.context.log.error(f"{self.name(outcome.source_id)}: {outcome.error.type}: "
                                       f"{outcome.error.message}")
            if _needs_no_event(outcome, recorded, self.fingerprint, self.config.dry_run):
                self.silent[outcome.source_id] = recorded[outcome.source_id]
            else:
                yield from self.batches.add(_event(self.ct, outcome, self.fingerprint, self.config.dry_run,
                                                   self.titles.get(outcome.source_id)))
            progress.report(self.ct, self.done, len(keys), len(self.failures))
            if time.perf_counter() - last_log > 10:
                last_log = time.perf_counter()
                rate = self.done / (last_log - self.started)
                self.context.log.info(f"{self.done}/{len(keys)} processed, {len(self.failures)} failed, "
                                      f"{rate:.1f} items/s")

    def record_estimate(self, reads: int) -> Iterator[Event]:
        """A dry run's estimate of the API calls the real restore makes: its own calls, plus the writes it left out.

        Its own calls are every read the restore makes too (listings, lookups,
        comparisons, logins, retries); the writes are counted where the dry run
        skipped them. Items a dry run cannot finish (a missing model) count
        only the reads they made.
        """
        yield from self.batches.add(dg.AssetObservation(asset_key=asset_key(self.ct), metadata={
            "status": API_ESTIMATE, "calls": reads + self.planned_calls, "reads": reads,
            "planned_calls": self.planned_calls}))

    def finish(self, total: int) -> Iterator[Event]:
        """The step's summary, what a failing run records again, and its failure.

        Raises:
            dg.Failure: naming every key that failed (not in a dry run, whose failures are findings).
        """
        context, ct, failures = self.context, self.ct, self.failures
        elapsed = time.perf_counter() - self.started
        context.log.info(f"{ct.plural}: {self.done} processed, {self.done - len(failures)} succeeded "
                         f"({len(self.silent)} unchanged and already recorded: no event), {len(failures)} failed "
                         f"in {elapsed:.1f} s ({self.done / elapsed if elapsed else 0:.1f} items/s)")
        if self.silent:
            yield from self.batches.add(dg.AssetObservation(asset_key=asset_key(ct), metadata={
                "status": ALREADY_RECORDED, "count": len(self.silent), "backup_fingerprint": self.fingerprint}))
        if failures and (context.has_partition_key or context.has_partition_key_range):
            # This run planned the silent keys: failing without materializing them
            # again would turn them FAILED (recorded.py).
            for mat in carry_forward(context.instance, asset_key(ct), self.silent, context.run_id):
                yield from self.batches.add(mat)
        if failures:
            # This run planned the re-executed runs' successes too: failing without
            # materializing them again would turn them FAILED.
            for mat in _carried_forward(self.done_before):
                yield from self.batches.add(mat)
        yield from self.batches.flush()
        if failures and self.config.dry_run:
            # A preflight's findings, not a failed step: each is recorded above (status "failed"), and
            # failing the run would turn every partition it planned FAILED, a dead letter for items
            # that were not even tried.
            context.log.warning(f"{len(failures)} of {total} {ct.plural} cannot be restored (dry run): "
                                + ", ".join(f.source_id for f in failures[:50])
                                + (" ..." if len(failures) > 50 else ""))
        elif failures:
            listed = "\n".join(f"- {self.name(f.source_id)}: {f.error.type}: {f.error.message}" for f in failures[:50])
            more = f"\n... and {len(failures) - 50} more" if len(failures) > 50 else ""
            raise dg.Failure(
                description=f"{len(failures)} of {total} {ct.plural} failed:\n{listed}{more}",
                metadata={"failed_keys": dg.MetadataValue.json([f.source_id for f in failures])},
            )


def _outcomes(restorer: Restorer, ct: ContentType, keys: Sequence[str], workers: int,
              ceiling: int) -> Iterator[Outcome]:
    """`restore_many`'s outcomes as they come, in the caller's thread (where Dagster wants events yielded)."""
    outcomes: queue.Queue[object] = queue.Queue()
    worker_error: list[BaseException] = []

    def work() -> None:
        try:
            restore_many(restorer, [(ct, k) for k in keys], workers=workers, max_workers=ceiling,
                         on_outcome=outcomes.put)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the step's thread below
            worker_error.append(exc)
        finally:
            outcomes.put(_DONE)

    thread = threading.Thread(target=work, name=f"restore-{ct.plural}", daemon=True)
    thread.start()
    while (item := outcomes.get()) is not _DONE:
        assert isinstance(item, (RestoreResult, ItemFailure))
        yield item
    thread.join()
    if worker_error:
        raise worker_error[0]


def restore_levels(
    context: dg.OpExecutionContext,
    selected: Mapping[ContentType, Sequence[str]],
    *,
    config: RestoreConfig,
    looker: LookerResource,
    backup: BackupResource,
    state: RestoreStateResource,
) -> Iterator[Event]:
    """Restore the keys of several types level by level in dependency order, as one step.

    A failed item does not stop the next level: each key's error is recorded
    already, and what needs a failed item fails its own parent check, naming
    it. Items written before something they softly reference existed (a user
    before its home folder) are restored once more at the end, as
    `lookervault restore` does, so one run leaves nothing to repair.

    Raises:
        dg.Failure: naming every failed key of every level.
    """
    failures: list[tuple[ContentType, dg.Failure]] = []
    second_pass = SecondPass()

    def level(ct: ContentType, keys: Sequence[str]) -> Iterator[Event]:
        try:
            yield from restore_keys(context, ct, keys, config=config, looker=looker, backup=backup, state=state,
                                    second_pass=second_pass)
        except dg.Failure as failure:
            failures.append((ct, failure))

    for ct in TYPE_ORDER:
        if selected.get(ct):
            yield from level(ct, selected[ct])
    second = second_pass.due()
    if second and not config.dry_run:
        context.log.info("again, to set references to items restored after them: "
                         + ", ".join(f"{len(keys)} {ct.plural}" for ct, keys in second.items()))
        for ct, keys in second.items():
            yield from level(ct, keys)
    if failures:
        failed: dict[str, list[str]] = {}
        for ct, failure in failures:
            meta = failure.metadata.get("failed_keys")
            keys = meta.value if meta is not None and isinstance(meta.value, list) else []
            failed.setdefault(ct.plural, []).extend(str(k) for k in keys)
        raise dg.Failure(
            description="\n".join(f.description or f"{ct.plural} failed" for ct, f in failures),
            metadata={"failed_keys": dg.MetadataValue.json(failed)},
        )
