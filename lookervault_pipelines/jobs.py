"""Jobs: one per content type, and one that restores listed or failed keys in one run (see resync for the schedule)."""

import json
from collections.abc import Iterator, Sequence

import dagster as dg
from pydantic import Field

from lookervault_core.content_types import ContentType
from lookervault_core.graph import TYPE_ORDER

from .deadletters import failed_keys
from .execution import Event, RestoreConfig, dependencies_lacking, restore_keys
from .resources import BackupResource, LookerResource, RestoreStateResource

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
        selection=dg.AssetSelection.assets(ct.plural),
        description=f"Restore {ct.plural.replace('_', ' ')}: one partition, or a range in one run "
                    f"(tags {RANGE_START_TAG} / {RANGE_END_TAG}).",
    )
    for ct in TYPE_ORDER
}


class SelectedKeysConfig(RestoreConfig):
    """Which items of one type to restore in one run: listed ids, a filter over the backup, or what failed.

    With neither ids nor a filter, every FAILED partition of the type is retried.
    Filters are resolved against the backup when the run starts.
    """

    content_type: str = Field(description="dashboards, looks, folders, ... (a content type)")
    keys: list[str] = Field(default_factory=list, description="ids to restore")
    folders: list[str] = Field(default_factory=list, description="only items in these folders, recursively")
    owners: list[int] = Field(default_factory=list, description="only items owned by these user ids")
    updated_from: str | None = Field(default=None, description="only items updated at or after (ISO-8601)")
    updated_to: str | None = Field(default=None, description="only items updated at or before (ISO-8601)")

    with_dependencies: bool = Field(
        default=False, description="first restore what the selection needs that Looker lacks (folders, looks, "
                                   "users, groups, roles, sets), each as a partition of its own type")

    def has_filter(self) -> bool:
        return bool(self.folders or self.owners or self.updated_from or self.updated_to)


@dg.op(pool="looker_api", out=dg.Out(dg.Nothing))
def restore_selected_keys(
    context: dg.OpExecutionContext,
    config: SelectedKeysConfig,
    looker: LookerResource,
    backup: BackupResource,
    restore_state: RestoreStateResource,
) -> Iterator[Event | dg.Output[None]]:
    """Restore scattered keys of one type in a single run.

    A backfill re-executed over scattered failed keys makes one run per
    contiguous stretch; this restores them all in one. Successes are recorded
    as materializations of the type's asset partitions (clearing FAILED);
    keys that fail again stay FAILED with the new error recorded.
    """
    ct = ContentType.parse(config.content_type)
    if config.has_filter():
        with backup.open() as reader:
            rows = reader.select(types=[ct], ids=config.keys or None, folder_ids=config.folders or None,
                                 owner_ids=config.owners or None, updated_from=config.updated_from,
                                 updated_to=config.updated_to)
        keys = [row.id for row in rows if row.content_type is ct and row.id != "unknown"]
        context.log.info(f"the filter selects {len(keys)} {ct.plural} of the backup")
    else:
        keys = list(dict.fromkeys(config.keys)) or failed_keys(context.instance, ct)
    if not keys:
        context.log.info(f"nothing to restore: no {ct.plural} selected or failed")
    else:
        if config.with_dependencies:
            needed = dependencies_lacking(looker, backup, restore_state, [(ct, k) for k in keys])
            context.log.info(f"with what they need that Looker lacks: "
                             f"{', '.join(f'{c.label} {i}' for c, i in needed) or 'nothing'}")
            for dep_ct in TYPE_ORDER:
                dep_keys = [i for c, i in needed if c is dep_ct]
                if dep_keys:
                    yield from restore_keys(context, dep_ct, dep_keys, config=config, looker=looker, backup=backup,
                                            state=restore_state)
        yield from restore_keys(context, ct, keys, config=config, looker=looker, backup=backup, state=restore_state)
    yield dg.Output(None)


@dg.job(description="Restore listed ids, a filter's selection (folder, owner, updated-at), or every FAILED "
                    "partition of one content type, in one run.")
def restore_selected_keys_job() -> None:
    restore_selected_keys()
