"""The Dagster code location: restore assets, jobs (and the snapshot job), the re-sync, the partition sensor and resources."""

from __future__ import annotations

import dagster as dg

from .defs.assets import restore_assets
from .restore_step.batching import enable_batch_writes
from .defs.jobs import restore_jobs, restore_selected_keys_job
from .defs.resync import drift_checks, drift_report_asset, nightly_resync, resync_job
from .defs.resources import BackupResource, LookerResource, RestoreStateResource
from .defs.restore_resource import LookerRestoreResource
from .defs.sensors import backup_partitions_sensor
from .defs.snapshot import snapshot_job
from .defs.validation import content_checks, validate_content_job

# Bound "configurable at launch" so that a run's config for these keys (the CLI gives
# restore_state.source_instance) reaches the restore resource that nests them (restore_resource.py).
_looker = LookerResource.configure_at_launch(
    base_url=dg.EnvVar("LOOKERSDK_BASE_URL"),
    client_id=dg.EnvVar("LOOKERSDK_CLIENT_ID"),
    client_secret=dg.EnvVar("LOOKERSDK_CLIENT_SECRET"),
)
_backup = BackupResource.configure_at_launch(path=dg.EnvVar("LOOKERVAULT_BACKUP"))
_restore_state = RestoreStateResource.configure_at_launch()

# Restored partitions are written to the event log in batches (batching.py).
enable_batch_writes()

defs = dg.Definitions(
    assets=[*restore_assets, drift_report_asset],
    asset_checks=[drift_checks, content_checks],
    # Every run is one step that already fans out on threads: a second process
    # per step would only add ~3-5 s of start-up to each single-item restore.
    executor=dg.in_process_executor,
    jobs=[*restore_jobs.values(), restore_selected_keys_job, resync_job, snapshot_job,
          validate_content_job],
    schedules=[nightly_resync],
    sensors=[backup_partitions_sensor],
    resources={
        "looker": _looker,
        "backup": _backup,
        "restore_state": _restore_state,
        "restore": LookerRestoreResource(looker=_looker, backup=_backup, state=_restore_state),
    },
)
