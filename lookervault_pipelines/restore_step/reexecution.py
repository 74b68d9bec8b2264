"""Re-execution from failure: what the runs being re-executed already restored.

A re-execution from the run page (or an automatic retry) inherits its parent's
partition-range tags, so it would plan and restore the whole range again. The
restore step instead leaves out every key a run of the chain (parent,
grandparent, ...) already materialized.
"""

from __future__ import annotations

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
    """Partitions of `asset_key` materialized by the runs `run` re-executes, newest first."""
    out: dict[str, Restored] = {}
    run_id = run.parent_run_id
    while run_id is not None:
        for entry in instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION):
            mat = entry.asset_materialization
            if mat is not None and mat.asset_key == asset_key and mat.partition and mat.partition not in out:
                out[mat.partition] = Restored(entry.run_id, mat)
        parent = instance.get_run_by_id(run_id)
        run_id = parent.parent_run_id if parent is not None else None
    return out
