"""Jobs: one per content type, and one that restores listed or failed keys in one run (see resync for the schedule)."""

import json
from collections.abc import Iterator, Sequence

import dagster as dg
from pydantic import Field

from lookervault_core.content_types import ContentType
from lookervault_core.graph import TYPE_ORDER

from ..restore_step.deadletters import failed_keys
from ..restore_step.execution import Event, RestoreConfig
from .resources import BackupResource
from .restore_resource import LookerRestoreResource

__all__ = ["PARTITION_TAG", "RANGE_END_TAG", "RANGE_START_TAG", "job_name", "restore_jobs", "restore_selected_keys_job", "unpartitioned_run_message"]

RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"
PARTITION_TAG = "dagster/partition"


def job_name(ct: ContentType) -> str:
    return f"restore_{ct.plural}"


def unpartitioned_run_message(ct: ContentType, registered: Sequence[str]) -> str:
    """What to launch instead, when a run names no partition (`dagster job launch` without tags)."""
    if not registered:
        return (f"{job_name(ct)} restores partitions ({ct.label} ids) and none are registered yet: "
                f"run `lookervault partitions sync --backup BACKUP` (or let the sensor run), then launch again "
                f"with the ids in tags.")
    whole = json.dumps({RANGE_START_TAG: registered[0], RANGE_END_TAG: registered[-1]})
    return (f"{job_name(ct)} was launched without partition tags, so it does not know which {ct.plural} to "
            f"restore. Launch it with one id, --tags '{json.dumps({PARTITION_TAG: registered[0]})}', "
            f"or a range; all {len(registered)} registered {ct.plural}: --tags '{whole}'")


# define_asset_job returns an unresolved job (its type is not public API).
restore_jobs = {
    ct: dg.define_asset_job(
        job_name(ct),
        # Without the content checks (validation.py): they are a step of their own, run on demand.
        selection=dg.AssetSelection.assets(ct.plural).without_checks(),
        description=f"Restore {ct.plural.replace('_', ' ')}: one partition, or a range in one run "
                    f"(tags {RANGE_START_TAG} / {RANGE_END_TAG}).",
    )
    for ct in TYPE_ORDER
}


class SelectedKeysConfig(RestoreConfig):
    """Which items to restore in one run: listed ids, a filter over the backup, or what failed.

    One type (`content_type`) or several (`content_types`), restored level by
    level in dependency order. With neither ids nor a filter, every FAILED
    partition of each type is retried. Filters are resolved against the
    backup when the run starts.
    """

    content_type: str = Field(default="", description="dashboards, looks, folders, ... (a content type)")
    content_types: list[str] = Field(
        default_factory=list, description="several content types, e.g. [folders, looks, dashboards]: each "
                                          "level restored in dependency order, a failed item failing only what "
                                          "needs it")
    keys: list[str] = Field(default_factory=list, description="ids to restore (with one content type)")
    folders: list[str] = Field(default_factory=list, description="only items in these folders, recursively")
    owners: list[int] = Field(default_factory=list, description="only items owned by these user ids")
    updated_from: str | None = Field(default=None, description="only items updated at or after (ISO-8601)")
    updated_to: str | None = Field(default=None, description="only items updated at or before (ISO-8601)")

    with_dependencies: bool = Field(
        default=False, description="first restore what the selection needs that Looker lacks (folders, looks, "
                                   "users, groups, roles, sets), each as a partition of its own type")

    def has_filter(self) -> bool:
        return bool(self.folders or self.owners or self.updated_from or self.updated_to)

    def types(self) -> list[ContentType]:
        """The named types in restore order.

        Raises:
            dg.Failure: no type is named, or ids are listed for several types.
        """
        named = {ContentType.parse(t) for t in [self.content_type, *self.content_types] if t}
        if not named:
            raise dg.Failure(description="name a content_type (dashboards) or content_types "
                                         "([folders, looks, dashboards])")
        if self.keys and len(named) > 1:
            raise dg.Failure(description="keys are ids of one content type: name one, or select several types "
                                         "with a filter (folders, owners, updated_from, updated_to)")
        return [ct for ct in TYPE_ORDER if ct in named]


def _selected(context: dg.OpExecutionContext, config: SelectedKeysConfig, backup: BackupResource
              ) -> dict[ContentType, list[str]]:
    """The keys of each named type the config selects."""
    types = config.types()
    selected: dict[ContentType, list[str]] = {}
    if config.has_filter():
        with backup.open() as reader:
            rows = reader.select(types=types, ids=config.keys or None, folder_ids=config.folders or None,
                                 owner_ids=config.owners or None, updated_from=config.updated_from,
                                 updated_to=config.updated_to)
        for row in rows:
            if row.content_type in types and row.id != "unknown":
                selected.setdefault(row.content_type, []).append(row.id)
        context.log.info(f"the filter selects {', '.join(f'{len(selected.get(ct, []))} {ct.plural}' for ct in types)}"
                         f" of the backup")
    else:
        for ct in types:
            keys = list(dict.fromkeys(config.keys)) or failed_keys(context.instance, ct)
            if keys:
                selected[ct] = keys
    return selected


@dg.op(pool="looker_api", out=dg.Out(dg.Nothing))
def restore_selected_keys(
    context: dg.OpExecutionContext,
    config: SelectedKeysConfig,
    restore: LookerRestoreResource,
) -> Iterator[Event | dg.Output[None]]:
    """Restore scattered keys of one or several types in a single run.

    A backfill re-executed over scattered failed keys makes one run per
    contiguous stretch; this restores them all in one. Successes are recorded
    as materializations of the type's asset partitions (clearing FAILED);
    keys that fail are recorded with their error (dead letters). A failed
    item does not stop the next level: the items that need it fail their own
    parent check, naming it, and the rest are restored.

    Raises:
        dg.Failure: naming every failed key of every level.
    """
    selected = _selected(context, config, restore.backup)
    if not selected:
        context.log.info("nothing to restore: no items selected or failed")
    elif config.with_dependencies:
        roots = [(ct, k) for ct, keys in selected.items() for k in keys]
        needed = restore.lacking(roots)
        context.log.info(f"with what they need that Looker lacks: "
                         f"{', '.join(f'{c.label} {i}' for c, i in needed) or 'nothing'}")
        for ct in TYPE_ORDER:
            deps = [k for c, k in needed if c is ct and k not in selected.get(ct, ())]
            if deps:
                selected[ct] = deps + selected.get(ct, [])
    yield from restore.restore_levels(context, selected, config)
    yield dg.Output(None)


@dg.job(description="Restore listed ids, a filter's selection (folder, owner, updated-at), or every FAILED "
                    "partition of one or several content types, in one run, level by level.")
def restore_selected_keys_job() -> None:
    restore_selected_keys()
