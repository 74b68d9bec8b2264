"""Re-execution from failure: what the runs being re-executed already restored.

A re-execution from the run page (or an automatic retry) inherits its parent's
partition-range tags, so it would plan and restore the whole range again. The
restore step instead leaves out every key a run of the chain (parent,
grandparent, ...) already materialized.

Already materialized means: in the asset's records (the index partition
status is computed from), not just in the run's own event log. Dagster's
SQLite storage writes an asset event to the run's log first and to the index
in a second transaction; a worker killed between the two leaves a key the
run's log names and the index lacks (issue 18: 37 of 139). Such a key is
restored again: found unchanged in Looker, it is recorded then.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import dagster as dg

__all__ = ["Restored", "is_reexecution_from_failure", "restored_by_ancestors"]

#: Set by Dagster on "Re-execute from asset failure" (no public property, unlike `is_resume_retry`).
_ASSET_RESUME_RETRY_TAG = "dagster/is_asset_resume_retry"


@dataclass(frozen=True)
class Restored:
    """A key's latest materialization in the re-executed chain, and the run that made it."""

    run_id: str
    materialization: dg.AssetMaterialization


def is_reexecution_from_failure(run: dg.DagsterRun) -> bool:
    """A re-execution from (asset) failure or an automatic retry; not "re-execute all"."""
    return run.parent_run_id is not None and (
        run.is_resume_retry or run.tags.get(_ASSET_RESUME_RETRY_TAG) == "true")


def restored_by_ancestors(instance: dg.DagsterInstance, run: dg.DagsterRun,
                          asset_key: dg.AssetKey) -> dict[str, Restored]:
    """Partitions of `asset_key` materialized by the runs `run` re-executes, as the asset's records hold them."""
    out: dict[str, Restored] = {}
    chain: set[str] = set()
    run_id = run.parent_run_id
    while run_id is not None:
        chain.add(run_id)
        for entry in instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION):
            mat = entry.asset_materialization
            if mat is not None and mat.asset_key == asset_key and mat.partition and mat.partition not in out:
                out[mat.partition] = Restored(entry.run_id, mat)
        parent = instance.get_run_by_id(run_id)
        run_id = parent.parent_run_id if parent is not None else None
    recorded = _recorded_by(instance, asset_key, out, chain)
    return {k: r for k, r in out.items() if k in recorded}


def _recorded_by(instance: dg.DagsterInstance, asset_key: dg.AssetKey, keys: Collection[str],
                 run_ids: Collection[str]) -> set[str]:
    """Of `keys`, those whose latest materialization in the asset's records was made by one of `run_ids`."""
    latest = instance.event_log_storage.get_latest_storage_id_by_partition(
        asset_key, dg.DagsterEventType.ASSET_MATERIALIZATION)
    ids = sorted(latest[k] for k in keys if k in latest)
    out: set[str] = set()
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        result = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=asset_key, storage_ids=chunk), limit=len(chunk))
        out.update(rec.partition_key for rec in result.records if rec.run_id in run_ids and rec.partition_key)
    return out
