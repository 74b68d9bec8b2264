"""The restore resource nests the code location's own resources: a run's config for them reaches it."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from lookervault_core.content_types import ContentType as CT
from lookervault_core.testing.fake_looker import FakeLooker
from lookervault_pipelines.defs.jobs import RANGE_END_TAG, RANGE_START_TAG, job_name
from lookervault_pipelines.definitions import defs


def test_a_run_configured_with_another_backup_restores_from_it_not_from_the_environments(
    looker: FakeLooker, synced: dg.DagsterInstance, tmp_path: Path
) -> None:
    """The launchpad's (and the CLI's) resource config goes to the `backup` key; the restore must use it."""
    elsewhere = tmp_path / "elsewhere.sqlite"
    keys = synced.get_dynamic_partitions(CT.FOLDER.plural)
    result = defs.resolve_job_def(job_name(CT.FOLDER)).execute_in_process(
        instance=synced, raise_on_error=False,
        tags={RANGE_START_TAG: keys[0], RANGE_END_TAG: keys[-1]},
        run_config={"resources": {"backup": {"config": {"path": str(elsewhere)}}}},
    )
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    assert str(elsewhere) in failure.step_failure_data.error.message
