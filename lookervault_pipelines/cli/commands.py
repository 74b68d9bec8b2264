"""`lookervault`: restore from scripts, recorded in the same Dagster instance the UI shows.

The commands; the runs they start execute in this process (`runs`). Looker
credentials come only from the LOOKERSDK_* variables.
"""

from __future__ import annotations

import errno
import io
import json
import os
import sqlite3
import sys
import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any
from datetime import datetime
from pathlib import Path

import click
import dagster as dg
import sqlalchemy.exc

from lookervault_core.backup import BackupReader, BackupRow
from lookervault_core.content_types import ContentType
from lookervault_core.errors import LookerApiError, LookervaultError
from lookervault_core.graph import TYPE_ORDER
from lookervault_core.idmap import SourceChoice
from lookervault_core.restore.preflight import lacking_models
from lookervault_core.titles import Titles, matching_titles

from ..defs.partitions import prune_partitions, stale_keys, sync_partitions, unrestorable_rows
from ..defs.resources import BackupResource, LookerResource, RestoreStateResource
from ..defs.snapshot import snapshot_command
from ..restore_step.deadletters import dead_letters, failed_keys
from ..restore_step.execution import RestoreConfig, dependencies_lacking
from ..restore_step import progress
from ..restore_step.summary import RunSummary, item_name, totals
from .progress import ProgressLine
from .runs import RunOptions, Target, instance, restore_in_order, run_selected_keys
from .submit import connect
from .validate import content_report, validate_backup

if TYPE_CHECKING:
    from lookervault_core.testing.fake_looker.faults import FaultRule

__all__ = ["main"]

def _types(values: Sequence[str]) -> list[ContentType]:
    out: list[ContentType] = []
    for value in values:
        for part in value.split(","):
            if part.strip():
                try:
                    out.append(ContentType.parse(part))
                except ValueError as exc:
                    raise click.BadParameter(str(exc)) from exc
    return out


def _split(values: Sequence[str]) -> list[str]:
    return [p.strip() for v in values for p in v.split(",") if p.strip()]


def _failed_items(summaries: Sequence[RunSummary]) -> list[dict[str, str]]:
    """Every item that failed (id "" for a run that died before its items), with its title where known.

    `content_type` is the asset's name (`dashboards`), as in every JSON output.
    """
    out: list[dict[str, str]] = []
    for s in summaries:
        for key, error in s.errors.items():
            title, folder = s.titles.get(key, ("", ""))
            out.append({"content_type": s.content_type.plural, "id": key, "title": title, "folder": folder,
                        "error": error})
        if s.run_error and not s.errors and not s.success:
            out.append({"content_type": s.content_type.plural, "id": "", "title": "", "folder": "",
                        "error": f"run failed: {s.run_error}"})
    return out


def _failure_line(item: dict[str, str]) -> str:
    ct = ContentType.parse(item["content_type"])
    if not item["id"]:
        return f"{ct.plural}: {item['error']}"
    return f"{item_name(ct, item['id'], item['title'], item['folder'])}: {item['error']}"


def _print_run(summaries: Sequence[RunSummary]) -> None:
    for s in summaries:
        click.echo(s.line())


def _print_summaries(summaries: Sequence[RunSummary], as_json: bool, elapsed: float,
                     lacking: dict[str, int] | None = None, *, dry_run: bool = False) -> None:
    """The totals and each failed item once; the runs' own lines were printed as each type ended (`_print_run`)."""
    counts = totals(summaries)
    processed = sum(v for k, v in counts.items())
    failed = _failed_items(summaries)
    if as_json:
        report: dict[str, object] = {
            "runs": [s.as_dict() for s in summaries],
            "totals": counts,
            "failed_items": failed,
            "duration_s": round(elapsed, 3),
            "items_per_s": round(processed / elapsed, 2) if elapsed else 0.0,
        }
        if lacking is not None:
            report["lacking_models"] = lacking
        if dry_run:
            report["estimated_api_calls"] = _estimate(summaries)
        click.echo(json.dumps(report, indent=2))
        return
    listed = ", ".join(f"{v} {k}" for k, v in counts.items() if v)
    rate = processed / elapsed if elapsed else 0.0
    click.echo(f"total: {processed} items ({listed or 'nothing to do'}) in {elapsed:.1f} s, {rate:.1f} items/s")
    if dry_run:
        estimate = _estimate(summaries)
        by_type = ", ".join(f"{t} {n}" for t, n in estimate["by_type"].items())
        click.echo(f"API calls the restore would make (estimate): {estimate['total']} ({by_type or 'none'})")
    if failed:
        # Last, so that a preflight's answer is the end of its output.
        click.echo(f"{'cannot be restored' if dry_run else 'failed'} ({len(failed)}):")
        for item in failed:
            click.echo(f"  {_failure_line(item)}")


def _estimate(summaries: Sequence[RunSummary]) -> dict[str, Any]:
    """The dry run's estimate of the real restore's API calls, per type (restore_step.execution.record_estimate).

    Google Cloud core editions meter administrative API calls per month; the
    dry run's own reads are the reads the restore repeats, to which the writes
    it left out are added.
    """
    by_type: dict[str, int] = {}
    for s in summaries:
        by_type[s.content_type.plural] = by_type.get(s.content_type.plural, 0) + s.estimated_calls
    return {"total": sum(by_type.values()), "by_type": by_type}


#: What a full, read-only or missing storage raises: Dagster's SQLite storage, the id map's folder, DAGSTER_HOME.
_STORAGE_ERRORS = (OSError, sqlite3.Error, sqlalchemy.exc.DBAPIError)
#: A path-less OSError of one of these is a storage's too (a write that found the disk full).
_STORAGE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EIO, errno.EACCES, errno.EPERM})


def _storage_problem(exc: BaseException) -> str:
    """One line saying which storage failed and why, without the SQL or a traceback."""
    home = os.environ.get("DAGSTER_HOME", "")
    if isinstance(exc, OSError):
        reason = exc.strerror or str(exc)
        path = str(exc.filename) if exc.filename is not None else ""
        if path and not (home and (path == home or path.startswith(home.rstrip("/") + "/"))):
            return f"cannot use {path}: {reason}"
        detail = f"{reason}: {path}" if path else reason
    else:
        detail = str(exc.orig) if isinstance(exc, sqlalchemy.exc.DBAPIError) else str(exc)
    text = f"DAGSTER_HOME {home}: Dagster's storage there cannot be written or read: {detail}"
    return " ".join(text.split())


class _Commands(click.Group):
    """The command group; a storage that cannot be written ends a command with one message, not a traceback."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except _STORAGE_ERRORS as exc:
            if isinstance(exc, OSError) and exc.filename is None and exc.errno not in _STORAGE_ERRNOS:
                raise  # not a storage's (a closed pipe on stdout, ...): left as it is
            raise click.ClickException(_storage_problem(exc)) from exc


def _looker_answers() -> None:
    """Log in to Looker once (with the configured retries) before any run: when it cannot, one message.

    Without this, every run would find out for itself, each after its own
    retries, and record the same error for every key as a dead letter.

    Raises:
        click.ClickException: Looker cannot be reached, refuses the login, or is not configured.
    """
    try:
        LookerResource().connect(threads=1).close()
    except LookerApiError as exc:
        raise click.ClickException(f"{exc.looker_message}; no run was started") from exc
    except LookervaultError as exc:
        raise click.ClickException(str(exc)) from exc


@click.group(cls=_Commands)
def main() -> None:
    """Restore Looker content from LookerVault backups, through Dagster."""
    # Piped into a log, each line as it is printed, not all at the end.
    if isinstance(sys.stdout, io.TextIOWrapper):
        sys.stdout.reconfigure(line_buffering=True)
    # Single-run backfills are this project's design; Dagster marks the parameter beta.
    warnings.filterwarnings("ignore", category=dg.BetaWarning)


@main.command()
@click.option("--backup", "backup_path", required=True, type=click.Path(exists=True, dir_okay=False),
              help="LookerVault backup (.sqlite), opened read-only")
@click.option("--types", multiple=True, help="content types to restore (comma separated); default all")
@click.option("--ids", multiple=True, help="only these ids (comma separated)")
@click.option("--titles", multiple=True, help="only items whose title matches one of these patterns (`Sales*`; "
              "case-insensitive; comma separated)")
@click.option("--folder", "folders", multiple=True, help="only content in these folders, recursively")
@click.option("--owner", "owners", multiple=True, type=int, help="only content owned by these user ids")
@click.option("--updated-from", type=click.DateTime(), help="only items updated at or after this time")
@click.option("--updated-to", type=click.DateTime(), help="only items updated at or before this time")
@click.option("--dry-run", is_flag=True, help="record what would change; write nothing to Looker")
@click.option("--skip-modified", is_flag=True, help="leave items changed in Looker since the backup")
@click.option("--exact-access", is_flag=True, help="make users' roles and group memberships exactly the "
              "backup's, removing ones granted since (default: only add)")
@click.option("--workers", type=click.IntRange(1, 256), help="threads per run at first (default 8)")
@click.option("--max-workers", type=click.IntRange(1, 256), help="ceiling the items in flight grow toward while "
              "throughput follows and the CPU is not the limit (default 32; as --workers: fixed)")
@click.option("--max-runtime", type=click.IntRange(1), help="seconds after which the daemon's run monitoring ends "
              "a run FAILED (default: dagster.yaml's max_runtime_seconds); also how a run is ended whose "
              "process was killed")
@click.option("--source-instance", help="name of the instance the backup came from, when it is not the "
              "destination: ids are then mapped, never assumed equal. Kept for this backup: later runs (this "
              "CLI, the UI, schedules, `dagster job launch`) use it without being told")
@click.option("--with-dependencies", is_flag=True, help="also restore every folder, look, user, group, role "
              "and set the selection needs that Looker lacks")
@click.option("--json", "as_json", is_flag=True, help="print the summary as JSON")
@click.option("--submit", metavar="[URL]", is_flag=False, flag_value="", default=None,
              help="launch the runs on the Dagster deployment whose webserver answers at URL (default "
              "$LOOKERVAULT_DAGSTER_URL) instead of in this process; wait for them and report the same")
@click.option("--verbose", is_flag=True, help="also print Dagster's log of each run on stderr")
@click.option("--validate", is_flag=True, help="afterwards, run Looker's content validator over what the backup "
              "restored and list each broken look or dashboard (exit 1 when any)")
def restore(backup_path: str, types: Sequence[str], ids: Sequence[str], titles: Sequence[str], folders: Sequence[str],
            owners: Sequence[int], updated_from: datetime | None, updated_to: datetime | None,
            dry_run: bool, skip_modified: bool, exact_access: bool, workers: int | None,
            max_workers: int | None, max_runtime: int | None, source_instance: str | None, with_dependencies: bool,
            as_json: bool, submit: str | None, verbose: bool, validate: bool) -> None:
    """Restore a backup, or a selection of it, in dependency order. Exits 1 if anything failed."""
    if validate and (dry_run or submit is not None):
        raise click.UsageError("--validate checks content this process restored: not with --dry-run or --submit "
                               "(run `lookervault validate` once the restore is done)")
    if submit is not None:
        if with_dependencies:
            raise click.UsageError("--with-dependencies reads Looker from this host; with --submit, launch "
                                   "restore_selected_keys_job with `with_dependencies: true` instead")
        sys.exit(restore_submitted(
            submit, backup_path, types=_types(types), ids=_split(ids), titles=_split(titles), folders=_split(folders),
            owners=list(owners), updated_from=updated_from, updated_to=updated_to, as_json=as_json,
            options=RunOptions(restore=RestoreConfig(dry_run=dry_run, skip_modified=skip_modified,
                                                     exact_access=exact_access, workers=workers,
                                                     max_workers=max_workers),
                               source_instance=source_instance, max_runtime=max_runtime)))
    code = restore_backup(
        backup_path, types=_types(types), ids=_split(ids), titles=_split(titles), folders=_split(folders),
        owners=list(owners), verbose=verbose,
        updated_from=updated_from, updated_to=updated_to, dry_run=dry_run, skip_modified=skip_modified,
        exact_access=exact_access, workers=workers, max_workers=max_workers, max_runtime=max_runtime, source_instance=source_instance,
        with_dependencies=with_dependencies, as_json=as_json,
    )
    if validate:
        code = max(code, content_report(validate_backup(backup_path, source_instance), as_json))
    sys.exit(code)


@main.command()
@click.option("--backup", "backup_path", required=True, type=click.Path(exists=True, dir_okay=False),
              help="the backup that was restored")
@click.option("--source-instance", help="as for `restore`; default: the name kept for this backup")
@click.option("--json", "as_json", is_flag=True, help="print JSON")
def validate(backup_path: str, source_instance: str | None, as_json: bool) -> None:
    """List the backup's restored looks and dashboards that Looker's content validator finds broken. Exits 1 if any."""
    sys.exit(content_report(validate_backup(backup_path, source_instance), as_json))


def _dependencies(backup_path: str, roots: Sequence[tuple[ContentType, str]],
                  source_instance: str | None) -> list[tuple[ContentType, str]]:
    """What the selection needs that Looker lacks, read from Looker (reads only)."""
    return dependencies_lacking(LookerResource(), BackupResource(path=backup_path),
                                RestoreStateResource(source_instance=source_instance), roots)


def source_choice(backup_path: str, source_instance: str | None) -> SourceChoice:
    """Where the backup's ids come from, as the runs will decide it (reads the id map, writes nothing).

    Raises:
        click.ClickException: the id map cannot be read, or `source_instance` contradicts the name kept
            for this backup.
    """
    try:
        with BackupReader(backup_path) as reader:
            destination = LookerResource().settings().instance_id
            return RestoreStateResource(source_instance=source_instance).source_for(destination, reader,
                                                                                    record=False)
    except LookervaultError as exc:
        raise click.ClickException(str(exc)) from exc


def _describe(choice: SourceChoice) -> str:
    if choice.same_instance_assumed:
        return ("source instance: not named, so the destination may be the backup's own instance: an id there is "
                "written to only once it is shown to be the backup's own object (--source-instance NAME when the "
                "backup came from another instance)")
    return f"source instance: {choice.source!r} ({choice.origin}); ids are mapped, never assumed equal"


def _lacking_models(backup_path: str, keys: Sequence[tuple[ContentType, str]]) -> dict[str, int]:
    """The preflight: LookML models the selection needs that Looker lacks, with how many items need each (reads only)."""
    with BackupResource(path=backup_path).open() as reader, LookerResource().connect() as client:
        return lacking_models(client, reader, keys)


def _ids_lacking(reader: BackupReader, types: Sequence[ContentType], ids: Sequence[str]) -> str:
    """What is wrong with `--ids` naming items the backup does not hold; "" when it holds them all.

    An id counts when any of the selected types (or, without `--types`, any
    type) has it; the other filters may still leave it out.
    """
    among = list(types) or list(ContentType)
    lacking = [i for i in dict.fromkeys(ids) if not any(reader.has(ct, i) for ct in among)]
    if not lacking:
        return ""
    if types:
        what = " or ".join(ct.label for ct in types)
        return f"--ids: not in the backup: {', '.join(f'{what} {i}' for i in lacking)}; nothing was restored"
    return f"--ids: no item of any type in the backup has id {', '.join(lacking)}; nothing was restored"


def _titled(reader: BackupReader, rows: Sequence[BackupRow], patterns: Sequence[str]) -> tuple[list[BackupRow], str]:
    """The rows whose title matches a pattern, and what is wrong with a pattern that matches none ("" if none is)."""
    titles = Titles(reader)
    unmatched = [p for p in dict.fromkeys(patterns) if not matching_titles(titles, rows, [p])]
    if unmatched:
        return [], (f"--titles: no item's title matches {', '.join(repr(p) for p in unmatched)}; "
                    "nothing was restored")
    return matching_titles(titles, rows, patterns), ""


def restore_submitted(
    url: str, backup_path: str, *, types: Sequence[ContentType], ids: Sequence[str], titles: Sequence[str],
    folders: Sequence[str], owners: Sequence[int], updated_from: datetime | None, updated_to: datetime | None,
    options: RunOptions, as_json: bool,
) -> int:
    """`restore --submit`: the runs `restore_backup` would execute, launched on a deployment; the exit code.

    Nothing of this host's Dagster instance, id map or Looker credentials is
    used: the deployment's runs log in and record everything (submit.py).
    """
    deployment = connect(url)
    started = datetime.now()
    try:
        with BackupReader(backup_path) as reader:
            rows = reader.select(
                types=list(types) or None, ids=list(ids) or None, folder_ids=list(folders) or None,
                owner_ids=list(owners) or None, updated_from=updated_from, updated_to=updated_to,
            )
            bad_ids = _ids_lacking(reader, types, ids)
            if titles and not bad_ids:
                rows, bad_ids = _titled(reader, rows, titles)
            unrestorable = unrestorable_rows(reader)
            fingerprint = reader.fingerprint
    except LookervaultError as exc:
        raise click.ClickException(str(exc)) from exc
    if bad_ids:
        raise click.ClickException(bad_ids)
    by_type: dict[ContentType, list[str]] = {}
    for row in rows:
        if row.id != "unknown":
            by_type.setdefault(row.content_type, []).append(row.id)
    added = {ct: deployment.register(ct, keys) for ct, keys in by_type.items()}
    if not as_json:
        click.echo(f"deployment: {deployment.url} (code location {deployment.location!r}); registered there now: "
                   f"{', '.join(f'{len(k)} {ct.plural}' for ct, k in added.items() if k) or 'none'}")
    summaries = restore_in_order(deployment, by_type, options, on_type_done=None if as_json else _print_run)
    _print_summaries(summaries, as_json, (datetime.now() - started).total_seconds(),
                     dry_run=options.restore.dry_run)
    other = deployment.fingerprints - {fingerprint}
    if other:
        click.echo(f"Error: the deployment's runs read another backup (fingerprint {', '.join(sorted(other))}) "
                   f"than {backup_path} ({fingerprint}): point its LOOKERVAULT_BACKUP at the same file", err=True)
    return 1 if any(s.failed for s in summaries) or unrestorable or other else 0


def restore_backup(
    backup_path: str,
    *,
    types: Sequence[ContentType] = (),
    ids: Sequence[str] = (),
    titles: Sequence[str] = (),
    folders: Sequence[str] = (),
    owners: Sequence[int] = (),
    updated_from: datetime | None = None,
    updated_to: datetime | None = None,
    dry_run: bool = False,
    skip_modified: bool = False,
    exact_access: bool = False,
    workers: int | None = None,
    max_workers: int | None = None,
    max_runtime: int | None = None,
    source_instance: str | None = None,
    with_dependencies: bool = False,
    as_json: bool = False,
    verbose: bool = False,
) -> int:
    """Sync partitions, restore the selection type by type in dependency order; the exit code."""
    os.environ["LOOKERVAULT_BACKUP"] = str(Path(backup_path).resolve())
    inst = instance()
    started = datetime.now()
    try:
        with BackupReader(backup_path) as reader:
            report = sync_partitions(inst, reader)
            rows = reader.select(
                types=list(types) or None, ids=list(ids) or None, folder_ids=list(folders) or None,
                owner_ids=list(owners) or None, updated_from=updated_from, updated_to=updated_to,
            )
            bad_ids = _ids_lacking(reader, types, ids)
            if titles:
                rows, bad_titles = _titled(reader, rows, titles)
                bad_ids = bad_ids or bad_titles
    except LookervaultError as exc:
        raise click.ClickException(str(exc)) from exc
    if bad_ids:
        raise click.ClickException(bad_ids)
    _looker_answers()
    choice = source_choice(backup_path, source_instance)
    if not as_json:
        click.echo(f"backup: {report.describe()}")
        click.echo(_describe(choice))
    by_type: dict[ContentType, list[str]] = {}
    for row in rows:
        if row.id != "unknown":
            by_type.setdefault(row.content_type, []).append(row.id)
    if with_dependencies:
        try:
            needed = _dependencies(backup_path, [(ct, i) for ct, ids in by_type.items() for i in ids],
                                   source_instance)
        except LookervaultError as exc:
            raise click.ClickException(str(exc)) from exc
        if not as_json:
            click.echo(f"with dependencies Looker lacks: {', '.join(f'{ct.label} {i}' for ct, i in needed) or 'none'}")
        for ct, item_id in needed:
            by_type.setdefault(ct, []).append(item_id)
    lacking: dict[str, int] | None = None
    if dry_run:
        # Before any run: content restored before its LookML is deployed is the commonest failure.
        try:
            lacking = _lacking_models(backup_path, [(ct, i) for ct, ids in by_type.items() for i in ids])
        except LookervaultError as exc:
            raise click.ClickException(str(exc)) from exc
        if not as_json:
            listed = ", ".join(f"{name} ({n} item{'s' if n != 1 else ''})" for name, n in lacking.items())
            click.echo(f"LookML models Looker lacks (deploy their projects first): {listed or 'none'}")
    options = RunOptions(
        restore=RestoreConfig(dry_run=dry_run, skip_modified=skip_modified, exact_access=exact_access,
                              workers=workers, max_workers=max_workers),
        source_instance=source_instance, max_runtime=max_runtime, verbose=verbose)
    with progress.watching(ProgressLine(sys.stderr)):
        summaries = restore_in_order(inst, by_type, options, on_type_done=None if as_json else _print_run)
    _print_summaries(summaries, as_json, (datetime.now() - started).total_seconds(), lacking, dry_run=dry_run)
    return 1 if any(s.failed for s in summaries) or report.unrestorable else 0


@main.group()
def partitions() -> None:
    """Partition keys (content ids) of the Dagster instance."""


@partitions.command("sync")
@click.option("--backup", "backup_path", required=True, type=click.Path(exists=True, dir_okay=False))
def partitions_sync(backup_path: str) -> None:
    """Register the backup's ids as partitions, as the sensor does (for installs without the daemon)."""
    try:
        with BackupReader(backup_path) as reader:
            report = sync_partitions(instance(), reader)
    except LookervaultError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(report.describe())


@partitions.command("prune")
@click.option("--backup", "backup_path", required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--dry-run", is_flag=True, help="list the stale keys; delete nothing")
@click.option("--json", "as_json", is_flag=True, help="print JSON")
def partitions_prune(backup_path: str, dry_run: bool, as_json: bool) -> None:
    """Delete registered keys the backup no longer holds (restores skip them as stale until then)."""
    try:
        with BackupReader(backup_path) as reader:
            gone = (stale_keys if dry_run else prune_partitions)(instance(), reader)
    except LookervaultError as exc:
        raise click.ClickException(str(exc)) from exc
    if as_json:
        click.echo(json.dumps({ct.plural: keys for ct, keys in gone.items()}, indent=2))
        return
    verb = "stale (not deleted, --dry-run)" if dry_run else "deleted"
    for ct, keys in gone.items():
        click.echo(f"{ct.plural}: {len(keys)} {verb}: {', '.join(keys[:20])}{' ...' if len(keys) > 20 else ''}")
    if not gone:
        click.echo("no stale keys: every registered key is in the backup")


@main.command("dead-letters")
@click.option("--types", multiple=True, help="content types (comma separated); default all")
@click.option("--json", "as_json", is_flag=True, help="print JSON")
def dead_letters_cmd(types: Sequence[str], as_json: bool) -> None:
    """List failed partitions with the latest error of each."""
    print_dead_letters(_types(types), as_json=as_json)


def print_dead_letters(types: Sequence[ContentType] = (), *, as_json: bool = False) -> int:
    """Print the dead letters of `types` (all when empty); how many there are."""
    letters = dead_letters(instance(), list(types) or None)
    if as_json:
        click.echo(json.dumps([d.as_dict() for d in letters], indent=2))
        return len(letters)
    if not letters:
        click.echo("no failed items")
    for d in letters:
        click.echo(d.line())
    return len(letters)


@main.command("retry-failed")
@click.option("--backup", "backup_path", required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--types", multiple=True, help="content types (comma separated); default all")
@click.option("--source-instance", help="as for `restore`; default: the name kept for this backup")
@click.option("--json", "as_json", is_flag=True, help="print the summary as JSON")
@click.option("--verbose", is_flag=True, help="also print Dagster's log of each run on stderr")
def retry_failed(backup_path: str, types: Sequence[str], source_instance: str | None, as_json: bool,
                 verbose: bool) -> None:
    """Restore every FAILED partition again, one run per type, in dependency order."""
    sys.exit(retry_failed_items(backup_path, _types(types), source_instance, as_json=as_json, verbose=verbose))


def retry_failed_items(backup_path: str, types: Sequence[ContentType] = (), source_instance: str | None = None,
                       *, as_json: bool = False, verbose: bool = False) -> int:
    """`retry-failed`: restore the dead letters of `types` (all when empty) again; the exit code."""
    os.environ["LOOKERVAULT_BACKUP"] = str(Path(backup_path).resolve())
    inst = instance()
    started = datetime.now()
    _looker_answers()
    choice = source_choice(backup_path, source_instance)
    if not as_json:
        click.echo(_describe(choice))
    wanted = list(types) or TYPE_ORDER
    keys = {ct: failed_keys(inst, ct) for ct in TYPE_ORDER if ct in wanted}

    def one_run(at: Target, ct: ContentType, failed: Sequence[str], opts: RunOptions) -> list[RunSummary]:
        return [run_selected_keys(at, ct, failed, opts, {"lookervault/retry": "failed"})]

    with progress.watching(ProgressLine(sys.stderr)):
        summaries = restore_in_order(inst, keys, RunOptions(source_instance=source_instance, verbose=verbose),
                                     one_run, on_type_done=None if as_json else _print_run)
    _print_summaries(summaries, as_json, (datetime.now() - started).total_seconds())
    return 1 if any(s.failed for s in summaries) else 0


def _rules(_ctx: click.Context, param: click.Parameter, values: Sequence[str]) -> list[FaultRule]:
    """`--fault` / `--latency` rules of the fake Looker, parsed as its own command line parses them."""
    from lookervault_core.testing.fake_looker import faults  # noqa: PLC0415 - the demo alone needs the fake

    parse = faults.parse_latency_rule if param.name == "latency_rules" else faults.parse_fault_rule
    try:
        return [parse(v) for v in values]
    except ValueError as exc:
        raise click.BadParameter(str(exc), param=param) from exc


@main.command()
@click.option("--keep-running", is_flag=True, help="leave the fake Looker serving afterwards (Ctrl-C stops)")
@click.option("--port", type=click.IntRange(0, 65535), default=0, help="the fake Looker's port (default: any free)")
@click.option("--with-failures", is_flag=True, help="make Looker fail every dashboard create during the first "
              "restore, show the dead letters, then re-execute what failed")
@click.option("--fault", "fault_rules", multiple=True, callback=_rules,
              metavar="'METHOD PATH STATUS [xN]'", help="a fault of the fake Looker during the first restore, "
              "e.g. 'GET /api/4.0/looks/2 500 x5' (429, 5xx or drop; N calls, once without xN); repeatable")
@click.option("--latency", "latency_rules", multiple=True, callback=_rules,
              metavar="'METHOD PATH DELAY [xN]'", help="a delay of the fake Looker during the first restore, "
              "e.g. 'GET /api/4.0/dashboards/* 2s'; repeatable")
def demo(keep_running: bool, port: int, with_failures: bool, fault_rules: Sequence[FaultRule],
         latency_rules: Sequence[FaultRule]) -> None:
    """Restore the bundled sample backup into a local fake Looker and print the summary."""
    from .demo import WITH_FAILURES, run_demo  # noqa: PLC0415 - the demo alone needs the fake server

    faults = [*fault_rules, *([WITH_FAILURES] if with_failures else []), *latency_rules]
    sys.exit(run_demo(keep_running=keep_running, port=port, faults=faults))


main.add_command(snapshot_command)


if __name__ == "__main__":
    main()
