"""One asset per content type, partitioned by content id, ordered by asset dependencies."""

import warnings
from collections.abc import Iterator

import dagster as dg

from lookervault_core.content_types import ContentType
from lookervault_core.graph import TYPE_DEPENDENCIES, TYPE_ORDER

from ..restore_step.execution import Event, RestoreConfig
from .jobs import unpartitioned_run_message
from .partitions import PARTITIONS
from .restore_resource import LookerRestoreResource
from .selection import partial_pick_expanded

__all__ = ["build_restore_asset", "restore_assets"]


def build_restore_asset(ct: ContentType) -> dg.AssetsDefinition:
    """The asset restoring `ct`: each partition is one backup item, one run may restore many.

    Dependencies use AllPartitionMapping: a plain `deps=` between two
    dynamically partitioned assets would map look 42 to folder 42. Item-level
    parents are checked while restoring, since Dagster does not check them.
    A backfill that picked some partitions of a type above gives this asset
    all of its partitions: then it restores none (see `selection`).
    """

    @dg.asset(
        name=ct.plural,
        partitions_def=PARTITIONS[ct],
        deps=[dg.AssetDep(up.plural, partition_mapping=dg.AllPartitionMapping()) for up in TYPE_DEPENDENCIES[ct]],
        backfill_policy=dg.BackfillPolicy.single_run(),
        output_required=False,
        pool="looker_api",
        kinds={"looker"},
        group_name="looker",
        description=f"Looker {ct.plural.replace('_', ' ')} restored from the backup; one partition per {ct.label} id.",
    )
    def _restore(
        context: dg.AssetExecutionContext,
        config: RestoreConfig,
        restore: LookerRestoreResource,
    ) -> Iterator[Event]:
        if not (context.has_partition_key or context.has_partition_key_range):
            registered = context.instance.get_dynamic_partitions(ct.plural)
            raise dg.Failure(description=unpartitioned_run_message(ct, registered))
        if refusal := partial_pick_expanded(context.instance, context.run, ct, context.partition_keys):
            context.log.warning(refusal)
            return
        yield from restore.restore(context.op_execution_context, ct, context.partition_keys, config)

    return _restore


with warnings.catch_warnings():
    # Single-run backfills are the design (architecture.md); Dagster labels the parameter beta and warned
    # once per asset in every process loading the code location (12 blocks before `dagster job launch` output).
    warnings.filterwarnings("ignore", message="Parameter .backfill_policy.", category=dg.BetaWarning)
    restore_assets: list[dg.AssetsDefinition] = [build_restore_asset(ct) for ct in TYPE_ORDER]
