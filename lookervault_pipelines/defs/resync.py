"""Scheduled re-sync: find drift between the backup and Looker by reads alone, then restore only what drifted.

`resync_job` runs two steps. `find_drift` compares every item of the backup
with Looker through a dry-run restorer (lookervault_core.restore.drift): no
write to Looker and no per-item event; its report is one materialization of
the `looker_drift` asset plus one check evaluation per content type on it
(passing when the type is in sync, the drifted ids in its metadata).
`restore_drift` then restores the missing and changed items type by type in
dependency order, each recorded as a materialization of its partition (as
`restore_selected_keys_job` does), so failures are dead letters and the rest
continues. Unchanged items get no event at all. The report sits on an asset
of its own rather than as checks of the type assets: checks defined on those
would be selected into every restore run of them.
"""

from collections.abc import Iterator, Mapping, Sequence

import dagster as dg
from pydantic import Field

from lookervault_core.content_types import ContentType
from lookervault_core.errors import LookervaultError, describe
from lookervault_core.graph import TYPE_ORDER
from lookervault_core.restore import DriftReport, Restorer, TypeDrift, find_drift

from ..restore_step.execution import Event, RestoreConfig
from .partitions import sync_partitions
from .resources import BackupResource, LookerResource, RestoreStateResource
from .restore_resource import LookerRestoreResource

__all__ = ["DRIFT_ASSET", "check_name", "drift_checks", "drift_report_asset", "nightly_resync", "resync_job"]

DRIFT_ASSET = dg.AssetKey("looker_drift")
#: Ids listed per kind in a check's metadata; the counts are always complete.
LISTED = 500

drift_report_asset = dg.AssetSpec(
    DRIFT_ASSET,
    group_name="resync",
    kinds={"looker"},
    description="How Looker differs from the backup, per content type: written by resync_job's find_drift step "
                "(one check per type, passing when that type is in sync).",
)


def check_name(ct: ContentType) -> str:
    return f"{ct.plural}_in_sync"


def _check_metadata(drift: TypeDrift) -> "dict[str, dg.RawMetadataValue]":
    changed = dict(list(drift.changed.items())[:LISTED])
    undecided = dict(list(drift.undecided.items())[:LISTED])
    return {
        "checked": drift.checked,
        "missing": len(drift.missing),
        "changed": len(drift.changed),
        "unchanged": drift.unchanged,
        "skipped": drift.skipped,
        "undecided": len(drift.undecided),
        "api_calls": drift.api_calls,
        "missing_ids": dg.MetadataValue.json(list(drift.missing[:LISTED])),
        "changed_fields": dg.MetadataValue.json({k: list(v) for k, v in changed.items()}),
        "undecided_errors": dg.MetadataValue.json(undecided),
    }


def _summary(drift: TypeDrift) -> str:
    if drift.in_sync:
        return f"all {drift.checked} {drift.content_type.plural} in sync"
    parts = [f"{len(drift.missing)} missing" if drift.missing else "",
             f"{len(drift.changed)} changed" if drift.changed else "",
             f"{len(drift.undecided)} could not be compared" if drift.undecided else ""]
    return f"{', '.join(p for p in parts if p)} of {drift.checked} {drift.content_type.plural}"


def _check_evaluation(drift: TypeDrift) -> dg.AssetCheckEvaluation:
    return dg.AssetCheckEvaluation(
        asset_key=DRIFT_ASSET,
        check_name=check_name(drift.content_type),
        passed=drift.in_sync,
        # Drift is what resync repairs (WARN); an item that cannot even be compared needs a person (ERROR).
        severity=dg.AssetCheckSeverity.ERROR if drift.undecided else dg.AssetCheckSeverity.WARN,
        description=_summary(drift),
        metadata=_check_metadata(drift),
    )


def _report_metadata(report: DriftReport, fingerprint: str) -> "dict[str, dg.RawMetadataValue]":
    rows = "\n".join(f"| {d.content_type.plural} | {d.checked} | {len(d.missing)} | {len(d.changed)} | "
                     f"{d.unchanged} | {d.skipped} | {len(d.undecided)} |" for d in report.types.values())
    return {
        "drifted": len(report.drifted()),
        "in_sync": report.in_sync,
        "api_calls": report.api_calls,
        "duration_s": round(report.duration_s, 3),
        "backup_fingerprint": fingerprint,
        "by_type": dg.MetadataValue.md("| type | checked | missing | changed | unchanged | skipped | undecided |\n"
                                       "|---|---|---|---|---|---|---|\n" + rows),
    }


def _read_drift(looker: LookerResource, backup: BackupResource, state: RestoreStateResource,
                workers: int | None, types: Sequence[ContentType] = TYPE_ORDER) -> tuple[DriftReport, str]:
    """The drift of the backup's items of `types` and the backup's fingerprint; writes nothing anywhere.

    Raises:
        dg.Failure: the backup, Looker or the id map cannot be reached.
    """
    try:
        with backup.open() as reader, looker.connect() as client, \
                state.idmap(client.settings.instance_id, reader) as idmap:
            keys = [(ct, i) for ct in types for i in reader.ids(ct) if i != "unknown"]
            report = find_drift(Restorer(client, reader, idmap, dry_run=True), keys,
                                workers=workers or client.settings.workers)
            return report, reader.fingerprint
    except LookervaultError as exc:
        info = describe(exc)
        raise dg.Failure(description=f"drift not found: {info.type}: {info.message}") from exc


class DriftConfig(dg.Config):
    """Options of the read-only comparison."""

    workers: int | None = Field(default=None, description="threads reading Looker (default: the Looker resource's)")


@dg.op(name="find_drift", pool="looker_api",
       out=dg.Out(dict, description="content type (plural) -> ids to restore, in id order"))
def find_drift_step(
    context: dg.OpExecutionContext,
    config: DriftConfig,
    looker: LookerResource,
    backup: BackupResource,
    restore_state: RestoreStateResource,
) -> Iterator[dg.AssetMaterialization | dg.AssetCheckEvaluation | dg.Output[dict[str, list[str]]]]:
    """Compare the whole backup with Looker (reads only) and report the drift on `looker_drift`."""
    report, fingerprint = _read_drift(looker, backup, restore_state, config.workers)
    context.log.info(f"drift: {len(report.drifted())} items to restore, {report.api_calls} API calls in "
                     f"{report.duration_s:.1f} s; " + "; ".join(_summary(d) for d in report.types.values()))
    yield dg.AssetMaterialization(asset_key=DRIFT_ASSET, metadata=_report_metadata(report, fingerprint))
    for ct in TYPE_ORDER:  # a type the backup lacks passes, checked 0
        yield _check_evaluation(report.types.get(ct, TypeDrift(ct)))
    yield dg.Output({ct.plural: d.drifted for ct, d in report.types.items() if d.drifted})


class ResyncConfig(RestoreConfig):
    """Restore options, and whether to restore at all."""

    report_only: bool = Field(default=False, description="only report the drift; restore nothing")


@dg.op(pool="looker_api", out=dg.Out(dg.Nothing))
def restore_drift(
    context: dg.OpExecutionContext,
    config: ResyncConfig,
    drift: dict[str, list[str]],
    restore: LookerRestoreResource,
) -> Iterator[Event | dg.Output[None]]:
    """Restore the drifted items type by type in dependency order; a failed type does not stop the next."""
    if config.report_only:
        context.log.info(f"report only: {sum(map(len, drift.values()))} drifted items left as they are")
        yield dg.Output(None)
        return
    if drift:
        # Ids the sensor has not registered yet (a new backup) become partitions, so they show on their asset.
        with restore.backup.open() as reader:
            sync_partitions(context.instance, reader)
    yield from restore.restore_levels(context, {ContentType.parse(t): keys for t, keys in drift.items()}, config)
    yield dg.Output(None)


@dg.job(description="Find how Looker differs from the backup (reads only; report on the looker_drift asset), "
                    "then restore only the missing and changed items, in dependency order. "
                    "restore_drift: report_only: true only reports.")
def resync_job() -> None:
    restore_drift(find_drift_step())


nightly_resync = dg.ScheduleDefinition(
    name="nightly_resync",
    job=resync_job,
    cron_schedule="0 3 * * *",
    default_status=dg.DefaultScheduleStatus.STOPPED,
    description="Nightly: restore what drifted from the backup (resync_job); off until started.",
)


def _selected(context: dg.AssetCheckExecutionContext) -> Mapping[str, ContentType]:
    by_name = {check_name(ct): ct for ct in TYPE_ORDER}
    return {k.name: by_name[k.name] for k in context.selected_asset_check_keys}


@dg.multi_asset_check(
    specs=[dg.AssetCheckSpec(check_name(ct), asset=DRIFT_ASSET,
                             description=f"Every {ct.label} of the backup is in Looker as the backup has it")
           for ct in TYPE_ORDER],
    can_subset=True,
    pool="looker_api",
    description="Report-only drift check (reads Looker, writes nothing); resync_job also restores.",
)
def drift_checks(
    context: dg.AssetCheckExecutionContext,
    looker: LookerResource,
    backup: BackupResource,
    restore_state: RestoreStateResource,
) -> Iterator[dg.AssetCheckResult]:
    selected = _selected(context)
    report, _ = _read_drift(looker, backup, restore_state, None, list(selected.values()))
    for name, ct in selected.items():
        ev = _check_evaluation(report.types.get(ct, TypeDrift(ct)))
        yield dg.AssetCheckResult(asset_key=DRIFT_ASSET, check_name=name, passed=ev.passed, severity=ev.severity,
                                  description=ev.description, metadata=ev.metadata)
