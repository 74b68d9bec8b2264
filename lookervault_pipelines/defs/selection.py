"""What Dagster makes of a UI selection of several content types, and when a level must not run it.

Selecting several assets (folders, looks, dashboards) and picking some
partitions of the top one launches one asset backfill. Dagster expands each
type below through its `AllPartitionMapping` to every partition of that type:
picking folder 11 would restore every look and every dashboard. A level given
all its keys because a level above was only partly picked restores nothing
and says which selection restores what was picked (`restore_selected_keys_job`).
"""

from __future__ import annotations

from collections.abc import Sequence

import dagster as dg

from lookervault_core.content_types import ContentType
from lookervault_core.graph import TYPE_DEPENDENCIES

from .partitions import id_sort_key

__all__ = ["partial_pick_expanded", "types_above"]

# Tags Dagster puts on every run of an asset backfill (and of its re-executions).
BACKFILL_TAG = "dagster/backfill"
ROOT_BACKFILL_TAG = "dagster/root_backfill_id"
_PARTITION_TAG = "dagster/partition"
_RANGE_START_TAG = "dagster/asset_partition_range_start"
_RANGE_END_TAG = "dagster/asset_partition_range_end"


def types_above(ct: ContentType) -> set[ContentType]:
    """Every type `ct` waits for, directly or through others."""
    above: set[ContentType] = set()
    stack = list(TYPE_DEPENDENCIES[ct])
    while stack:
        up = stack.pop()
        if up not in above:
            above.add(up)
            stack.extend(TYPE_DEPENDENCIES[up])
    return above


def _content_type(asset: dg.AssetKey) -> ContentType | None:
    """The content type an asset restores; None for other assets in the same backfill (`looker_drift`)."""
    try:
        return ContentType.parse(asset.to_user_string())
    except ValueError:
        return None


def _keys_of(run: dg.DagsterRun, registered: Sequence[str]) -> set[str]:
    """The partition keys a run was given: one key, or a range of registered keys."""
    if _PARTITION_TAG in run.tags:
        return {run.tags[_PARTITION_TAG]}
    start, end = run.tags.get(_RANGE_START_TAG), run.tags.get(_RANGE_END_TAG)
    if start in registered and end in registered:
        return set(registered[registered.index(start):registered.index(end) + 1])
    return set()


def partial_pick_expanded(instance: dg.DagsterInstance, run: dg.DagsterRun, ct: ContentType,
                          keys: Sequence[str]) -> str | None:
    """Why this run of `ct` must restore nothing, or None when it restores its keys.

    It must not when it belongs to an asset backfill (or a re-execution of
    one) whose original backfill picked only some partitions of a type above
    `ct`, and it was given every partition of `ct`: that is Dagster's
    expansion, not a choice.
    """
    backfill_id = run.tags.get(ROOT_BACKFILL_TAG) or run.tags.get(BACKFILL_TAG)
    if backfill_id is None:
        return None
    if set(keys) != set(instance.get_dynamic_partitions(ct.plural)):
        return None
    above = types_above(ct)
    given: dict[ContentType, set[str]] = {}
    registered: dict[ContentType, Sequence[str]] = {}
    for sibling in instance.get_runs(filters=dg.RunsFilter(tags={BACKFILL_TAG: backfill_id})):
        for asset in sibling.asset_selection or ():
            up = _content_type(asset)
            if up is not None and up in above:
                registered.setdefault(up, instance.get_dynamic_partitions(up.plural))
                given.setdefault(up, set()).update(_keys_of(sibling, registered[up]))
    picked = {up: ks for up, ks in given.items() if ks < set(registered[up])}
    if not picked:
        return None
    named = "; ".join(f"{up.plural} {', '.join(sorted(ks, key=id_sort_key)[:20])}" for up, ks in picked.items())
    return (
        f"restoring no {ct.plural}: this backfill picked {named}, and Dagster then gives every level below "
        f"all of its partitions (all {len(keys)} {ct.plural} here), not what the picked items hold or need. "
        f"To restore what you picked with what it holds, launch restore_selected_keys_job from its Launchpad "
        f"with content_types set to the types you selected and a filter (folders: [11] is folder 11, its "
        f"subfolders and the looks and dashboards in them), with_dependencies: true to add what they need "
        f"that Looker lacks. To restore every {ct.label}, select all partitions instead."
    )
