"""Optional, after a restore: does the restored content work? One asset check per validated type.

`looks_content_valid` and `dashboards_content_valid` sit on the `looks` and
`dashboards` assets and call Looker's content validator once for both
(lookervault_core.validation). They are not part of any restore job (a
validator run can take minutes on a large instance and meters one more API
call); `validate_content_job` runs them, as does "Execute" on the check in the
UI. They are non-blocking: a broken tile never stops what depends on it.

A failure is ERROR, not WARN: restore cannot repair it (re-running it writes
the same content) and viewers see the broken look or tile until a person
deploys the LookML or edits the content, as drift's checks keep ERROR for what
needs a person.
"""

from collections.abc import Iterator

import dagster as dg

from lookervault_core.content_types import ContentType
from lookervault_core.errors import LookervaultError, describe
from lookervault_core.validation import VALIDATED_TYPES, BrokenItem, validate_restored

from .resources import BackupResource, LookerResource, RestoreStateResource

__all__ = ["content_checks", "content_check_name", "validate_content_job"]

#: Broken items listed in a check's metadata; the count is always complete.
LISTED = 200


def content_check_name(ct: ContentType) -> str:
    return f"{ct.plural}_content_valid"


def _result(ct: ContentType, broken: list[BrokenItem]) -> dg.AssetCheckResult:
    listed = broken[:LISTED]
    return dg.AssetCheckResult(
        asset_key=dg.AssetKey(ct.plural),
        check_name=content_check_name(ct),
        passed=not broken,
        severity=dg.AssetCheckSeverity.ERROR,
        description=f"{len(broken)} restored {ct.plural} with content errors" if broken
        else f"no restored {ct.label} has content errors",
        metadata={
            "broken": len(broken),
            "broken_items": dg.MetadataValue.md("\n".join(f"- {b.describe()}" for b in listed) or "none"),
            "broken_ids": dg.MetadataValue.json({b.source_id: list(b.errors) for b in listed}),
        },
    )


@dg.multi_asset_check(
    specs=[dg.AssetCheckSpec(content_check_name(ct), asset=ct.plural, blocking=False,
                             description=f"Looker's content validator finds no error in a {ct.label} this backup "
                                         "restored (unknown model, explore or field)")
           for ct in VALIDATED_TYPES],
    can_subset=True,
    pool="looker_api",
    description="Looker's content validator over what this backup restored (one API call; writes nothing).",
)
def content_checks(
    context: dg.AssetCheckExecutionContext,
    looker: LookerResource,
    backup: BackupResource,
    restore_state: RestoreStateResource,
) -> Iterator[dg.AssetCheckResult]:
    by_name = {content_check_name(ct): ct for ct in VALIDATED_TYPES}
    selected = [by_name[k.name] for k in context.selected_asset_check_keys]
    try:
        with backup.open() as reader, looker.connect() as client, \
                restore_state.idmap(client.settings.instance_id, reader) as idmap:
            check = validate_restored(client, reader, idmap, selected)
    except LookervaultError as exc:
        info = describe(exc)
        raise dg.Failure(description=f"content not validated: {info.type}: {info.message}") from exc
    context.log.info(f"content validator answered in {check.computation_time:.1f} s; "
                     f"{check.others} findings about content this backup did not restore left out")
    for ct in selected:
        yield _result(ct, check.of(ct))


validate_content_job = dg.define_asset_job(
    "validate_content_job",
    selection=dg.AssetSelection.checks(content_checks),
    description="Run Looker's content validator over the restored looks and dashboards (asset checks; "
                "writes nothing).",
)
