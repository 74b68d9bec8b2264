"""What the instance already records as restored: read in bulk before a run's items, so unchanged ones cost no event.

An item whose restore finds Looker equal to the backup, and whose latest
materialization was made from the same content (`content_hash`) of the same
backup (`backup_fingerprint`), needs no new event: that materialization stands
and its partition stays green. Dagster 1.13 computes partition status so
(dagster/_core/storage/partition_status_cache.py,
`build_failed_and_in_progress_partition_subset`): a partition is FAILED only
when its latest planned event has no later materialization *and* that run
ended in failure; a planned partition left unmaterialized by a run that
succeeded is neither failed nor in progress, so it keeps its materialized
status. A run that is going to fail must therefore materialize its silent
partitions again (`carry_forward`), or they would turn FAILED.

Each materialization carries, as its data version (the `dagster/data_version`
tag), a digest of the content hash and the backup fingerprint: the event log
indexes that tag, so the latest one per partition comes from one query
(`get_latest_tags_by_partition`) instead of reading every record (at 50,000
keys: ~2 s instead of ~33-76 s on this machine). Records without it (written
before) are read one by one, once.

A key does not count as recorded when an outcome observation (a failure, a
stale key, a skip because Looker was modified) is newer than its latest
materialization, or when its partition is FAILED: a new event is then needed
to clear it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass

import dagster as dg

from lookervault_core.restore import Action

__all__ = ["DATA_VERSION_TAG", "RE_RECORDED_BY", "Recorded", "carry_forward", "latest_restored", "restored_from"]

#: Metadata of a standing materialization recorded again by a failing run (`carry_forward`): that run's id.
RE_RECORDED_BY = "re_recorded_by"
#: Dagster's data version tag, one of the few the event log indexes per partition.
DATA_VERSION_TAG = "dagster/data_version"

#: Observation statuses that supersede a materialization (see deadletters._OUTCOMES).
_SUPERSEDING = frozenset({"failed", "not_in_backup", "skipped_modified"})
_PAGE = 10_000
#: Below this many keys, the records are asked for by partition; above, the asset's history is scanned once.
_BY_PARTITION_MAX = 500


def restored_from(content_hash: str, backup_fingerprint: str) -> str:
    """The data version of an item restored from this content of this backup."""
    return hashlib.sha256(f"{content_hash}:{backup_fingerprint}".encode()).hexdigest()[:32]


@dataclass(frozen=True)
class Recorded:
    """A key's latest materialization: where it is stored, and what it was restored from (`restored_from`)."""

    storage_id: int
    version: str


def _text(meta: Mapping[str, object], name: str) -> str:
    value = meta.get(name)
    return "" if value is None else str(getattr(value, "value", value))


def _newest_first(fetch: object, records_filter: dg.AssetRecordsFilter) -> Iterator[dg.EventLogRecord]:
    cursor: str | None = None
    while True:
        result = fetch(records_filter, limit=_PAGE, cursor=cursor, ascending=False)  # type: ignore[operator]
        yield from result.records
        if not result.has_more:
            return
        cursor = result.cursor


def _planned_newest_first(instance: dg.DagsterInstance, records_filter: dg.AssetRecordsFilter
                          ) -> Iterator[dg.EventLogRecord]:
    """Planned-materialization records, newest first, read from the event log storage.

    DagsterInstance.fetch_planned_materializations, which wraps this same
    storage query, is deprecated for 2.0; a deprecation warning raised inside
    a restore step (where warnings are errors, as under pytest) failed the run.
    """
    storage = instance.event_log_storage
    planned = dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED
    before: int | None = None
    while True:
        records = storage.get_event_records(dg.EventRecordsFilter(
            event_type=planned, asset_key=records_filter.asset_key,
            asset_partitions=records_filter.asset_partitions,
            after_cursor=records_filter.after_storage_id, before_cursor=before), limit=_PAGE, ascending=False)
        yield from records
        if len(records) < _PAGE:
            return
        before = records[-1].storage_id


def _filters(asset_key: dg.AssetKey, keys: Collection[str], **kwargs: int) -> list[dg.AssetRecordsFilter]:
    if len(keys) > _BY_PARTITION_MAX:
        return [dg.AssetRecordsFilter(asset_key=asset_key, **kwargs)]
    ordered = sorted(keys)
    return [dg.AssetRecordsFilter(asset_key=asset_key, asset_partitions=ordered[i:i + 100], **kwargs)
            for i in range(0, len(ordered), 100)]


def _latest(instance: dg.DagsterInstance, asset_key: dg.AssetKey, wanted: set[str]) -> dict[str, Recorded]:
    """Each wanted key's latest materialization: its id, and its data version (read from the record if untagged)."""
    # The instance's event log storage (a property of the public DagsterInstance) answers both per
    # partition in one SQL query each; fetch_materializations would deserialize every record.
    storage = instance.event_log_storage
    mat = dg.DagsterEventType.ASSET_MATERIALIZATION
    few = sorted(wanted) if len(wanted) <= _BY_PARTITION_MAX else None
    ids = {k: i for k, i in storage.get_latest_storage_id_by_partition(asset_key, mat).items() if k in wanted}
    tags = storage.get_latest_tags_by_partition(asset_key, mat, [DATA_VERSION_TAG], asset_partitions=few)
    out = {k: Recorded(i, tags[k][DATA_VERSION_TAG]) for k, i in ids.items() if DATA_VERSION_TAG in tags.get(k, {})}
    untagged = {i: k for k, i in ids.items() if k not in out}
    for rec, mat in _materializations(instance, asset_key, untagged):
        out[untagged[rec.storage_id]] = Recorded(rec.storage_id, restored_from(
            _text(mat.metadata, "content_hash"), _text(mat.metadata, "backup_fingerprint")))
    return out


def _materializations(instance: dg.DagsterInstance, asset_key: dg.AssetKey, storage_ids: Collection[int]
                      ) -> Iterator[tuple[dg.EventLogRecord, dg.AssetMaterialization]]:
    """The materialization records with these storage ids, read 500 at a time."""
    ids = sorted(storage_ids)
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        result = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=asset_key, storage_ids=chunk), limit=len(chunk))
        for rec in result.records:
            if rec.asset_materialization is not None:
                yield rec, rec.asset_materialization


def latest_restored(instance: dg.DagsterInstance, asset_key: dg.AssetKey, keys: Collection[str],
                    partitions_def: dg.PartitionsDefinition, run_id: str) -> dict[str, Recorded]:
    """Of `keys`, those whose latest recorded outcome is a materialization, with what it was restored from.

    Reads the latest materialization per partition, then the outcome
    observations and the planned materializations of other runs newer than
    the oldest of them, then the partitions' status. A partition some other
    run planned after its latest materialization is not counted: that run
    may have failed (killed, or refused before any item), and Dagster keeps
    a partition FAILED until it is materialized again, even after a later
    run succeeds without materializing it. This run's own planned events
    hide that FAILED status from `get_status_by_partition` (it reads
    "materializing"), so the planned events are read instead.
    """
    out = _latest(instance, asset_key, set(keys))
    if not out:
        return out
    oldest = min(r.storage_id for r in out.values())
    for records_filter in _filters(asset_key, out, after_storage_id=oldest):
        for rec in _newest_first(instance.fetch_observations, records_filter):
            key = rec.partition_key
            obs = rec.asset_observation
            if key in out and obs is not None and rec.storage_id > out[key].storage_id \
                    and _text(obs.metadata, "status") in _SUPERSEDING:
                del out[key]
    for records_filter in _filters(asset_key, out, after_storage_id=oldest):
        for rec in _planned_newest_first(instance, records_filter):
            key = rec.partition_key
            if key in out and rec.run_id != run_id and rec.storage_id > out[key].storage_id:
                del out[key]
    status = instance.get_status_by_partition(asset_key, sorted(out), partitions_def) or {}
    return {k: r for k, r in out.items() if status.get(k) != dg.AssetPartitionStatus.FAILED}


def carry_forward(instance: dg.DagsterInstance, asset_key: dg.AssetKey, recorded: Mapping[str, Recorded],
                  run_id: str) -> Iterator[dg.AssetMaterialization]:
    """The standing materializations of `recorded` keys again, so a failing run does not turn them FAILED."""
    by_id = {r.storage_id: k for k, r in recorded.items()}
    for rec, mat in _materializations(instance, asset_key, by_id):
        # This run found the item unchanged: the standing record's action ("created") is not this run's,
        # and the run counts it among its unchanged items already (RE_RECORDED_BY tells summary.py).
        yield dg.AssetMaterialization(asset_key=asset_key, partition=by_id[rec.storage_id], tags=mat.tags, metadata={
            **mat.metadata, "action": Action.UNCHANGED.value, RE_RECORDED_BY: run_id,
            "note": f"unchanged since run {rec.run_id}; re-recorded because run {run_id} failed for other items"})
