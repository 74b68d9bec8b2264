"""The resource that owns the restore engine: every asset and op restores through it.

As dagster-sling's `SlingResource.replicate(context=...)` and dagster-dlt's
`DagsterDltResource.run(context=...)` do, the step hands the resource its
context and what to restore; the resource opens the backup, Looker and the id
map, restores, and yields the events Dagster records.

Its three parts are the code location's own `looker`, `backup` and
`restore_state` resources, bound "configurable at launch" (definitions.py): a
run's config for those keys then reaches this resource too. A fully
configured nested resource would keep its own copy and ignore it (measured on
Dagster 1.13: `outer.inner.n` stayed 2 while the `inner` key ran with 5), and
the CLI gives `restore_state.source_instance` at launch.
"""

# No `from __future__ import annotations`: Dagster finds nested resources by their field annotations
# when the class is made, and a string annotation hides them.
from collections.abc import Iterator, Mapping, Sequence

import dagster as dg

from lookervault_core.content_types import ContentType

from ..restore_step.execution import Event, RestoreConfig, dependencies_lacking, restore_keys, restore_levels
from .resources import BackupResource, LookerResource, RestoreStateResource

__all__ = ["LookerRestoreResource"]


class LookerRestoreResource(dg.ConfigurableResource):
    """Restores backup items into Looker from inside a Dagster step."""

    looker: LookerResource
    backup: BackupResource
    state: RestoreStateResource

    def restore(self, context: dg.OpExecutionContext, ct: ContentType, keys: Sequence[str],
                config: RestoreConfig) -> Iterator[Event]:
        """Restore `keys` of `ct`, one event per key as it finishes (execution.restore_keys).

        Raises:
            dg.Failure: naming every key that failed.
        """
        yield from restore_keys(context, ct, keys, config=config, looker=self.looker, backup=self.backup,
                                state=self.state)

    def restore_levels(self, context: dg.OpExecutionContext, selected: Mapping[ContentType, Sequence[str]],
                       config: RestoreConfig) -> Iterator[Event]:
        """Restore several types level by level in one step, then the second pass (execution.restore_levels).

        Raises:
            dg.Failure: naming every failed key of every level.
        """
        yield from restore_levels(context, selected, config=config, looker=self.looker, backup=self.backup,
                                  state=self.state)

    def lacking(self, roots: Sequence[tuple[ContentType, str]]) -> list[tuple[ContentType, str]]:
        """What `roots` need that Looker lacks, in restore order (reads Looker, writes nothing)."""
        return dependencies_lacking(self.looker, self.backup, self.state, roots)
