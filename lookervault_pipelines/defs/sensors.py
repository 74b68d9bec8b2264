"""A sensor that registers a backup's ids as partitions when the backup file changes."""

import os

import dagster as dg

from .partitions import sync_partitions
from .resources import BackupResource

__all__ = ["backup_partitions_sensor"]


@dg.sensor(
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Registers the backup's content ids as partitions whenever the backup file changes.",
)
def backup_partitions_sensor(context: dg.SensorEvaluationContext, backup: BackupResource) -> dg.SensorResult:
    try:
        stat = os.stat(backup.path)
    except OSError as exc:
        return dg.SensorResult(skip_reason=f"backup not readable: {exc}")
    cursor = f"{os.path.abspath(backup.path)}|{stat.st_size}|{stat.st_mtime_ns}"
    if cursor == context.cursor:
        return dg.SensorResult(skip_reason="backup unchanged since the last sync")
    with backup.open() as reader:
        report = sync_partitions(context.instance, reader)
    context.log.info(f"synced partitions from {backup.path}: {report.describe()}")
    return dg.SensorResult(cursor=cursor)
