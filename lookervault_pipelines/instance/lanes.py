"""Two lanes to Looker: one-item restores start at once, bulk restores take turns.

Every restore step claims a slot of the `looker_api` pool (op granularity:
also in-process runs, `lookervault restore` and `dagster asset materialize`).
A pool is fixed per op and a claimed slot is held until the step ends, so an
item restore cannot jump ahead of long bulk steps by priority alone. Instead
the pool is larger than the bulk limit, and bulk runs are held back in the run
queue by a tag limit on `lookervault/lane: bulk` (dagster.yaml), leaving the
rest of the pool to single items. The lane is decided when a run is submitted
(`LaneRunCoordinator`), from what the run restores: runs for one partition,
and `restore_selected_keys_job` runs for one id, are items; everything else
is bulk: ranges, filters, "every failed key", and any other job (a snapshot
reads all of Looker), so a job added later is bounded until said otherwise.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import dagster as dg

from .internals import set_backfill_daemon_interval
from .workers import in_progress, worker_alive

__all__ = ["BULK", "ITEM", "ITEM_PRIORITY", "LANE_TAG", "PRIORITY_TAG", "LaneRunCoordinator", "bulk_limit",
           "bulk_runs_in_progress", "lane_of", "lane_tags"]

LANE_TAG = "lookervault/lane"
ITEM = "item"
BULK = "bulk"
#: Dagster's run priority tag: higher runs leave the queue first and get pool slots first.
PRIORITY_TAG = "dagster/priority"
#: Item runs go before waiting bulk runs in the queue and in the `looker_api` pool's waiting claims.
ITEM_PRIORITY = "10"

_PARTITION_TAG = "dagster/partition"
_RANGE_START_TAG = "dagster/asset_partition_range_start"
_RANGE_END_TAG = "dagster/asset_partition_range_end"
_SELECTED_KEYS_JOB = "restore_selected_keys_job"
_SELECTED_KEYS_OP = "restore_selected_keys"
_FILTERS = ("folders", "owners", "updated_from", "updated_to")


def _selected_keys_config(run_config: Mapping[str, object]) -> Mapping[str, object]:
    ops = run_config.get("ops")
    op = ops.get(_SELECTED_KEYS_OP) if isinstance(ops, Mapping) else None
    config = op.get("config") if isinstance(op, Mapping) else None
    return config if isinstance(config, Mapping) else {}


def lane_of(job_name: str, tags: Mapping[str, str], run_config: Mapping[str, object]) -> str:
    """`ITEM` for a run restoring one item, else `BULK`.

    A lane already in the tags (set by the CLI, or by a person in the launchpad) is kept.
    """
    if tags.get(LANE_TAG) in (ITEM, BULK):
        return tags[LANE_TAG]
    if job_name == _SELECTED_KEYS_JOB:
        config = _selected_keys_config(run_config)
        keys = config.get("keys")
        one_key = isinstance(keys, list) and len(set(map(str, keys))) == 1
        # No keys means every FAILED partition of the type; a filter selects from the whole backup.
        return ITEM if one_key and not any(config.get(f) for f in _FILTERS) else BULK
    if _PARTITION_TAG in tags:
        return ITEM
    if _RANGE_START_TAG in tags and tags[_RANGE_START_TAG] == tags.get(_RANGE_END_TAG):
        return ITEM
    return BULK


def lane_tags(job_name: str, tags: Mapping[str, str], run_config: Mapping[str, object]) -> dict[str, str]:
    """The tags a run lacks for its lane: the lane, and for an item a priority unless one is set."""
    lane = lane_of(job_name, tags, run_config)
    out = {LANE_TAG: lane} if tags.get(LANE_TAG) != lane else {}
    if lane == ITEM and PRIORITY_TAG not in tags:
        out[PRIORITY_TAG] = ITEM_PRIORITY
    return out


def bulk_limit(instance: dg.DagsterInstance) -> int | None:
    """How many bulk runs may be in progress at once (dagster.yaml's tag limit), or None for no limit."""
    queue = instance.get_concurrency_config().run_queue_config
    for rule in queue.tag_concurrency_limits if queue else ():
        if rule.get("key") == LANE_TAG and rule.get("value") == BULK:
            return int(rule["limit"])
    return None


def bulk_runs_in_progress(instance: dg.DagsterInstance) -> list[dg.DagsterRun]:
    """The bulk runs starting or running, queued or not, but for those whose process is gone (`workers`).

    What the bulk limit counts. The daemon's queue counts by itself (every
    STARTING or STARTED run with the tag): a dead run there is ended by run
    monitoring, which asks the run launcher whether its process lives
    (launcher.check_run_worker_health, by the same process tags).
    """
    return [r for r in in_progress(instance, {LANE_TAG: BULK}) if worker_alive(r) is not False]


class LaneRunCoordinator(dg.QueuedRunCoordinator):
    """Dagster's run queue, tagging each run with its lane before it is queued.

    Every queued launch goes through here: the UI and GraphQL, `dagster job
    launch`, backfills, schedules, sensors, re-executions and retries. Runs
    executed in-process (`lookervault` CLI) are tagged by the CLI itself.
    """

    def __init__(self, *args: Any, dequeue_interval_seconds: float | None = None, **kwargs: Any) -> None:
        # Dagster's queue takes whole seconds; the daemon's loop (IntervalDaemon.core_loop)
        # sleeps any float, in steps of 0.5 s: a half-second look halves a one-item run's wait.
        super().__init__(*args, dequeue_interval_seconds=None if dequeue_interval_seconds is None
                         else max(1, math.ceil(dequeue_interval_seconds)), **kwargs)
        self._dequeue_every = dequeue_interval_seconds

    @classmethod
    def config_type(cls) -> dict[str, Any]:
        return {**super().config_type(), "dequeue_interval_seconds": dg.Field(
            float, is_required=False, description="How often the daemon looks at the run queue, in seconds "
                                                  "(0.5 is the shortest step of Dagster's daemon loop)"),
            "backfill_interval_seconds": dg.Field(
                float, is_required=False, description="How often the backfill daemon looks at backfills, in "
                                                      "seconds (Dagster's fixed 30 s when unset)")}

    @classmethod
    def from_config_value(cls, inst_data: Any, config_value: Mapping[str, Any]) -> LaneRunCoordinator:
        interval = config_value.get("backfill_interval_seconds")
        if interval is not None:
            # The daemon process builds its run coordinator before it starts any daemon (to know which are
            # required): the backfill loop then reads the new interval. Other processes never run that loop.
            set_backfill_daemon_interval(float(interval))
        return super().from_config_value(
            inst_data, {k: v for k, v in config_value.items() if k != "backfill_interval_seconds"})

    @property
    def dequeue_interval_seconds(self) -> float:  # type: ignore[override]  # Dagster's says int; its daemon takes any number
        return self._dequeue_every if self._dequeue_every is not None else super().dequeue_interval_seconds

    def submit_run(self, context: dg.SubmitRunContext) -> dg.DagsterRun:
        run = context.dagster_run
        new = lane_tags(run.job_name, run.tags, run.run_config)
        if new:
            # Before the run is enqueued, so the daemon never sees it untagged.
            self._instance.add_run_tags(run.run_id, new)
        return super().submit_run(context)
